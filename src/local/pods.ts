/**
 * The example Deployment, as far as the playground needs one: the embedded Kubernetes has
 * no Pods, no scheduler and no ReplicaSet controller, so this keeps `replicas` pods running,
 * each a pod server (pod-server.ts) on a node, and their EndpointSlices up to date
 * (slices.ts). Placement is the scheduler's default spread reduced to its core: the
 * schedulable node (not tainted NoSchedule/NoExecute, not cordoned, its node up) running
 * the fewest of the Deployment's pods, the first by name among equals.
 *
 * Deleting a pod (`kubectl delete pod`) or evicting a node's pods (`kubectl drain`) goes as
 * Kubernetes goes: the pod turns terminating (not ready, still serving) in its slice, its
 * replacement starts elsewhere and becomes ready, the old one finishes its open connections
 * within its grace period and leaves the slice.
 */
import { createHash, randomInt } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { POD_PORT } from './addresses';
import type { Fabric, LocalNode, PodRuntime } from './fabric';
import { EndpointSlices, type SlicePod } from './slices';

export interface DeploymentSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  replicas: number;
}

export interface Pod {
  readonly name: string;
  readonly node: LocalNode;
  readonly ip: string;
  terminating: boolean;
  readonly runtime: PodRuntime;
}

/** The grace period of a deleted pod: open connections finish within it (Kubernetes: 30 s). */
export const DEFAULT_GRACE_MS = 1000;

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // Kubernetes' rand.SafeEncodeString alphabet

export class Deployment {
  private readonly live: Pod[] = [];
  private readonly ordinals = new Map<string, number>();
  private readonly template: string;
  private readonly core: CoreV1Api;
  readonly slices: EndpointSlices;

  constructor(
    readonly spec: DeploymentSpec,
    kc: KubeConfig,
    private readonly fabric: Fabric,
    private readonly nodes: () => readonly LocalNode[],
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    // The pod-template hash a ReplicaSet puts in its pods' names.
    this.template = [...createHash('sha256').update(spec.name).digest()].slice(0, 10).map((b) => ALPHABET[b % ALPHABET.length]).join('');
    this.slices = new EndpointSlices(kc, spec.namespace, () => this.live.map((p) => this.slicePod(p)));
  }

  get pods(): readonly Pod[] {
    return this.live;
  }

  running(): Pod[] {
    return this.live.filter((p) => !p.terminating);
  }

  /** Starts pods until `replicas` run, then writes the slices. Resolves to the pods it started. */
  async scale(replicas = this.spec.replicas): Promise<Pod[]> {
    this.spec.replicas = replicas;
    const started: Pod[] = [];
    while (this.running().length < this.spec.replicas) {
      const node = await this.schedule();
      if (!node) break;
      started.push(await this.startPod(node));
    }
    await this.slices.sync();
    return started;
  }

  /** `kubectl delete pod`: terminating at once, replaced, gone after its grace. Resolves to the replacement. */
  async kill(name: string, graceMs = DEFAULT_GRACE_MS): Promise<Pod[]> {
    const pod = this.live.find((p) => p.name === name && !p.terminating);
    if (!pod) throw new Error(`no running pod ${name}`);
    return this.terminate([pod], graceMs);
  }

  /** The eviction part of `kubectl drain`: every pod of the node, as {@link kill}. */
  async evict(nodeName: string, graceMs = DEFAULT_GRACE_MS): Promise<Pod[]> {
    return this.terminate(this.live.filter((p) => p.node.name === nodeName && !p.terminating), graceMs);
  }

  /** Stops every pod at once (the playground is ending). */
  async close(): Promise<void> {
    const pods = this.live.splice(0);
    await Promise.all(pods.map((p) => p.runtime.stop(0)));
  }

  private async terminate(pods: Pod[], graceMs: number): Promise<Pod[]> {
    for (const pod of pods) pod.terminating = true;
    await this.slices.sync();
    const replacements = await this.scale();
    await Promise.all(pods.map((p) => p.runtime.stop(graceMs)));
    for (const pod of pods) {
      const at = this.live.indexOf(pod);
      if (at >= 0) this.live.splice(at, 1);
    }
    await this.slices.sync();
    return replacements;
  }

  private async startPod(node: LocalNode): Promise<Pod> {
    const ordinal = this.ordinals.get(node.name) ?? 0;
    this.ordinals.set(node.name, ordinal + 1);
    const suffix = Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    const name = `${this.spec.name}-${this.template}-${suffix}`;
    const runtime = await this.fabric.startPod({ name, node, ordinal });
    const pod: Pod = { name, node, ip: runtime.ip, terminating: false, runtime };
    this.live.push(pod);
    return pod;
  }

  private async schedule(): Promise<LocalNode | undefined> {
    const objects = new Map((await this.core.listNode()).items.map((n) => [n.metadata?.name ?? '', n]));
    const candidates = this.nodes().filter((n) => schedulable(objects.get(n.name)));
    const load = (n: LocalNode) => this.running().filter((p) => p.node.name === n.name).length;
    return [...candidates].sort((a, b) => load(a) - load(b) || a.index - b.index)[0];
  }

  private slicePod(pod: Pod): SlicePod {
    return {
      name: pod.name,
      namespace: this.spec.namespace,
      labels: this.spec.labels,
      ip: pod.ip,
      nodeName: pod.node.name,
      zone: pod.node.zone,
      terminating: pod.terminating,
      ports: [
        { name: 'http', port: POD_PORT, protocol: 'TCP' },
        { name: 'echo', port: POD_PORT, protocol: 'UDP' },
      ],
    };
  }
}

function schedulable(node: V1Node | undefined): boolean {
  if (!node || node.metadata?.deletionTimestamp || node.spec?.unschedulable) return false;
  return !(node.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
}
