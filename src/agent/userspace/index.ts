/**
 * The userspace proxy mode: Node.js TCP and UDP listeners on each NodePort (and, as root,
 * on a local port per ClusterIP port that an nft redirect leads to), each spreading new
 * connections over the Service's endpoints with an IPVS scheduler. See README.md for the
 * behaviour users see (the pod sees the node's address; restarts drain).
 *
 * `sync` reconciles the set of listeners with the state — only the changed service ports
 * on an incremental sync — and then the redirect rules in one nft transaction.
 */
import { clearConntrack } from '../conntrack';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import type { Proxier, ProxyState, Scheduler, SyncResult } from '../types';
import { LiveConnections, type ListenerContext } from './connections';
import { planServicePort, type ListenerSpec, type ServicePlan } from './plan';
import { sourceChoice, type SourceMode } from './sources';
import { CLEANUP_SCRIPT, REDIRECT_MAP, TABLE, parseRedirects, renderDelta, renderTable, staleUdpFilters, type RedirectRules } from './redirect';
import { TcpListener } from './tcp';
import { UdpListener } from './udp';

export interface UserspaceOptions {
  scheduler: Scheduler;
  redirectClusterIPs: boolean;
  udpIdleTimeoutMs?: number;
  log?: (line: string) => void;
  /** How long `close()` lets established TCP connections finish before resetting them. */
  drainTimeoutMs?: number;
  /**
   * Where connections to endpoints come from (sources.ts): `kernel` (the default) as
   * kube-proxy's userspace mode; `loopback` for agents sharing one host on 127/8
   * addresses, so that pods see the node address, or the client's for
   * externalTrafficPolicy Local.
   */
  sources?: SourceMode;
  /** Test seams: the clock affinity uses, and how nft and conntrack run (given one, rules are written even without root). */
  now?: () => number;
  run?: CommandRunner;
}

/** As conntrack's `nf_conntrack_udp_timeout`: a UDP flow idle this long is over. */
export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 30_000;
/** Within Kubernetes' default 30 s termination grace period. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;

export function createUserspaceProxier(options: UserspaceOptions): Proxier {
  return new UserspaceProxier(options);
}

interface Active {
  spec: ListenerSpec;
  listener: TcpListener | UdpListener;
  /** The bound port (the ClusterIP listener's is chosen by the kernel). */
  port: number;
}

interface ServiceEntry {
  listenerIds: Set<string>;
  rejects: string[];
  endpoints: number;
}

export class UserspaceProxier implements Proxier {
  readonly mode = 'userspace' as const;
  private readonly listeners = new Map<string, Active>();
  private readonly services = new Map<string, ServiceEntry>();
  private readonly connections = new LiveConnections();
  private readonly context: ListenerContext;
  /** How nft and conntrack run; undefined when ClusterIPs are not redirected. */
  private readonly run: CommandRunner | undefined;
  /** Redirect element → local port, from a previous agent or an earlier listener: bound again if free. */
  private readonly portHints = new Map<string, number>();
  private applied: RedirectRules | undefined;
  /** The redirects last known in the kernel (a previous agent's, at start), for conntrack cleanup. */
  private kernelRedirects: ReadonlyMap<string, number> = new Map();
  private hintsLoaded = false;
  private closing = false;
  /** SCTP service ports already named in the log (each once while it exists). */
  private readonly sctpNamed = new Set<string>();

  constructor(private readonly options: UserspaceOptions) {
    const log = options.log ?? (() => {});
    this.context = { now: options.now ?? Date.now, log, connections: this.connections };
    const root = process.getuid?.() === 0;
    this.run = options.redirectClusterIPs && (options.run !== undefined || root) ? (options.run ?? runCommand) : undefined;
    if (options.redirectClusterIPs && this.run === undefined) {
      log('userspace: not running as root, so ClusterIPs are not redirected; NodePorts are served');
    }
  }

  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    if (this.closing) throw new Error('userspace proxier is closed');
    await this.loadPortHints();
    const keys = changed ?? new Set([...state.services.keys(), ...this.services.keys()]);
    const planOptions = { defaultScheduler: this.options.scheduler, clusterIPs: this.run !== undefined };
    const plans = new Map<string, ServicePlan>();
    for (const key of keys) {
      const port = state.services.get(key);
      plans.set(key, planServicePort(key, port, state.nodeIPs, planOptions));
      if (port?.protocol !== 'SCTP') this.sctpNamed.delete(key);
      else if (!this.sctpNamed.has(key)) {
        this.sctpNamed.add(key);
        this.context.log(`userspace: ${key} is not served: this mode cannot proxy SCTP (Node.js has no SCTP sockets); the nftables, iptables and ipvs modes can`);
      }
    }

