/**
 * What `ferry local`'s data path must show, with real sockets end to end: a client, the
 * embedded NLB's data plane, the nodes' `ferry agent`s and the example Deployment's pods,
 * against the embedded Kubernetes and AWS that ferry reconciles. userspace.test.ts runs it
 * without root (userspace agents on loopback addresses, in this process); kernel.test.ts
 * runs it as root with each node a network namespace and an nftables agent process.
 *
 * One cluster per file: three nodes in three zones, the Deployment's two pods on node-0 and
 * node-1 (node-2 runs none). Each test makes its own Service, hence its own NLB, and puts
 * back what it changes on the nodes.
 */
import { AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import type { HealthEvent } from '@ferry/emulators';
import { startLoopbackAgent } from '../../src/agent/userspace/loopback';
import { LocalCluster } from '../../src/local/cluster';
import type { Fabric } from '../../src/local/fabric';
import type { TargetHealthRow } from '../../src/local/health';
import { LoopbackFabric } from '../../src/local/loopback';
import { kernelSkipReason, NamespaceFabric } from '../../src/local/namespaces';
import type { Reply } from '../../src/local/traffic';

export type FabricKind = 'loopback' | 'namespaces';

/** 20× faster NLB timers: a 10 s health check interval takes 0.5 s, its 6 s timeout 0.3 s. */
const TIME_SCALE = 0.05;
const INTERVAL_S = 10;
const TIMEOUT_S = 6;
const UNHEALTHY_THRESHOLD = 2;
const HEALTH_WAIT_MS = 15_000;
const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

export function describeLocal(kind: FabricKind): void {
  const reason = kind === 'namespaces' ? kernelSkipReason() : undefined;
  // Without root the namespace run is skipped, and says why in its title; CI runs it as root.
  const maybe = reason ? describe.skip : describe;
  maybe(`ferry local, ${kind === 'loopback' ? 'userspace agents on loopback (no root)' : 'nftables agents in network namespaces'}${reason ? ` (skipped: ${reason})` : ''}`, () => {
    jest.setTimeout(60_000);
    let c: LocalCluster;
    /** The address the tests' client sends from: one no node or pod uses. */
    let client: string;

    beforeAll(async () => {
      const fabric: Fabric = kind === 'loopback' ? await LoopbackFabric.create(startLoopbackAgent) : await NamespaceFabric.create();
      c = await LocalCluster.start({ cluster: `local-${kind}`, fabric, timeScale: TIME_SCALE });
      client = kind === 'loopback' ? '127.0.0.23' : fabric.clientAddress;
    }, 120_000);
    afterAll(async () => {
      await c?.close();
    }, 60_000);

    /** A LoadBalancer Service selecting the example pods (HTTP 80/TCP, echo 7/UDP), reconciled; resolves to its NLB's DNS name. */
    async function loadBalancer(name: string, annotations: Record<string, string> = {}, spec: Partial<NonNullable<V1Service['spec']>> = {}): Promise<string> {
      await c.createService({
        metadata: { name, annotations: { 'ferry.io/scheme': 'internet-facing', ...annotations } },
        spec: {
          type: 'LoadBalancer',
          selector: { app: 'ferry-example' },
          ports: [
            { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
            { name: 'echo', port: 7, targetPort: 'echo', protocol: 'UDP' },
          ],
          ...spec,
        },
      });
      const report = await c.reconcile(name);
      expect(report.outcome).toBe('ensured');
      return c.hostname(name);
    }

    const healthyNodes = (rows: TargetHealthRow[]) => new Set(rows.filter((r) => r.state === 'healthy').map((r) => r.node));
    const allHealthy = (rows: TargetHealthRow[]) => rows.length === 6 && rows.every((r) => r.state === 'healthy');

    /** Requests until `enough` says so or `tries` have been sent. */
    async function send(probe: () => Promise<Reply>, tries: number, enough: (replies: Reply[]) => boolean = () => false): Promise<Reply[]> {
      const replies: Reply[] = [];
      for (let i = 0; i < tries && !enough(replies); i++) replies.push(await probe());
      return replies;
    }
    const podNodes = (replies: Reply[]) => new Set(replies.map((r) => r.answer?.node ?? `failed: ${r.error}`));

    test('TCP and UDP go through the NLB to pods on two nodes; the pods see the node that forwarded (policy Cluster)', async () => {
      const dns = await loadBalancer('both');
      await c.waitForHealth(dns, allHealthy, HEALTH_WAIT_MS, 'every target to be healthy');
      const bothNodes = (replies: Reply[]) => podNodes(replies).size >= 2;
      const tcp = await send(() => c.traffic.http(dns, 80, '/', { from: client }), 40, bothNodes);
      const udp = await send(() => c.traffic.udp(dns, 7, 'ping', { from: client }), 40, bothNodes);
      for (const replies of [tcp, udp]) {
        expect(replies.every((r) => r.ok)).toBe(true);
        expect(podNodes(replies)).toEqual(new Set(['node-0', 'node-1']));
        for (const r of replies) {
          const saw = r.answer!.saw.replace(/:\d+$/, '');
          // Masqueraded: never the client. A loopback agent sends from the node's address; nftables from its interface towards the pod.
          expect(saw).not.toBe(client);
          if (kind === 'loopback') expect(saw).toBe(c.node(r.via!.node!).address);
        }
      }
    });

    test('a killed pod gets no new connection; its replacement takes them', async () => {
      const dns = await c.hostname('both');
      const victim = c.deployment.running().find((p) => p.node.name === 'node-0')!;
      const since = Date.now();
      const [replacement] = await c.deployment.kill(victim.name);
      await c.waitForAgents(since);
      const before = victim.runtime.visits.length;
      const replies = await send(() => c.traffic.http(dns, 80, '/', { from: client }), 40, (r) => r.some((x) => x.answer?.pod === replacement!.name));
      expect(replies.every((r) => r.ok)).toBe(true);
      expect(replies.map((r) => r.answer!.pod)).not.toContain(victim.name);
      expect(replies.map((r) => r.answer!.pod)).toContain(replacement!.name);
      expect(victim.runtime.visits.length).toBe(before);
    });

    test("a node's stopped agent: its targets turn unhealthy within the health check thresholds, and traffic leaves it", async () => {
      const dns = await loadBalancer('agent');
      await c.waitForHealth(dns, allHealthy, HEALTH_WAIT_MS, 'every target to be healthy');
      const node = c.node('node-2');
      const groups = new Set((await c.health(dns)).map((r) => r.targetGroupArn));
      const unhealthy: Array<{ at: number; event: HealthEvent }> = [];
      const onHealth = (event: HealthEvent) => {
        if (event.state === 'unhealthy' && groups.has(event.targetGroupArn) && c.nodeOf(event.target.id) === node.name) unhealthy.push({ at: Date.now(), event });
      };
      c.dataPlane.on('health', onHealth);
      try {
        const stoppedAt = Date.now();
        await node.stopAgent();
        const rows = await c.waitForHealth(dns, (r) => r.filter((x) => x.node === node.name).every((x) => x.state === 'unhealthy'), HEALTH_WAIT_MS, `${node.name} to be unhealthy`);
        // Refused checks fail at once: the threshold's failures take at most that many intervals, plus one check's timeout.
        const bound = (UNHEALTHY_THRESHOLD * INTERVAL_S + TIMEOUT_S) * TIME_SCALE * 1000;
        expect(unhealthy).toHaveLength(2);
        for (const { at, event } of unhealthy) {
          expect(event.previous).toBe('healthy');
          expect(at - stoppedAt).toBeLessThan(bound + 3000); // + slack for a busy machine
        }
        expect(rows.filter((r) => r.node === node.name).map((r) => r.reason)).toEqual(['Target.FailedHealthChecks', 'Target.FailedHealthChecks']);
        // DNS leaves the zone without a healthy target out; every request lands elsewhere.
        expect(c.traffic.addresses(dns)).not.toContain(c.dataPlane.nodes(dns).find((n) => n.availabilityZone === node.zone)!.address);
        const replies = await send(() => c.traffic.http(dns, 80, '/', { from: client }), 9);
        expect(replies.every((r) => r.ok && r.via?.node !== node.name)).toBe(true);
      } finally {
        c.dataPlane.off('health', onHealth);
        await node.startAgent();
      }
      await c.waitForHealth(dns, allHealthy, HEALTH_WAIT_MS, `${node.name} to be healthy again`);
    });

    test('externalTrafficPolicy Local: only nodes with a local pod are healthy, and the pod sees the client address', async () => {
      const dns = await loadBalancer('local', {}, { externalTrafficPolicy: 'Local' });
      const withPods = new Set(c.deployment.running().map((p) => p.node.name));
      expect(withPods).toEqual(new Set(['node-0', 'node-1']));
      // Waited for, not asserted at once: on a busy machine a check can time out (0.3 s here) before the 503 shows.
      const rows = await c.waitForHealth(
        dns,
        (r) => r.length === 6 && r.every((x) => (withPods.has(x.node!) ? x.state === 'healthy' : x.state === 'unhealthy' && x.reason === 'Target.ResponseCodeMismatch')),
        HEALTH_WAIT_MS,
        'node-2 alone to be unhealthy, answering 503',
      );
      expect(rows.filter((r) => r.node === 'node-2').map((r) => r.description)).toEqual(['Health checks failed with these codes: [503]', 'Health checks failed with these codes: [503]']);
      const tcp = await send(() => c.traffic.http(dns, 80, '/', { from: client }), 6);
      const udp = await send(() => c.traffic.udp(dns, 7, 'ping', { from: client }), 6);
      for (const r of [...tcp, ...udp]) {
        expect(r.ok).toBe(true);
        expect(r.answer!.saw.replace(/:\d+$/, '')).toBe(client);
        // Local: the node the NLB chose answers from its own pod.
        expect(r.answer!.node).toBe(r.via!.node);
      }
    });

    test("a node security group without a rule for the NLB: the targets are unhealthy and nothing reaches a node, until the group admits the NLB's", async () => {
      const dns = await loadBalancer('closed', { 'ferry.io/manage-backend-security-group-rules': 'false' });
      const rows = await c.waitForHealth(dns, (r) => r.length === 6 && r.every((x) => x.state === 'unhealthy'), HEALTH_WAIT_MS, 'every target to time out');
      expect(new Set(rows.map((r) => r.reason))).toEqual(new Set(['Target.Timeout']));
      const visits = () => c.deployment.pods.reduce((n, p) => n + p.runtime.visits.length, 0);
      const before = visits();
      const reply = await c.traffic.http(dns, 80, '/', { from: client, timeoutMs: 1000 });
      expect(reply).toMatchObject({ ok: false, error: 'timeout', dropped: 'target-security-group' });
      expect(visits()).toBe(before);

      // Opening the nodes' group to the load balancer's group heals it, as on AWS.
      const lb = (await c.sandbox.aws.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.find((l) => l.DNSName === dns)!;
      await c.sandbox.aws.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: c.sandbox.seeded.nodeSecurityGroupId,
          IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: lb.SecurityGroups![0]! }] }],
        }),
      );
      await c.waitForHealth(dns, allHealthy, HEALTH_WAIT_MS, 'every target to be healthy once admitted');
      expect(await c.traffic.http(dns, 80, '/', { from: client })).toMatchObject({ ok: true, status: 200 });
    });

    test('deregistration drains an open connection for the configured delay, then resets it', async () => {
      const delaySeconds = 40; // 2 s at this time scale
      const dns = await loadBalancer('drain', {
        'ferry.io/deregistration-delay': String(delaySeconds),
        'ferry.io/target-group-attributes': 'deregistration_delay.connection_termination.enabled=true',
      });
      await c.waitForHealth(dns, allHealthy, HEALTH_WAIT_MS, 'every target to be healthy');
      const connection = c.traffic.open(dns, 80, { from: client });
      try {
        const first = await connection.request('/');
        expect(first.ok).toBe(true);
        const node = first.via!.node!;
        const groups = new Set((await c.health(dns)).map((r) => r.targetGroupArn));
        // When the data plane starts the drain: the delay runs from there.
        let deregisteredAt = 0;
        const onHealth = (e: HealthEvent) => {
          if (e.state === 'draining' && groups.has(e.targetGroupArn) && c.nodeOf(e.target.id) === node) deregisteredAt ||= Date.now();
        };
        c.dataPlane.on('health', onHealth);
        await c.patchNode(node, { metadata: { labels: { [EXCLUDE]: 'true' } } });
        const report = await c.reconcile('drain');
        c.dataPlane.off('health', onHealth);
        expect(report.actions.map((a) => a.op)).toContain('DeregisterTargets');
        expect(deregisteredAt).toBeGreaterThan(0);
        const rows = await c.health(dns);
        expect(rows.filter((r) => r.node === node && r.listener === 'TCP:80').map((r) => r.state)).toEqual(['draining']);
        // The open connection still reaches its pod while the target drains; new ones go elsewhere.
        expect(await connection.request('/')).toMatchObject({ ok: true, status: 200 });
        const fresh = await send(() => c.traffic.http(dns, 80, '/', { from: client }), 6);
        expect(fresh.every((r) => r.ok && r.via!.node !== node)).toBe(true);
        const closed = await connection.closed;
        const lived = closed.at - deregisteredAt;
        const delayMs = delaySeconds * TIME_SCALE * 1000;
        expect(closed.error).toBe('ECONNRESET');
        // Timers never fire early (a millisecond of rounding aside); late, on a busy machine, by a bounded slack.
        expect(lived).toBeGreaterThanOrEqual(delayMs - 5);
        expect(lived).toBeLessThan(delayMs + 3000);
        const after = await c.health(dns);
        expect(after.filter((r) => r.node === node)).toEqual([]);
      } finally {
        connection.close();
        for (const n of c.nodes) await c.patchNode(n.name, { metadata: { labels: { [EXCLUDE]: null } } });
        await c.reconcile('drain');
      }
    });

    test('proxy protocol v2: each connection and each datagram starts with the header of the client and the NLB node', async () => {
      // A TCP health check: the agents' /healthz is plain HTTP, and the NLB sends its health checks a LOCAL header too.
      const dns = await loadBalancer('proxied', { 'ferry.io/proxy-protocol': '*', 'ferry.io/healthcheck-protocol': 'TCP' });
      await c.waitForHealth(dns, allHealthy, HEALTH_WAIT_MS, 'every target to be healthy');
      for (const transport of ['tcp', 'udp'] as const) {
        const reply = transport === 'tcp' ? await c.traffic.http(dns, 80, '/', { from: client }) : await c.traffic.udp(dns, 7, 'ping', { from: client });
        expect(reply.ok).toBe(true);
        const [clientIp, clientPort] = reply.client.split(':');
        const expected = Buffer.alloc(28);
        Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(expected, 0);
        expected[12] = 0x21; // version 2, PROXY
        expected[13] = transport === 'tcp' ? 0x11 : 0x12; // AF_INET, STREAM or DGRAM
        expected.writeUInt16BE(12, 14);
        Buffer.from(clientIp!.split('.').map(Number)).copy(expected, 16);
        Buffer.from(reply.address.split('.').map(Number)).copy(expected, 20);
        expected.writeUInt16BE(Number(clientPort), 24);
        expected.writeUInt16BE(transport === 'tcp' ? 80 : 7, 26);
        expect(reply.answer!.proxy).toEqual({
          command: 'PROXY',
          family: transport === 'tcp' ? 'TCP4' : 'UDP4',
          source: reply.client,
          destination: `${reply.address}:${transport === 'tcp' ? 80 : 7}`,
          bytes: expected.toString('hex'),
        });
      }
    });

    test('with no healthy target the NLB fails open: a health check on a path the pods do not serve fails every target, and traffic still flows', async () => {
      const dns = await loadBalancer('open', { 'ferry.io/healthcheck-path': '/ready' });
      // On the traffic port: the pods answer 404 over TCP; nothing answers TCP on the UDP port's NodePort.
      const failed = (x: TargetHealthRow) => x.state === 'unhealthy' && x.reason === (x.listener === 'TCP:80' ? 'Target.ResponseCodeMismatch' : 'Target.FailedHealthChecks');
      const rows = await c.waitForHealth(dns, (r) => r.length === 6 && r.every(failed), HEALTH_WAIT_MS, 'every target to fail');
      expect(new Set(rows.filter((r) => r.listener === 'TCP:80').map((r) => r.description))).toEqual(new Set(['Health checks failed with these codes: [404]']));
      expect(healthyNodes(rows).size).toBe(0);
      expect(c.traffic.addresses(dns)).toHaveLength(3);
      const replies = await send(() => c.traffic.http(dns, 80, '/', { from: client }), 6);
      expect(replies.every((r) => r.ok && r.status === 200)).toBe(true);
      expect(new Set(replies.map((r) => r.via!.node)).size).toBeGreaterThan(1);
    });
  });
}
