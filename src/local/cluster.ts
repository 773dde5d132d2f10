/**
 * A whole cluster on one machine, traffic included: the sandbox (embedded Kubernetes and
 * AWS, seeded VPC, instances and Nodes, the reconciler) with the ELBv2 data plane on, every
 * instance a node running `ferry agent` (fabric.ts), the example Deployment's pods with
 * their EndpointSlices, and a client. `ferry local`, the tests in test/local and
 * `npm run bench -- local` all start this.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node, type V1Service } from '@kubernetes/client-node';
import type { DataPlane } from '@ferry/emulators';
import type { ReconcileReport } from '../reconcile/reconciler';
import { playgroundListenPort } from './addresses';
import type { Fabric, LocalNode } from './fabric';
import { targetHealth, type TargetHealthRow } from './health';
import { Deployment } from './pods';
import { startSandbox, type Sandbox } from './sandbox';
import { Traffic } from './traffic';

export interface LocalClusterOptions {
  cluster: string;
  fabric: Fabric;
  /** Every NLB timer × this (health checks, registration, deregistration delay). */
  timeScale: number;
  instances?: number;
  /** The example Deployment (`app: ferry-example`). */
  replicas?: number;
}

export const EXAMPLE_NAMESPACE = 'default';
export const EXAMPLE_APP = 'ferry-example';

export class LocalCluster {
  readonly core: CoreV1Api;
  readonly traffic: Traffic;
  readonly deployment: Deployment;
  private readonly byTarget = new Map<string, string>();