    // Close first, so that a port moving to another Service or address can be bound below.
    for (const [key, plan] of plans) {
      const wanted = new Set(plan.listeners.map((l) => l.id));
      for (const id of this.services.get(key)?.listenerIds ?? []) if (!wanted.has(id)) this.closeListener(id);
    }
    const failures: string[] = [];
    await Promise.all(
      [...plans].map(async ([key, plan]) => {
        const listenerIds = new Set<string>();
        for (const spec of plan.listeners) {
          try {
            await this.ensureListener(spec);
            listenerIds.add(spec.id);
          } catch (err) {
            failures.push(`${spec.id}: ${(err as Error).message}`);
          }
        }
        if (listenerIds.size === 0 && plan.rejects.length === 0) this.services.delete(key);
        else this.services.set(key, { listenerIds, rejects: plan.rejects, endpoints: plan.endpoints });
      }),
    );
    if (this.run !== undefined) await this.applyRedirects(this.run, changed === undefined);
    // Thrown after applying the rest, so one busy port does not hold up other Services;
    // the loop's forced full sync then retries the listener.
    if (failures.length > 0) throw new Error(`userspace: cannot listen: ${failures.join('; ')}`);
    let endpoints = 0;
    for (const entry of this.services.values()) endpoints += entry.endpoints;
    return { rules: this.listeners.size, endpoints };
  }

  async cleanup(): Promise<void> {
    const run = this.options.run ?? (process.getuid?.() === 0 ? runCommand : undefined);
    if (run !== undefined) await runChecked(run, 'nft', ['-f', '-'], CLEANUP_SCRIPT);
    this.applied = undefined;
  }

  /**
   * Stops listening at once — a new agent can bind the ports right away — and lets the
   * established TCP connections finish, resetting those left after `drainTimeoutMs`. UDP
   * sessions end now: their next datagram reaches the new agent. The nft rules stay.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const id of [...this.listeners.keys()]) this.closeListener(id);
    this.services.clear();
    const timeout = this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    if (!(await this.connections.waitIdle(timeout))) {
      this.context.log(`userspace: resetting ${this.connections.size} connections still open after ${timeout} ms`);
      this.connections.abortAll();
    }
  }

  /** Open listeners and live TCP connections, for tests and leak checks. */
  get stats(): { listeners: number; connections: number; udpSessions: number } {
    let udpSessions = 0;
    for (const { listener } of this.listeners.values()) if (listener instanceof UdpListener) udpSessions += listener.sessionCount;
    return { listeners: this.listeners.size, connections: this.connections.size, udpSessions };
  }

  private async ensureListener(spec: ListenerSpec): Promise<void> {
    const active = this.listeners.get(spec.id);
    const source = sourceChoice(this.options.sources ?? 'kernel', spec.address, spec.keepClient);
    if (active !== undefined) {
      active.spec = spec;
      active.listener.update(spec.balancer, source);
      return;
    }
    const listener =
      spec.protocol === 'TCP'
        ? new TcpListener(spec.balancer, this.context, source)
        : new UdpListener(spec.balancer, this.context, this.options.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS, source);
    const hint = spec.redirectKeys.map((k) => this.portHints.get(k)).find((p) => p !== undefined);
    let port: number;
    if (hint !== undefined) {
      port = await listener.listen(spec.address, hint).catch(() => listener.listen(spec.address, 0));
    } else {
      port = await listener.listen(spec.address, spec.port);
    }
    this.listeners.set(spec.id, { spec, listener, port });
    for (const key of spec.redirectKeys) this.portHints.set(key, port);
  }

  private closeListener(id: string): void {
    const active = this.listeners.get(id);
    if (active === undefined) return;
    this.listeners.delete(id);
    active.listener.close();
  }

  private async applyRedirects(run: CommandRunner, full: boolean): Promise<void> {
    const desired = { redirects: new Map<string, number>(), rejects: new Set<string>() };
    for (const entry of this.services.values()) {
      for (const id of entry.listenerIds) {
        const active = this.listeners.get(id)!;
        for (const key of active.spec.redirectKeys) desired.redirects.set(key, active.port);
      }
      for (const key of entry.rejects) desired.rejects.add(key);
    }
    // Hints only matter for ports still redirected or about to be again; drop the rest.
    for (const key of this.portHints.keys()) {
      if (!desired.redirects.has(key) && !desired.rejects.has(key)) this.portHints.delete(key);
    }
    const script = full || this.applied === undefined ? renderTable(desired) : renderDelta(this.applied, desired);
    this.applied = undefined; // until it is known to be in place
    if (script !== '') await runChecked(run, 'nft', ['-f', '-'], script);
    this.applied = desired;
    await clearConntrack(run, staleUdpFilters(this.kernelRedirects, desired.redirects), this.context.log);
    this.kernelRedirects = desired.redirects;
  }

  private async loadPortHints(): Promise<void> {
    if (this.run === undefined || this.hintsLoaded) return;
    this.hintsLoaded = true;
    const result = await this.run('nft', ['-j', 'list', 'map', 'ip', TABLE, REDIRECT_MAP]);
    if (result.code !== 0) return; // no table yet: a first start
    this.kernelRedirects = parseRedirects(result.stdout);
    for (const [key, port] of this.kernelRedirects) this.portHints.set(key, port);
  }
}
