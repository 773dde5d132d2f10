/**
 * What `ferry local` shows once the load balancer exists: real requests through it, then
 * three things users do on AWS and what each does to target health and traffic: a pod
 * deleted, the Service switched to `externalTrafficPolicy: Local`, a node drained and
 * deleted. Target health is read with DescribeTargetHealth as a user would; the data
 * plane's `health` and `drop` events are printed as they happen, with the time since the
 * step began as AWS would take it (the emulated NLB's timers run scaled).
 */
import type { DropEvent, HealthEvent } from '@ferry/emulators';
import type { CallCounter } from '../aws/clients';
import { formatReport } from '../report/format';
import { EXAMPLE_NAMESPACE, type LocalCluster } from './cluster';
import { formatHealth, type TargetHealthRow } from './health';
import type { Reply } from './traffic';

export const EXAMPLE_HTTP_PORT = 80;
export const EXAMPLE_UDP_PORT = 7;
/** The Deployment's pods are on node-0 and node-1; node-2 runs none until node-1 is drained. */
const DRAINED = 'node-1';
const TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';
/** How long any one wait of the story may take before it says what it saw and gives up. */
const STEP_TIMEOUT_MS = 20_000;

export interface StoryResult {
  replies: Reply[];
}

export class Story {
  private readonly replies: Reply[] = [];
  private stepStart = Date.now();
  private labels = new Map<string, string>();
  private readonly onHealth = (e: HealthEvent) =>
    this.event(`${this.label(e.targetGroupArn)} ${this.cluster.nodeOf(e.target.id) ?? e.target.id}: ${e.previous} → ${e.state}${e.reason ? ` (${e.reason})` : ''}`);
  private readonly onDrop = (e: DropEvent) => this.event(`dropped ${e.transport.toUpperCase()} from ${e.client.address}:${e.client.port} at ${e.node.address} (${e.node.availabilityZone}): ${e.reason}`);
  private readonly onProblem = (message: string) => this.event(`the data plane: ${message}`);

  constructor(
    private readonly cluster: LocalCluster,
    private readonly service: string,
    private readonly calls: CallCounter,
    private readonly out: (line: string) => void,
  ) {}

  async tell(): Promise<StoryResult> {
    const c = this.cluster;
    c.dataPlane.on('health', this.onHealth);
    c.dataPlane.on('drop', this.onDrop);
    c.dataPlane.on('problem', this.onProblem);
    try {
      const dns = await c.hostname(this.service);
      this.introduce(dns);
      for (const row of await c.health(dns)) this.labels.set(row.targetGroupArn, row.listener);
      await this.step('the NLB checks the nodes', async () => {
        await this.settle(dns, (rows) => rows.every((r) => r.state === 'healthy'), 'every target to turn healthy');
      });
      await this.requests(dns, 'requests through the NLB: each DNS answer in turn', 6);

      const victim = c.deployment.running().find((p) => p.node.name === 'node-0') ?? c.deployment.running()[0]!;
      await this.step(`kubectl delete pod ${victim.name} (on ${victim.node.name})`, async () => {
        const before = victim.runtime.visits.length;
        const since = Date.now();
        const replacements = await c.deployment.kill(victim.name);
        await c.waitForAgents(since);
        for (const p of replacements) this.out(`  the ReplicaSet started ${p.name} on ${p.node.name} (${p.ip}); ${victim.name} finished its grace period and left the EndpointSlice`);
        this.out('  target health does not change: with externalTrafficPolicy Cluster the NLB checks the agents (:10256/healthz), not the pods');
        this.showHealth(await c.health(dns));
        await this.requests(dns, 'requests', 6);
        const after = victim.runtime.visits.length;
        this.out(`  ${victim.name} got ${after - before === 0 ? 'no new connection' : `${after - before} new connections (unexpected)`}`);
      });

      await this.step('kubectl patch service: externalTrafficPolicy Local', async () => {
        const patched = await c.patchService(this.service, { spec: { externalTrafficPolicy: 'Local' } });
        this.out(`  the API server gave the Service healthCheckNodePort ${patched.spec?.healthCheckNodePort}; each agent answers it with its local endpoint count`);
        await this.reconcile();
        const withPods = new Set(c.deployment.running().map((p) => p.node.name));
        await this.settle(dns, (rows) => rows.every((r) => (withPods.has(r.node ?? '') ? r.state === 'healthy' : r.state === 'unhealthy')), 'nodes without a local pod to turn unhealthy');
        this.out(`  only nodes with a local pod stay healthy; DNS now answers ${c.traffic.addresses(dns).join(', ')} (zones without a healthy target are left out)`);
        await this.requests(dns, 'the pods now see the client address itself, not a node', 4);
      });

      await this.step(`kubectl drain ${DRAINED}, then kubectl delete node ${DRAINED} (as the cluster autoscaler removes a node)`, async () => {
        await c.patchNode(DRAINED, { spec: { unschedulable: true, taints: [{ key: TO_BE_DELETED, value: String(Math.floor(Date.now() / 1000)), effect: 'NoSchedule' }] } });
        this.out(`  ${DRAINED} is cordoned and tainted ${TO_BE_DELETED}: ferry leaves such nodes out, so the next reconcile deregisters them`);
        await this.reconcile();
        await this.settle(dns, (rows) => rows.some((r) => r.node === DRAINED && r.state === 'draining'), `${DRAINED}'s targets to drain`);
        const moved = await c.deployment.evict(DRAINED);
        for (const p of moved) this.out(`  evicted: its pod is replaced by ${p.name} on ${p.node.name}`);
        await c.core.deleteNode({ name: DRAINED });
        await c.node(DRAINED).stopAgent();
        this.out(`  Node ${DRAINED} deleted and its machine gone; ferry reconciles again`);
        await this.reconcile();
        const withPods = new Set(c.deployment.running().map((p) => p.node.name));
        await this.settle(
          dns,
          (rows) => !rows.some((r) => r.node === DRAINED) && rows.every((r) => (withPods.has(r.node ?? '') ? r.state === 'healthy' : r.state === 'unhealthy')),
          `the deregistration delay to end and ${[...withPods].join(', ')} to be healthy`,
        );
        await this.requests(dns, `DNS answers ${c.traffic.addresses(dns).join(', ')}`, 4);
      });
      return { replies: this.replies };
    } finally {
      c.dataPlane.off('health', this.onHealth);
      c.dataPlane.off('drop', this.onDrop);
      c.dataPlane.off('problem', this.onProblem);
    }
  }

