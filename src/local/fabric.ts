/**
 * Where the playground's nodes and pods live: on loopback addresses of this host, each node
 * a userspace `ferry agent` in this process (no root needed; loopback.ts), or in network
 * namespaces, each node an nftables `ferry agent` process (`ferry local --kernel`, root;
 * namespaces.ts). The rest of the playground sees only this.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { DataPlane, DataPlaneOptions } from '@ferry/emulators';
import type { Visit } from './pod-server';

/** An instance of the seeded VPC and the Node it is. */
export interface NodeSpec {
  /** `node-<index>`. */
  readonly name: string;
  readonly index: number;
  readonly instanceId: string;
  readonly zone: string;
  /** The instance's private IP: the Node's InternalIP and the NLB's target. */
  readonly vpcIp: string;
}

export interface LocalNode extends NodeSpec {
  /** Where this process reaches the node (its agent's NodePorts and :10256): the loopback twin, or the VPC address itself in a namespace. */
  readonly address: string;
  readonly mode: 'userspace' | 'nftables';
  readonly agentRunning: boolean;
  startAgent(): Promise<void>;
  /** Stops the agent as SIGTERM would; the node stays (its pods keep running). */
  stopAgent(): Promise<void>;
  /** The agent's recent log lines. */
  agentLog(): string;
  close(): Promise<void>;
}

export interface PodSpec {
  readonly name: string;
  readonly node: LocalNode;
  /** The pod's ordinal on its node, for its address. */
  readonly ordinal: number;
}

export interface PodRuntime {
  readonly name: string;
  readonly node: LocalNode;
  readonly ip: string;
  /** Every connection and datagram that reached the pod. */
  readonly visits: readonly Visit[];
  onVisit(listener: (visit: Visit) => void): void;
  /** Stops taking new connections at once; open ones may finish for `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/** The Kubernetes API as a node reaches it. */
export interface KubeAccess {
  kc: KubeConfig;
  /** A kubeconfig file for processes (agents in namespaces). */
  kubeconfigPath: string;
}

export interface Fabric {
  readonly kind: 'loopback' | 'namespaces';
  /** One line for the playground's header. */
  readonly description: string;
  /** 10.<cidrBase>.0.0/16 for the seeded VPC, when the fabric must choose it. */
  readonly cidrBase: number | undefined;
  /** Where the Kubernetes API server must listen for the nodes to reach it. */
  readonly kubeHost: string | undefined;
  /** The address this process's clients send from. */
  readonly clientAddress: string;
  /** What the data plane needs to reach this fabric's nodes. */
  dataPlane(): Pick<DataPlaneOptions, 'nodeAddress' | 'addresses' | 'addressPool'>;
  /** Brings up a node with its agent, once its Node exists. */
  startNode(spec: NodeSpec, kube: KubeAccess, dataPlane: DataPlane): Promise<LocalNode>;
  startPod(spec: PodSpec): Promise<PodRuntime>;
  close(): Promise<void>;
}
