/**
 * A two-node cluster in network namespaces, for the agent's datapath tests (every mode):
 *
 *   root ns ── Kubernetes emulator on 169.254.A.B (a /30 to node1, per run)
 *     │
 *   node1 (runs `ferry agent`, InternalIP 10.0.0.1) ── lan ── node2 (10.0.0.2, no agent)
 *     │ 192.168.50.1                                            │
 *   client (192.168.50.2, default via node1)               pods 10.244.2.x
 *   pods 10.244.1.x (each a /30 to its node)
 *
 * The client's default route and node2's go through node1, like a client behind a load
 * balancer that targets node1. Namespace names carry a per-run suffix so suites can run in
 * parallel; `destroy()` removes everything even after a failure. Echo servers answer
 * `NAME CLIENT_ADDRESS` on TCP 8080 and UDP 5353.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, type V1Service } from '@kubernetes/client-node';
import { KubeEmulator } from '@ferry/emulators';
import type { ProxyMode } from '../../../src/agent/types';
import { exec, NetClient, sh, SUPPORT_DIR, type ClientReply } from './support/netns';

export { datapathSkipReason } from './support/netns';

export const TCP_PORT = 8080;
export const UDP_PORT = 5353;
/** The emulator's default service CIDR. */
export const SERVICE_CIDR = '10.96.0.0/12';
const REPO = resolve(__dirname, '../../..');

export interface TopologyOptions {
  mode: ProxyMode;
  /** Extra `ferry agent` flags, appended to the defaults (later flags win). */
  agentArgs?: string[];
}

export interface Pod {
  name: string;
  node: 'node1' | 'node2';
  namespace: string;
  ip: string;
}

export interface EndpointSpec {
  pod: Pod;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  /** Topology hints (`hints.forZones`), as the EndpointSlice controller writes them for trafficDistribution. */
  zones?: string[];
}

/** A host outside the cluster, routed through node1 (a load balancer, say), answering as `name`. */
export interface ExternalHost {
  name: string;
  namespace: string;
  ip: string;
}

export class Topology {
  readonly node1 = { name: 'node1', ip: '10.0.0.1', namespace: '' };
  readonly node2 = { name: 'node2', ip: '10.0.0.2', namespace: '' };
  readonly client = { ip: '192.168.50.2', namespace: '' };
  /** node1's address on the root link: the agent's healthz and metrics are reachable there. */
  agentAddress = '';
  kube!: KubeEmulator;
  core!: CoreV1Api;
  discovery!: DiscoveryV1Api;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<ChildProcess>();
  private readonly clients = new Map<string, NetClient>();
  private readonly podCount = { node1: 0, node2: 0 };
  private externalHosts = 0;
  private agent: ChildProcess | undefined;
  private agentOutput = '';
  private dir = '';

  private constructor(
    readonly id: string,
    readonly options: TopologyOptions,
  ) {}

  static async create(options: TopologyOptions): Promise<Topology> {
    const topology = new Topology(randomBytes(3).toString('hex'), options);
    try {
      await topology.build();
    } catch (err) {
      await topology.destroy();
      throw err;
    }
    return topology;
  }

  private ns(name: string): string {
    const full = `fy${this.id}-${name}`;
    this.namespaces.push(full);
    return full;
  }