  private constructor(
    readonly sandbox: Sandbox,
    readonly dataPlane: DataPlane,
    readonly fabric: Fabric,
    readonly nodes: LocalNode[],
    readonly timeScale: number,
    /** A kubeconfig file for the embedded API server (agents in namespaces read it). */
    readonly kubeconfigPath: string,
    private readonly dir: string,
    replicas: number,
  ) {
    this.core = sandbox.kc.makeApiClient(CoreV1Api);
    for (const n of nodes) {
      this.byTarget.set(n.instanceId, n.name);
      this.byTarget.set(n.vpcIp, n.name);
    }
    this.traffic = new Traffic(dataPlane, (target) => this.byTarget.get(target), fabric.clientAddress);
    this.deployment = new Deployment({ namespace: EXAMPLE_NAMESPACE, name: EXAMPLE_APP, labels: { app: EXAMPLE_APP }, replicas }, sandbox.kc, fabric, () => this.nodes);
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const { fabric } = options;
    const sandbox = await startSandbox({
      cluster: options.cluster,
      emulator: { dataPlane: { timeScale: options.timeScale, listenPort: playgroundListenPort, ...fabric.dataPlane() } },
      seed: { instances: options.instances ?? 3, ...(fabric.cidrBase !== undefined ? { cidrBase: fabric.cidrBase } : {}) },
      ...(fabric.kubeHost ? { kubeHost: fabric.kubeHost } : {}),
    });
    const nodes: LocalNode[] = [];
    let dir = '';
    try {
      dir = await mkdtemp(join(tmpdir(), 'ferry-local-'));
      const kubeconfigPath = join(dir, 'kubeconfig');
      await sandbox.kubeEmulator!.writeKubeconfig(kubeconfigPath);
      const dataPlane = sandbox.awsEmulator!.dataPlane!;
      const specs = sandbox.seeded.instances.map((i, index) => ({ name: `node-${index}`, index, instanceId: i.id, zone: i.zone, vpcIp: i.privateIp }));
      nodes.push(...(await Promise.all(specs.map((spec) => fabric.startNode(spec, { kc: sandbox.kc, kubeconfigPath }, dataPlane)))));
      const cluster = new LocalCluster(sandbox, dataPlane, fabric, nodes, options.timeScale, kubeconfigPath, dir, options.replicas ?? 2);
      await cluster.deployment.scale();
      return cluster;
    } catch (err) {
      await fabric.close().catch(() => undefined);
      await sandbox.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  node(name: string): LocalNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** The Node a target (instance id, or IP) is. */
  nodeOf(target: string): string | undefined {
    return this.byTarget.get(target);
  }

  /** `kubectl apply` of a Service, whose EndpointSlice follows at once (the playground's controller). */
  async createService(body: V1Service): Promise<V1Service> {
    const created = await this.core.createNamespacedService({ namespace: body.metadata?.namespace ?? EXAMPLE_NAMESPACE, body });
    await this.deployment.slices.sync();
    return created;
  }

  /** `kubectl patch service` (a JSON merge patch); the slices follow a selector change. */
  async patchService(name: string, patch: object, namespace = EXAMPLE_NAMESPACE): Promise<V1Service> {
    const patched = await this.core.patchNamespacedService({ name, namespace, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await this.deployment.slices.sync();
    return patched;
  }

  /** `kubectl patch node` (a JSON merge patch). */
  async patchNode(name: string, patch: object): Promise<V1Node> {
    return this.core.patchNode({ name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  /**
   * Resolves once every running agent has synced since `since` and has no change
   * pending (its kube-proxy sync metrics): a change whose writes all reached the agents
   * is then in every node's data path.
   */
  async waitForAgents(since: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const node of this.nodes.filter((n) => n.agentRunning)) {
      for (;;) {
        const text = await fetch(`http://${node.address}:10249/metrics`, { signal: AbortSignal.timeout(1000) }).then((r) => r.text()).catch(() => '');
        if (settledSince(text, since)) break;
        if (Date.now() > deadline) throw new Error(`the agent of ${node.name} did not sync within ${timeoutMs} ms:\n${node.agentLog()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async reconcile(name: string, namespace = EXAMPLE_NAMESPACE): Promise<ReconcileReport> {
    return this.sandbox.reconciler.reconcile(namespace, name);
  }

  /** The NLB DNS name in the Service's status, once ferry has written it. */
  async hostname(name: string, namespace = EXAMPLE_NAMESPACE): Promise<string> {
    const service = await this.core.readNamespacedService({ namespace, name });
    const hostname = service.status?.loadBalancer?.ingress?.[0]?.hostname;
    if (!hostname) throw new Error(`Service ${namespace}/${name} has no load balancer yet`);
    return hostname;
  }

  async health(dnsName: string): Promise<TargetHealthRow[]> {
    return targetHealth(this.sandbox.aws, dnsName, (t) => this.nodeOf(t));
  }

  /**
   * Polls DescribeTargetHealth until `done` holds; fails after `timeoutMs`, saying what it
   * saw last. Polls at a health-check interval's pace (a tenth of 10 s, scaled).
   */
  async waitForHealth(dnsName: string, done: (rows: TargetHealthRow[]) => boolean, timeoutMs: number, what = 'the targets'): Promise<TargetHealthRow[]> {
    const deadline = Date.now() + timeoutMs;
    const pause = Math.max(20, Math.min(500, 1000 * this.timeScale));
    let rows: TargetHealthRow[] = [];
    while (Date.now() < deadline) {
      rows = await this.health(dnsName);
      if (done(rows)) return rows;
      await new Promise((r) => setTimeout(r, pause));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${rows.map((r) => `${r.listener} ${r.node ?? r.target} ${r.state}${r.reason ? ` ${r.reason}` : ''}`).join(', ')}`);
  }

  async close(): Promise<void> {
    this.traffic.close();
    // Agents first, while the API server they watch is still up; then the pods, the emulators, the namespaces.
    await Promise.all(this.nodes.map((n) => n.stopAgent().catch(() => undefined)));
    await this.deployment.close().catch(() => undefined);
    await this.sandbox.close();
    await this.fabric.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Whether an agent's metrics say it synced after `since` with nothing left over: a sync
 * that ran between two of a change's writes (a pod marked terminating, then its
 * replacement added) leaves the second pending, or queued after that sync.
 */
function settledSince(metrics: string, since: number): boolean {
  const gauge = (name: string) => Number(new RegExp(`^kubeproxy_sync_proxy_rules_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  const synced = gauge('last_timestamp_seconds') * 1000;
  return synced >= since && synced >= gauge('last_queued_timestamp_seconds') * 1000 && gauge('endpoint_changes_pending') === 0 && gauge('service_changes_pending') === 0;
}