  private introduce(dns: string): void {
    const c = this.cluster;
    const scale = c.timeScale;
    this.section(`the data plane: real traffic through the NLB (its clock runs ${Math.round(1 / scale)}× faster: a 10 s health check interval takes ${(10 * scale).toFixed(1)} s)`);
    this.out(`${c.fabric.description}:`);
    for (const n of c.nodes) this.out(`  ${n.name} ${n.instanceId} ${n.vpcIp} (${n.zone}): ferry agent --mode ${n.mode} on ${n.address}, /healthz on ${n.address}:10256`);
    this.out(`Deployment ${EXAMPLE_NAMESPACE}/${c.deployment.spec.name}, ${c.deployment.spec.replicas} pods answering "<pod> on <node> saw <client address>" (HTTP on TCP 8080, echo on UDP 8080):`);
    for (const p of c.deployment.running()) this.out(`  ${p.name} on ${p.node.name} at ${p.ip}`);
    const listeners = c.dataPlane.listenerPorts(dns).map((l) => `${l.protocol}:${l.port} on local port ${l.localPort}`);
    const nodes = c.dataPlane.nodes(dns).map((n) => `${n.address} (${n.availabilityZone})`);
    this.out(`NLB ${dns}:`);
    this.out(`  DNS answers ${nodes.join(', ')}; listeners ${listeners.join(', ')}`);
  }

  private async step(title: string, body: () => Promise<void>): Promise<void> {
    this.section(title);
    this.stepStart = Date.now();
    await body();
  }

  private async reconcile(): Promise<void> {
    this.calls.reset();
    const report = await this.cluster.reconcile(this.service);
    this.out(formatReport(report, this.calls).replace(/^/gm, '  '));
  }

  /** Waits for target health to reach a state (the events print meanwhile), then shows it. */
  private async settle(dns: string, done: (rows: TargetHealthRow[]) => boolean, what: string): Promise<void> {
    const rows = await this.cluster.waitForHealth(dns, (r) => r.length > 0 && done(r), STEP_TIMEOUT_MS, what);
    this.showHealth(rows);
  }

  private showHealth(rows: TargetHealthRow[]): void {
    for (const row of rows) this.labels.set(row.targetGroupArn, row.listener);
    this.out('  DescribeTargetHealth:');
    for (const line of formatHealth(rows)) this.out(`    ${line}`);
  }

  private async requests(dns: string, title: string, count: number): Promise<void> {
    this.out(`  ${title}:`);
    for (let i = 0; i < count; i++) {
      const reply = i % 3 === 2 ? await this.cluster.traffic.udp(dns, EXAMPLE_UDP_PORT, 'hello') : await this.cluster.traffic.http(dns, EXAMPLE_HTTP_PORT);
      this.replies.push(reply);
      this.out(`    ${describeReply(reply, i % 3 === 2 ? `UDP:${EXAMPLE_UDP_PORT}` : `TCP:${EXAMPLE_HTTP_PORT} GET /`)}`);
    }
  }

  private event(text: string): void {
    const real = (Date.now() - this.stepStart) / 1000;
    this.out(`    [${(real / this.cluster.timeScale).toFixed(0).padStart(3)} s] ${text}`);
  }

  private label(targetGroupArn: string): string {
    return this.labels.get(targetGroupArn) ?? targetGroupArn.split('/')[1] ?? targetGroupArn;
  }

  private section(title: string): void {
    this.out(`\n== ${title}`);
  }
}

/** `TCP:80 GET / via 127.10.128.2 (us-east-1a) → node-0:30086 → ferry-example-…-k87jj on node-0, saw 127.10.0.4`. */
export function describeReply(reply: Reply, what: string): string {
  const via = reply.via ? `via ${reply.via.nlbAddress} (${reply.via.zone}) → ${reply.via.node ?? reply.via.target}:${reply.via.port}` : `via ${reply.address}`;
  if (!reply.ok || !reply.answer) return `${what} ${via} → ${reply.dropped ? `dropped by the NLB (${reply.dropped})` : `failed: ${reply.error ?? 'no answer'}`}`;
  return `${what} ${via} → ${reply.answer.pod} on ${reply.answer.node}, saw ${reply.answer.saw.replace(/:\d+$/, '')}`;
}
