/**
 * The fabric that needs no root: every node is a userspace `ferry agent` running in this
 * process on the loopback twin of its VPC address (addresses.ts), and every pod a
 * {@link PodServer} on a loopback address of its own. The data plane's address map sends
 * the NLB's traffic for each instance there.
 *
 * The agent is started through {@link LoopbackAgentStarter}, which the CLI (and the tests)
 * hand in: the playground sits beside the agent, not above it (the import rules of
 * docs/design.md §7), so it runs the agent it is given, as a node runs the DaemonSet's.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { DataPlane } from '@ferry/emulators';
import type { Log, LogEntry } from '../util/log';
import { createServer, type Server } from 'node:net';
import { POD_PORT, loopbackNlbPool, loopbackOf, loopbackPodAddress } from './addresses';
import type { Fabric, KubeAccess, LocalNode, NodeSpec, PodRuntime, PodSpec } from './fabric';
import { PodServer, type Visit } from './pod-server';

export interface LoopbackAgentSpec {
  nodeName: string;
  /** The node's own loopback address: its NodePorts, `:10256` and `:10249` answer there only. */
  address: string;
  kubeConfig: KubeConfig;
  logger?: Log;
}

export interface RunningAgent {
  readonly firstSync: Promise<void>;
  stop(): Promise<void>;
}

/** `startLoopbackAgent` of src/agent/userspace/loopback.ts. */
export type LoopbackAgentStarter = (spec: LoopbackAgentSpec) => Promise<RunningAgent>;

/** Agent log lines kept per node. */
const LOG_LINES = 200;
/** A first sync takes well under a second; past this the playground says what the agent logged. */
const FIRST_SYNC_TIMEOUT_MS = 20_000;

/** A run holds 127.<b>.255.254 on this port while it lives: the next run takes another b. */
const LOCK_PORT = 10255;
/** b = 10 first (the docs' addresses), then upwards; 127.0 and 127.1 (the data plane's default pool) are others'. */
const BASES = Array.from({ length: 240 }, (_, i) => 10 + i);

export class LoopbackFabric implements Fabric {
  readonly kind = 'loopback';
  readonly description = 'each node a userspace ferry agent on its own 127.x address, in this process (no root needed)';
  readonly kubeHost = undefined;
  readonly clientAddress = '127.0.0.1';
  private readonly nodes: LoopbackNode[] = [];

  private constructor(
    private readonly startAgent: LoopbackAgentStarter,
    /** The VPC is 10.<cidrBase>.0.0/16, and this run owns 127.<cidrBase>.0.0/16. */
    readonly cidrBase: number,
    private readonly lock: Server,
  ) {}

  static async create(startAgent: LoopbackAgentStarter): Promise<LoopbackFabric> {
    for (const base of BASES) {
      const lock = await hold(`127.${base}.255.254`, LOCK_PORT);
      if (lock) return new LoopbackFabric(startAgent, base, lock);
    }
    throw new Error(`every 127.<b>.0.0/16 from 127.${BASES[0]} to 127.${BASES.at(-1)} is held by another ferry local run`);
  }

  dataPlane() {
    return { addressPool: loopbackNlbPool(this.cidrBase) };
  }

  async startNode(spec: NodeSpec, kube: KubeAccess, dataPlane: DataPlane): Promise<LocalNode> {
    const node = new LoopbackNode(spec, loopbackOf(spec.vpcIp), kube.kc, this.startAgent);
    dataPlane.mapAddress(spec.vpcIp, node.address);
    this.nodes.push(node);
    await node.startAgent();
    return node;
  }

  async startPod(spec: PodSpec): Promise<PodRuntime> {
    const ip = loopbackPodAddress(this.cidrBase, spec.node.index, spec.ordinal);
    const server = await PodServer.start({ name: spec.name, node: spec.node.name, address: ip, tcpPort: POD_PORT, udpPort: POD_PORT });
    return {
      name: spec.name,
      node: spec.node,
      ip,
      visits: server.visits,
      onVisit: (listener: (visit: Visit) => void) => void server.on('visit', listener),
      stop: (graceMs) => server.close(graceMs),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
    await new Promise<void>((resolve) => this.lock.close(() => resolve()));
  }
}

/** A listening socket on address:port, or undefined when another process has it. */
function hold(address: string, port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', () => resolve(undefined));
    server.listen({ host: address, port, exclusive: true }, () => resolve(server));
  });
}

class LoopbackNode implements LocalNode {
  readonly name: string;
  readonly index: number;
  readonly instanceId: string;
  readonly zone: string;
  readonly vpcIp: string;
  readonly mode = 'userspace';
  private agent: RunningAgent | undefined;
  private readonly lines: string[] = [];

  constructor(
    spec: NodeSpec,
    readonly address: string,
    private readonly kubeConfig: KubeConfig,
    private readonly start: LoopbackAgentStarter,
  ) {
    ({ name: this.name, index: this.index, instanceId: this.instanceId, zone: this.zone, vpcIp: this.vpcIp } = spec);
  }

  get agentRunning(): boolean {
    return this.agent !== undefined;
  }

  async startAgent(): Promise<void> {
    if (this.agent) return;
    const logger: Log = ({ level, msg, ...fields }: LogEntry) => {
      if (level === 'debug') return;
      this.lines.push(`${level}: ${msg ?? ''}${Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`);
      if (this.lines.length > LOG_LINES) this.lines.shift();
    };
    const agent = await this.start({ nodeName: this.name, address: this.address, kubeConfig: this.kubeConfig, logger });
    this.agent = agent;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the agent of ${this.name} did not sync within ${FIRST_SYNC_TIMEOUT_MS / 1000} s:\n${this.agentLog()}`)), FIRST_SYNC_TIMEOUT_MS);
    });
    try {
      await Promise.race([agent.firstSync, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stopAgent(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.stop();
  }

  agentLog(): string {
    return this.lines.join('\n');
  }

  close(): Promise<void> {
    return this.stopAgent();
  }
}
