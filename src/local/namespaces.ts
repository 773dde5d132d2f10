/**
 * `ferry local --kernel` (root): the nodes and pods in network namespaces, each node running
 * `ferry agent --mode nftables` as a process of its own, with the VPC's own addresses:
 *
 *   root ns ── fl<id> 169.254.a.1/30: the Kubernetes API; the NLB nodes' VPC addresses and
 *     │        the client address (a TEST-NET one) as /32s, so the data plane listens and dials
 *     │        from them; 10.<b>.0.0/16 routed to the VPC router
 *   fl<id>-vpc: the VPC router (forwarding), a bridge holding each subnet's .1, a route to
 *     │        each node's pod CIDR; default route back to the root namespace
 *   fl<id>-node-<k>: eth0 = the instance's private IP in its /24, default via the subnet's .1;
 *     │        the agent; a /30 per pod, as test/agent/datapath/topology.ts lays them out
 *   fl<id>-<pod>: the pod's server on 10.244.<k>.<4n+2>
 *
 * The router lives in a namespace of its own so that nothing of the host's firewall (a
 * Docker host's FORWARD policy, br_netfilter) sees the traffic between nodes. The data
 * plane dials the instances at their VPC addresses (the identity map) and its nodes listen
 * on their VPC addresses, added to fl<id> as the data plane creates them. Everything is
 * named with a per-run id and removed by `close()`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { NlbNode } from '@ferry/emulators';
import { ConfigError } from '../errors';
import { POD_PORT, namespacePodAddress, podCidr } from './addresses';
import type { Fabric, KubeAccess, LocalNode, NodeSpec, PodRuntime, PodSpec } from './fabric';
import type { Visit } from './pod-server';
import { Child, run, runNow, scriptCommand } from './processes';

/** Why `--kernel` cannot run here, or undefined. */
export function kernelSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root for network namespaces and nftables';
  for (const tool of ['ip', 'nft']) {
    try {
      runNow('sh', '-c', `command -v ${tool}`);
    } catch {
      return `needs \`${tool}\` installed`;
    }
  }
  try {
    runNow('ip', 'netns', 'list');
  } catch {
    return 'needs `ip netns` (iproute2)';
  }
  return undefined;
}

const FIRST_SYNC_TIMEOUT_MS = 60_000;
const POD_START_TIMEOUT_MS = 30_000;

export class NamespaceFabric implements Fabric {
  readonly kind = 'namespaces';
  readonly description = 'each node a network namespace running ferry agent --mode nftables as its own process';
  private readonly namespaces: string[] = [];
  private readonly children = new Set<Child>();
  private readonly nlbAddresses = new Set<string>();
  private readonly nodes: NamespaceNode[] = [];
  /** Namespace plumbing runs one command at a time: two nodes may share a subnet's router address. */
  private plumbing = Promise.resolve();
  /** If the process ends without close() (Ctrl-C, a crash), nothing of this run may stay behind. */
  private readonly onExit = () => this.removeNow();

  private constructor(
    readonly id: string,
    readonly cidrBase: number,
    /** The root end of the link: the Kubernetes API listens here. */
    readonly kubeHost: string,
    private readonly vpcEnd: string,
    readonly clientAddress: string,
    private readonly dir: string,
  ) {}

  static async create(): Promise<NamespaceFabric> {
    const reason = kernelSkipReason();
    if (reason) throw new ConfigError(`--kernel ${reason}; without --kernel the nodes run on loopback addresses, no root needed`);
    await sweepLeftovers();
    const id = randomBytes(3).toString('hex');
    await mkdir(OWNERS, { recursive: true });
    await writeFile(join(OWNERS, id), String(process.pid));
    const used = await run('ip', '-4', '-o', 'addr', 'show');
    const routes = await run('ip', '-4', 'route', 'show', 'table', 'all');
    const { root, vpc } = freeLink(used);
    const fabric = new NamespaceFabric(id, freeVpcBase(`${used}\n${routes}`), root, vpc, freeClient(`${used}\n${routes}`), await mkdtemp(join(tmpdir(), `ferry-local-${id}-`)));
    process.on('exit', fabric.onExit);
    try {
      await fabric.build();
    } catch (err) {
      await fabric.close();
      throw err;
    }
    return fabric;
  }

