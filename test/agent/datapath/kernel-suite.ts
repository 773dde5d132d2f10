/**
 * The datapath behaviour every kernel mode must show, with real packets through real
 * namespaces (see topology.ts). nftables.test.ts and iptables.test.ts run it; each file is
 * its own Jest worker and topology, so the two run in parallel safely.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { ProxyMode } from '../../../src/agent/types';
import { exec } from './support/netns';
import { datapathSkipReason, TCP_PORT, Topology, UDP_PORT, waitUntil, type Pod } from './topology';

const PORTS = [
  { name: 'tcp', port: 80, targetPort: TCP_PORT, protocol: 'TCP' },
  { name: 'udp', port: 53, targetPort: UDP_PORT, protocol: 'UDP' },
];

export interface KernelModeHooks {
  /** The ruleset text a deleted Service must vanish from, and what `--cleanup` must empty. */
  ruleset(t: Topology): Promise<string>;
  /** Whether the ruleset still holds anything of ferry's. */
  hasFerryRules(ruleset: string): boolean;
  /** Whether the ruleset sends traffic for this address anywhere (a ClusterIP). */
  mentionsAddress(ruleset: string, ip: string): boolean;
}

export function describeKernelDatapath(mode: ProxyMode, tools: string[], hooks: KernelModeHooks): void {
  const reason = datapathSkipReason(['ip', ...tools]);
  // Without root or `ip netns` the suite is skipped, and says why in its title.
  const maybe = reason ? describe.skip : describe;
  maybe(`${mode} datapath: real packets through namespaces${reason ? ` (skipped: ${reason})` : ''}`, () => {
    jest.setTimeout(60_000);
    let t: Topology;
    let a: Pod;
    let b: Pod;

    beforeAll(async () => {
      t = await Topology.create({ mode });
      [a, b] = await Promise.all([t.addPod('a', 'node1'), t.addPod('b', 'node2')]);
      await t.startAgent();
    });
    afterAll(async () => {
      await t?.destroy();
    });

    /** A Service without a selector, fed by the test's hand-made EndpointSlice. */
    async function service(name: string, spec: Partial<NonNullable<V1Service['spec']>>, pods: Parameters<Topology['setEndpoints']>[1]) {
      const svc = await t.createService(name, { type: 'NodePort', ports: PORTS, ...spec });
      await t.setEndpoints(name, pods);
      return { ip: svc.spec!.clusterIP!, tcpNodePort: svc.spec!.ports![0]!.nodePort!, udpNodePort: svc.spec!.ports![1]!.nodePort!, spec: svc.spec! };
    }

    /** Who answered (`name client-address`), probing until `done` says enough or 40 tries. */
    async function answers(probe: () => Promise<{ ok: boolean; text?: string; error?: string }>, done: (seen: Set<string>) => boolean = () => false, tries = 40) {
      const seen = new Set<string>();
      for (let i = 0; i < tries && !done(seen); i++) {
        const reply = await probe();
        seen.add(reply.ok ? reply.text!.split(' ').slice(0, 2).join(' ') : `error:${reply.error}`);
      }
      return seen;
    }
    const failure = (reply: { ok: boolean; error?: string }) => (reply.ok ? undefined : reply.error);
    const names = (seen: Set<string>) => new Set([...seen].map((s) => s.split(' ')[0]));
    const both = (seen: Set<string>) => names(seen).has('a') && names(seen).has('b');

    test('ClusterIP and NodePort reach every endpoint, TCP and UDP (selectorless Service, hand-made slice)', async () => {
      const s = await service('web', {}, [{ pod: a }, { pod: b }]);
      await waitUntil('web to answer', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 400)).ok);
      expect(names(await answers(() => t.tcp(s.ip, 80), both))).toEqual(new Set(['a', 'b']));
      expect(names(await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), both))).toEqual(new Set(['a', 'b']));
      expect(names(await answers(() => t.udp(s.ip, 53), both))).toEqual(new Set(['a', 'b']));
      expect(names(await answers(() => t.udp(t.node1.ip, s.udpNodePort), both))).toEqual(new Set(['a', 'b']));
    });

    test('ClusterIP traffic keeps the client address; NodePort traffic (policy Cluster) is masqueraded', async () => {
      const s = await service('addr', {}, [{ pod: b }]);
      await waitUntil('addr to answer', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 400)).ok);
      expect(await answers(() => t.tcp(s.ip, 80), undefined, 3)).toEqual(new Set([`b ${t.client.ip}`]));
      expect(await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), undefined, 3)).toEqual(new Set([`b ${t.node1.ip}`]));
    });

    test('ClientIP affinity pins a client to one endpoint', async () => {
      const s = await service('sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, [{ pod: a }, { pod: b }]);
      await waitUntil('sticky to answer', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 400)).ok);
      expect((await answers(() => t.tcp(s.ip, 80), undefined, 15)).size).toBe(1);
      expect((await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), undefined, 15)).size).toBe(1);
    });

    test('externalTrafficPolicy Local keeps the client address, uses only local endpoints, drops without one', async () => {
      const s = await service('local', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }, [{ pod: a }, { pod: b }]);
      await waitUntil('local to answer', 10_000, async () => (await t.tcp(t.node1.ip, s.tcpNodePort, undefined, 400)).ok);
      expect(await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), undefined, 15)).toEqual(new Set([`a ${t.client.ip}`]));
      expect(await answers(() => t.udp(t.node1.ip, s.udpNodePort), undefined, 8)).toEqual(new Set([`a ${t.client.ip}`]));
      const healthUrl = `http://${t.agentAddress}:${s.spec.healthCheckNodePort}/`;
      // The healthCheckNodePort server learns the count just after the rules are applied.
      await waitUntil('the health check to pass', 5000, async () => (await fetch(healthUrl).catch(() => undefined))?.status === 200);
      const health = await fetch(healthUrl);
      expect(await health.json()).toEqual({ service: { namespace: 'default', name: 'local' }, localEndpoints: 2, serviceProxyHealthy: true });

      await t.setEndpoints('local', [{ pod: b }]);
      await waitUntil('the Local NodePort to stop answering', 10_000, async () => !(await t.tcp(t.node1.ip, s.tcpNodePort, undefined, 500)).ok);
      // Dropped, not rejected: the load balancer's health check is what moves traffic away.
      expect(await t.tcp(t.node1.ip, s.tcpNodePort, undefined, 500)).toMatchObject({ ok: false, error: 'timeout' });
      await waitUntil('the health check to fail', 5000, async () => (await fetch(healthUrl)).status === 503);
      // ClusterIP traffic still goes anywhere (internalTrafficPolicy Cluster).
      expect(await answers(() => t.tcp(s.ip, 80), undefined, 3)).toEqual(new Set([`b ${t.client.ip}`]));
    });

    test('internalTrafficPolicy Local sends ClusterIP traffic to local endpoints only', async () => {
      const s = await service('internal', { internalTrafficPolicy: 'Local' }, [{ pod: a }, { pod: b }]);
      await waitUntil('internal to answer', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 400)).ok);
      expect(names(await answers(() => t.tcp(s.ip, 80), undefined, 15))).toEqual(new Set(['a']));
    });

    test('a Service without endpoints rejects at once; serving-terminating endpoints are used when nothing is ready', async () => {
      const empty = await service('empty', {}, []);
      await waitUntil('empty to reject', 10_000, async () => failure(await t.tcp(empty.ip, 80)) === 'ECONNREFUSED');
      expect(await t.tcp(t.node1.ip, empty.tcpNodePort)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      const leaving = await service('leaving', {}, [{ pod: a, ready: false, serving: true, terminating: true }, { pod: b, ready: false, serving: false, terminating: true }]);
      await waitUntil('leaving to answer', 10_000, async () => (await t.tcp(leaving.ip, 80, undefined, 400)).ok);
      expect(names(await answers(() => t.tcp(leaving.ip, 80), undefined, 10))).toEqual(new Set(['a']));
    });

    test('a pod reaching itself through its Service works (hairpin masquerade)', async () => {
      const s = await service('hairpin', {}, [{ pod: a }]);
      await waitUntil('hairpin to answer', 10_000, async () => (await t.tcp(s.ip, 80, a.namespace, 400)).ok);
      const reply = await t.tcp(s.ip, 80, a.namespace);
      expect(reply).toMatchObject({ ok: true });
      expect(reply.ok && reply.text).not.toBe(`a ${a.ip}`);
    });

    test('a removed endpoint gets no new traffic, UDP included (stale conntrack entries are cleared)', async () => {
      const s = await service('shrink', {}, [{ pod: a }, { pod: b }]);
      await waitUntil('shrink to answer', 10_000, async () => (await t.udp(s.ip, 53, { session: 'shrink' })).ok);
      // One UDP "connection" (same source port): conntrack pins it to whoever answered first.
      const first = await t.udp(s.ip, 53, { session: 'shrink' });
      const pinned = first.ok ? first.text.split(' ')[0] : '';
      const [gone, kept] = pinned === 'a' ? [a, b] : [b, a];
      await t.setEndpoints('shrink', [{ pod: kept }]);
      await waitUntil(`the session to move off ${gone.name}`, 10_000, async () => {
        const reply = await t.udp(s.ip, 53, { session: 'shrink', timeoutMs: 500 });
        return reply.ok && reply.text.startsWith(`${kept.name} `);
      });
      expect(names(await answers(() => t.udp(s.ip, 53, { session: 'shrink' }), undefined, 5))).toEqual(new Set([kept.name]));
      expect(names(await answers(() => t.tcp(s.ip, 80), undefined, 15))).toEqual(new Set([kept.name]));
    });

    test("a deleted Service's rules are gone", async () => {
      // With ClientIP affinity, so that nftables gives it chains of its own (named after it) too.
      const s = await service('doomed', { sessionAffinity: 'ClientIP' }, [{ pod: a }]);
      await waitUntil('doomed to answer', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 400)).ok);
      const mentions = (ruleset: string) => ruleset.includes('default/doomed') || hooks.mentionsAddress(ruleset, s.ip);
      expect(mentions(await hooks.ruleset(t))).toBe(true);
      await t.core.deleteNamespacedService({ namespace: 'default', name: 'doomed' });
      await t.discovery.deleteNamespacedEndpointSlice({ namespace: 'default', name: 'doomed-ferry' });
      await waitUntil('doomed to stop answering', 10_000, async () => !(await t.tcp(s.ip, 80, undefined, 500)).ok);
      // Its elements go at once; nftables deletes its emptied chains at a full sync a second later (≤ 3 s here).
      await waitUntil(`no rule of doomed left\n${await hooks.ruleset(t)}`, 15_000, async () => !mentions(await hooks.ruleset(t)));
    });

    test('restarting the agent keeps established connections and the rules', async () => {
      const s = await service('steady', {}, [{ pod: a }, { pod: b }]);
      await waitUntil('steady to answer', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 400)).ok);
      const client = t.clientIn();
      const opened = await client.send({ op: 'open', conn: 'steady', host: s.ip, port: 80, timeoutMs: 1500 });
      expect(opened).toMatchObject({ ok: true });
      const server = opened.ok ? opened.text.split(' ')[0] : '';
      await t.stopAgent();
      expect(await client.send({ op: 'send', conn: 'steady', data: 'while-stopped', timeoutMs: 1500 })).toEqual(expect.objectContaining({ ok: true, text: `${server} while-stopped` }));
      expect((await t.tcp(s.ip, 80)).ok).toBe(true);
      await t.startAgent();
      expect(await client.send({ op: 'send', conn: 'steady', data: 'after-restart', timeoutMs: 1500 })).toEqual(expect.objectContaining({ ok: true, text: `${server} after-restart` }));
      expect(names(await answers(() => t.tcp(s.ip, 80), both))).toEqual(new Set(['a', 'b']));
      await client.send({ op: 'close', conn: 'steady' });
    });

    test('--cleanup removes everything ferry added', async () => {
      await t.stopAgent();
      expect(hooks.hasFerryRules(await hooks.ruleset(t))).toBe(true);
      // Starting the CLI through npx and tsx takes seconds on a loaded 2-core machine.
      const cleanup = await exec('ip', ['netns', 'exec', t.node1.namespace, 'npx', 'tsx', 'src/agent/cli.ts', '--cleanup'], 60_000);
      expect([cleanup.code, cleanup.stderr]).toEqual([0, '']);
      expect(hooks.hasFerryRules(await hooks.ruleset(t))).toBe(false);
    });
  });
}