  private async build(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), `ferry-datapath-${this.id}-`));
    this.node1.namespace = this.ns('node1');
    this.node2.namespace = this.ns('node2');
    this.client.namespace = this.ns('client');
    for (const ns of [this.node1.namespace, this.node2.namespace, this.client.namespace]) {
      await sh('ip', 'netns', 'add', ns);
      await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      await sysctls(ns);
    }
    const [n1, n2, cl] = [this.node1.namespace, this.node2.namespace, this.client.namespace];
    // node1 ↔ root: the only link into the root namespace, on a /30 nobody else uses.
    const { root, node } = await freeLinkLocal();
    const rootIf = `fy${this.id}`;
    await sh('ip', 'link', 'add', rootIf, 'type', 'veth', 'peer', 'name', 'api0', 'netns', n1);
    await sh('ip', 'addr', 'add', `${root}/30`, 'dev', rootIf);
    await sh('ip', 'link', 'set', rootIf, 'up');
    await sh('ip', '-n', n1, 'addr', 'add', `${node}/30`, 'dev', 'api0');
    await sh('ip', '-n', n1, 'link', 'set', 'api0', 'up');
    this.agentAddress = node;
    await link(n1, 'lan0', '10.0.0.1/24', n2, 'lan0', '10.0.0.2/24');
    await link(n1, 'cli0', '192.168.50.1/24', cl, 'eth0', '192.168.50.2/24');
    await sh('ip', '-n', n1, 'route', 'add', '10.244.2.0/24', 'via', '10.0.0.2');
    await sh('ip', '-n', n2, 'route', 'add', 'default', 'via', '10.0.0.1');
    await sh('ip', '-n', cl, 'route', 'add', 'default', 'via', '192.168.50.1');
    // node1 routes the service CIDR somewhere, as a default route would: traffic to a
    // ClusterIP that no rule DNATs reaches the forward hook (and ferry's reject) instead of
    // failing the route lookup. It goes to a sink namespace that does not forward.
    const sink = this.ns('sink');
    await sh('ip', 'netns', 'add', sink);
    await link(n1, 'svc0', '10.255.255.1/30', sink, 'eth0', '10.255.255.2/30');
    await sh('ip', 'netns', 'exec', sink, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
    await sh('ip', '-n', n1, 'route', 'add', SERVICE_CIDR, 'via', '10.255.255.2');
    this.kube = await KubeEmulator.start({ host: root });
    await this.kube.writeKubeconfig(this.kubeconfig);
    const kc = this.kube.kubeConfig();
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    for (const n of [this.node1, this.node2]) {
      await this.core.createNode({ body: { metadata: { name: n.name }, status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }] } } });
    }
  }

  get kubeconfig(): string {
    return join(this.dir, 'kubeconfig');
  }

  /** A pod namespace on a node, running the echo server. */
  async addPod(name: string, on: 'node1' | 'node2'): Promise<Pod> {
    const node = on === 'node1' ? this.node1 : this.node2;
    const k = this.podCount[on]++;
    const subnet = on === 'node1' ? 1 : 2;
    const namespace = this.ns(`pod-${name}`);
    await sh('ip', 'netns', 'add', namespace);
    await sh('ip', '-n', namespace, 'link', 'set', 'lo', 'up');
    const gateway = `10.244.${subnet}.${4 * k + 1}`;
    const ip = `10.244.${subnet}.${4 * k + 2}`;
    await link(node.namespace, `veth${k}`, `${gateway}/30`, namespace, 'eth0', `${ip}/30`);
    await sh('ip', '-n', namespace, 'route', 'add', 'default', 'via', gateway);
    await this.spawnReady(['ip', 'netns', 'exec', namespace, process.execPath, join(SUPPORT_DIR, 'echo-server.js'), name, String(TCP_PORT), String(UDP_PORT)]);
    return { name, node: on, namespace, ip };
  }

  /**
   * A host outside the cluster that owns `ip`, behind node1 (which routes `ip` to it), with
   * an echo server: traffic to `ip` that no rule captures reaches it and it answers `name`.
   */
  async addExternalHost(name: string, ip: string): Promise<ExternalHost> {
    const k = this.externalHosts++;
    const namespace = this.ns(`ext-${name}`);
    await sh('ip', 'netns', 'add', namespace);
    await sh('ip', '-n', namespace, 'link', 'set', 'lo', 'up');
    await sh('ip', '-n', namespace, 'addr', 'add', `${ip}/32`, 'dev', 'lo');
    const [gateway, own] = [`10.255.254.${4 * k + 1}`, `10.255.254.${4 * k + 2}`];
    await link(this.node1.namespace, `ext${k}`, `${gateway}/30`, namespace, 'eth0', `${own}/30`);
    await sh('ip', '-n', namespace, 'route', 'add', 'default', 'via', gateway);
    await sh('ip', '-n', this.node1.namespace, 'route', 'add', `${ip}/32`, 'via', own);
    await this.spawnReady(['ip', 'netns', 'exec', namespace, process.execPath, join(SUPPORT_DIR, 'echo-server.js'), name, String(TCP_PORT), String(UDP_PORT)]);
    return { name, namespace, ip };
  }

  private spawnReady(argv: string[]): Promise<ChildProcess> {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    this.processes.add(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start`)), 10_000);
      child.stdout!.once('data', () => {
        clearTimeout(timer);
        resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)));
    });
  }

  /** Starts `ferry agent` in node1 (spawned as `ip netns exec <node1> npx tsx src/agent/cli.ts …`). */
  async startAgent(extraArgs: string[] = []): Promise<void> {
    if (this.agent) throw new Error('agent already running');
    const args = [
      'netns', 'exec', this.node1.namespace, 'npx', 'tsx', 'src/agent/cli.ts',
      '--mode', this.options.mode, '--node-name', 'node1', '--kubeconfig', this.kubeconfig,
      '--sync-period', '3s', '--min-sync-interval', '100ms',
      ...(this.options.agentArgs ?? []), ...extraArgs,
    ];
    const agent = spawn('ip', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.agent = agent;
    agent.stdout!.on('data', (d: Buffer) => (this.agentOutput += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (this.agentOutput += d.toString()));
    await this.waitForSync();
  }

  /** SIGTERM, as the kubelet stops a pod; the agent leaves the data path in place. */
  async stopAgent(): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    this.agent = undefined;
    const exited = new Promise<void>((resolve) => (agent.exitCode !== null ? resolve() : agent.once('exit', () => resolve())));
    killGroup(agent, 'SIGTERM');
    const timer = setTimeout(() => killGroup(agent, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Waits until the agent reports a successful sync ending after `after` (ms since epoch). */
  async waitForSync(after = Date.now(), timeoutMs = 30_000): Promise<void> {
    await waitUntil(`a sync of the ${this.options.mode} agent\n${this.agentLog()}`, timeoutMs, async () => {
      if (this.agent?.exitCode !== null && this.agent?.exitCode !== undefined) throw new Error(`agent exited: ${this.agentLog()}`);
      const metrics = await fetch(`http://${this.agentAddress}:10249/metrics`).then((r) => r.text()).catch(() => '');
      const last = /^(?:kubeproxy|ferry_agent)_sync_proxy_rules_last_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics);
      return last !== null && Number(last[1]) * 1000 >= after;
    });
  }

  agentLog(): string {
    return this.agentOutput.slice(-4000);
  }

  /** Every JSON log entry the agent wrote since the topology was created (all its runs). */
  agentEntries(): Array<Record<string, unknown>> {
    return this.agentOutput.split('\n').flatMap((line) => {
      try {
        const entry = JSON.parse(line) as unknown;
        return typeof entry === 'object' && entry !== null ? [entry as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** A probe client in a namespace (the client namespace by default). */
  clientIn(namespace = this.client.namespace): NetClient {
    let client = this.clients.get(namespace);
    if (!client) {
      client = new NetClient(namespace);
      this.clients.set(namespace, client);
    }
    return client;
  }

  tcp(host: string, port: number, from?: string, timeoutMs = 1500): Promise<ClientReply> {
    return this.clientIn(from).send({ op: 'tcp', host, port, timeoutMs });
  }

  udp(host: string, port: number, options: { from?: string; session?: string; data?: string; timeoutMs?: number } = {}): Promise<ClientReply> {
    return this.clientIn(options.from).send({ op: 'udp', host, port, session: options.session, data: options.data ?? 'ping', timeoutMs: options.timeoutMs ?? 1000 });
  }

  /** Runs a command in node1 (e.g. `nft list table ip ferry`). */
  async inNode1(...argv: string[]): Promise<string> {
    return sh('ip', 'netns', 'exec', this.node1.namespace, ...argv);
  }

  async createService(name: string, spec: NonNullable<V1Service['spec']>, annotations?: Record<string, string>): Promise<V1Service> {
    return this.core.createNamespacedService({ namespace: 'default', body: { metadata: { name, annotations }, spec } });
  }

  /** The Service's one EndpointSlice (created or replaced), with a `tcp` and a `udp` port (and `extraPorts`). */
  async setEndpoints(service: string, endpoints: EndpointSpec[], extraPorts: Array<{ name: string; port: number; protocol: string }> = []): Promise<void> {
    const body = {
      metadata: { name: `${service}-ferry`, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [
        { name: 'tcp', port: TCP_PORT, protocol: 'TCP' },
        { name: 'udp', port: UDP_PORT, protocol: 'UDP' },
        ...extraPorts,
      ],
      endpoints: endpoints.map((e) => ({
        addresses: [e.pod.ip],
        nodeName: e.pod.node,
        conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
        ...(e.zones ? { hints: { forZones: e.zones.map((name) => ({ name })) } } : {}),
      })),
    };
    await this.discovery.replaceNamespacedEndpointSlice({ namespace: 'default', name: body.metadata.name, body });
  }

  async destroy(): Promise<void> {
    await this.stopAgent().catch(() => {});
    for (const client of this.clients.values()) client.close();
    for (const child of this.processes) child.kill('SIGKILL');
    await this.kube?.close().catch(() => {});
    for (const ns of this.namespaces.reverse()) await exec('ip', ['netns', 'del', ns]).catch(() => {});
    await exec('ip', ['link', 'del', `fy${this.id}`]).catch(() => {});
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

async function link(nsA: string, ifA: string, addrA: string, nsB: string, ifB: string, addrB: string): Promise<void> {
  await sh('ip', '-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  await sh('ip', '-n', nsA, 'addr', 'add', addrA, 'dev', ifA);
  await sh('ip', '-n', nsB, 'addr', 'add', addrB, 'dev', ifB);
  await sh('ip', '-n', nsA, 'link', 'set', ifA, 'up');
  await sh('ip', '-n', nsB, 'link', 'set', ifB, 'up');
}

async function sysctls(ns: string): Promise<void> {
  for (const setting of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']) {
    await sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', setting);
  }
}

/** A /30 in 169.254.0.0/16 with no address of the root namespace in it. */
async function freeLinkLocal(): Promise<{ root: string; node: string }> {
  const used = await sh('ip', '-4', '-o', 'addr', 'show');
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = 10 + Math.floor(Math.random() * 240);
    const base = 4 * Math.floor(Math.random() * 63);
    const taken = [0, 1, 2, 3].some((i) => used.includes(` 169.254.${a}.${base + i}/`));
    if (!taken) return { root: `169.254.${a}.${base + 1}`, node: `169.254.${a}.${base + 2}` };
  }
  throw new Error('no free 169.254.0.0/16 /30 for the API link');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs`. */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