  private get link(): string {
    return `fl${this.id}`;
  }

  private ns(name: string): string {
    const full = `fl${this.id}-${name}`;
    this.namespaces.push(full);
    return full;
  }

  private async build(): Promise<void> {
    const vpc = this.ns('vpc');
    await run('ip', 'netns', 'add', vpc);
    await forwarding(vpc);
    await run('ip', 'link', 'add', this.link, 'type', 'veth', 'peer', 'name', 'up0', 'netns', vpc);
    await run('ip', 'addr', 'add', `${this.kubeHost}/30`, 'dev', this.link);
    await run('ip', 'addr', 'add', `${this.clientAddress}/32`, 'dev', this.link);
    await run('ip', 'link', 'set', this.link, 'up');
    await run('ip', '-n', vpc, 'addr', 'add', `${this.vpcEnd}/30`, 'dev', 'up0');
    await run('ip', '-n', vpc, 'link', 'set', 'up0', 'up');
    await run('ip', '-n', vpc, 'link', 'add', 'br0', 'type', 'bridge');
    await run('ip', '-n', vpc, 'link', 'set', 'br0', 'up');
    await run('ip', '-n', vpc, 'route', 'add', 'default', 'via', this.kubeHost);
    await run('ip', 'route', 'add', `10.${this.cidrBase}.0.0/16`, 'via', this.vpcEnd, 'dev', this.link);
  }

  dataPlane() {
    // Each NLB node listens on its own VPC address, which this host then has.
    return {
      nodeAddress: (node: NlbNode): string => {
        if (!this.nlbAddresses.has(node.privateIp)) {
          runNow('ip', 'addr', 'add', `${node.privateIp}/32`, 'dev', this.link);
          this.nlbAddresses.add(node.privateIp);
        }
        return node.privateIp;
      },
    };
  }

  async startNode(spec: NodeSpec, kube: KubeAccess): Promise<LocalNode> {
    const namespace = this.ns(`node-${spec.index}`);
    const done = this.plumbing.then(() => this.plumbNode(spec, namespace));
    this.plumbing = done.catch(() => undefined);
    await done;
    const node = new NamespaceNode(spec, namespace, kube.kubeconfigPath, (child) => this.children.add(child));
    this.nodes.push(node);
    await node.startAgent();
    return node;
  }

  private async plumbNode(spec: NodeSpec, namespace: string): Promise<void> {
    const vpc = `fl${this.id}-vpc`;
    const gateway = subnetRouter(spec.vpcIp);
    await run('ip', 'netns', 'add', namespace);
    await forwarding(namespace);
    const bridgePort = `n${spec.index}`;
    await run('ip', '-n', vpc, 'link', 'add', bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
    await run('ip', '-n', vpc, 'link', 'set', bridgePort, 'master', 'br0');
    await run('ip', '-n', vpc, 'link', 'set', bridgePort, 'up');
    const routerAddresses = await run('ip', '-n', vpc, '-4', '-o', 'addr', 'show', 'dev', 'br0');
    if (!routerAddresses.includes(` ${gateway}/`)) await run('ip', '-n', vpc, 'addr', 'add', `${gateway}/24`, 'dev', 'br0');
    await run('ip', '-n', vpc, 'route', 'replace', podCidr(spec.index), 'via', spec.vpcIp);
    await run('ip', '-n', namespace, 'addr', 'add', `${spec.vpcIp}/24`, 'dev', 'eth0');
    await run('ip', '-n', namespace, 'link', 'set', 'eth0', 'up');
    await run('ip', '-n', namespace, 'route', 'add', 'default', 'via', gateway);
  }

  async startPod(spec: PodSpec): Promise<PodRuntime> {
    const node = this.nodes.find((n) => n.name === spec.node.name);
    if (!node) throw new Error(`no node ${spec.node.name} in this fabric`);
    const { ip, gateway } = namespacePodAddress(spec.node.index, spec.ordinal);
    const namespace = this.ns(spec.name);
    await run('ip', 'netns', 'add', namespace);
    await run('ip', '-n', namespace, 'link', 'set', 'lo', 'up');
    const port = `p${spec.ordinal}`;
    await run('ip', '-n', node.namespace, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
    await run('ip', '-n', node.namespace, 'addr', 'add', `${gateway}/30`, 'dev', port);
    await run('ip', '-n', node.namespace, 'link', 'set', port, 'up');
    await run('ip', '-n', namespace, 'addr', 'add', `${ip}/30`, 'dev', 'eth0');
    await run('ip', '-n', namespace, 'link', 'set', 'eth0', 'up');
    await run('ip', '-n', namespace, 'route', 'add', 'default', 'via', gateway);
    const script = join(__dirname, `pod-server${extname(__filename)}`);
    const child = new Child(`pod ${spec.name}`, ['ip', 'netns', 'exec', namespace, ...scriptCommand(script), spec.name, spec.node.name, ip, String(POD_PORT), String(POD_PORT)]);
    this.children.add(child);
    const visits: Visit[] = [];
    const listeners: Array<(visit: Visit) => void> = [];
    child.onLine((line) => {
      if (!line.startsWith('{"transport"')) return;
      const visit = JSON.parse(line) as Visit;
      visits.push(visit);
      for (const listener of listeners) listener(visit);
    });
    await child.waitFor((line) => line === '{"ready":true}', POD_START_TIMEOUT_MS);
    return {
      name: spec.name,
      node: spec.node,
      ip,
      visits,
      onVisit: (listener) => void listeners.push(listener),
      // The pod's own SIGTERM handler finishes open connections within its grace (1 s).
      stop: async () => {
        await child.stop();
        await run('ip', 'netns', 'del', namespace).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stopAgent().catch(() => undefined)));
    await Promise.all([...this.children].map((c) => c.stop().catch(() => undefined)));
    for (const namespace of [...this.namespaces].reverse()) await run('ip', 'netns', 'del', namespace).catch(() => undefined);
    await run('ip', 'link', 'del', this.link).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
    await rm(join(OWNERS, this.id), { force: true });
    process.off('exit', this.onExit);
  }

  /** close() for a process that is ending: synchronous, best effort. */
  private removeNow(): void {
    for (const child of this.children) child.kill();
    for (const namespace of [...this.namespaces].reverse()) spawnSync('ip', ['netns', 'del', namespace]);
    spawnSync('ip', ['link', 'del', this.link]);
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(join(OWNERS, this.id), { force: true });
  }
}

class NamespaceNode implements LocalNode {
  readonly name: string;
  readonly index: number;
  readonly instanceId: string;
  readonly zone: string;
  readonly vpcIp: string;
  readonly address: string;
  readonly mode = 'nftables';
  private agent: Child | undefined;
  private lastLog = '';

  constructor(
    spec: NodeSpec,
    readonly namespace: string,
    private readonly kubeconfigPath: string,
    private readonly track: (child: Child) => void,
  ) {
    ({ name: this.name, index: this.index, instanceId: this.instanceId, zone: this.zone, vpcIp: this.vpcIp } = spec);
    this.address = spec.vpcIp;
  }

  get agentRunning(): boolean {
    return this.agent?.running ?? false;
  }

  async startAgent(): Promise<void> {
    if (this.agentRunning) return;
    const cli = join(__dirname, '..', 'agent', `cli${extname(__filename)}`);
    const agent = new Child(`the agent of ${this.name}`, [
      'ip', 'netns', 'exec', this.namespace, ...scriptCommand(cli),
      '--mode', 'nftables', '--node-name', this.name, '--kubeconfig', this.kubeconfigPath, '--min-sync-interval', '200ms',
    ]);
    this.agent = agent;
    this.track(agent);
    // cli.ts logs this once the first sync has been applied.
    await agent.waitFor((line) => line.includes('"first sync applied"'), FIRST_SYNC_TIMEOUT_MS);
  }

  async stopAgent(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    if (!agent) return;
    await agent.stop();
    this.lastLog = agent.output();
  }

  agentLog(): string {
    return this.agent?.output() ?? this.lastLog;
  }

  close(): Promise<void> {
    return this.stopAgent();
  }
}

/**
 * Each run writes its process id here under its own id. A run that was killed before it
 * could clean up (SIGKILL; tsx kills a child that does not answer a Ctrl-C in time) leaves
 * namespaces named fl<id>-…; the next run removes those whose owner is gone.
 */
const OWNERS = join(tmpdir(), 'ferry-local-namespaces');

async function sweepLeftovers(): Promise<void> {
  const owners = await readdir(OWNERS).catch(() => [] as string[]);
  for (const id of owners) {
    if (!/^[0-9a-f]{6}$/.test(id)) continue;
    const pid = Number(await readFile(join(OWNERS, id), 'utf8').catch(() => '0'));
    if (pid > 0 && alive(pid)) continue;
    const namespaces = (await run('ip', 'netns', 'list')).split('\n').map((line) => line.split(' ')[0]!).filter((name) => name.startsWith(`fl${id}-`));
    for (const namespace of namespaces) {
      // Its agents and pods outlived their owner (they run in process groups of their own).
      const pids = await run('ip', 'netns', 'pids', namespace).catch(() => '');
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await run('ip', 'netns', 'del', namespace).catch(() => undefined);
    }
    await run('ip', 'link', 'del', `fl${id}`).catch(() => undefined);
    await rm(join(OWNERS, id), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function forwarding(namespace: string): Promise<void> {
  await run('ip', '-n', namespace, 'link', 'set', 'lo', 'up');
  for (const setting of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']) {
    await run('ip', 'netns', 'exec', namespace, 'sysctl', '-qw', setting);
  }
}

/** The VPC router of an instance's /24 (AWS's: the subnet's first host address). */
function subnetRouter(ip: string): string {
  return `${ip.split('.').slice(0, 3).join('.')}.1`;
}

/** A /30 in 169.254.0.0/16 with no address of the root namespace in it: root end, VPC router end. */
function freeLink(used: string): { root: string; vpc: string } {
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = 10 + Math.floor(Math.random() * 240);
    const base = 4 * Math.floor(Math.random() * 63);
    if ([0, 1, 2, 3].some((i) => used.includes(` 169.254.${a}.${base + i}/`))) continue;
    return { root: `169.254.${a}.${base + 1}`, vpc: `169.254.${a}.${base + 2}` };
  }
  throw new Error('no free 169.254.0.0/16 /30 for the link to the VPC');
}

/** A 10.<b>.0.0/16 that no address or route of this host touches. */
function freeVpcBase(used: string): number {
  const candidates = Array.from({ length: 50 }, (_, i) => 200 + i).sort(() => Math.random() - 0.5);
  for (const b of candidates) {
    if (!new RegExp(`(^|\\s)10\\.${b}\\.`, 'm').test(used)) return b;
  }
  throw new Error('no free 10.x.0.0/16 for the playground VPC: every candidate is routed on this host');
}

/**
 * The client's address: outside the VPC, as an internet client's is, from a documentation
 * range (RFC 5737) this host neither has nor routes, so no real neighbour is shadowed.
 */
function freeClient(used: string): string {
  for (const net of ['192.0.2', '198.51.100', '203.0.113']) {
    if (new RegExp(`(^|\\s)${net.replace(/\./g, '\\.')}\\.`, 'm').test(used)) continue;
    return `${net}.${2 + Math.floor(Math.random() * 250)}`;
  }
  throw new Error('no documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) is free on this host for the client address');
}
