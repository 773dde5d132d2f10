/**
 * Endpoint choice for one listener (one IPVS "virtual service"): the scheduler, ClientIP
 * affinity and the per-endpoint connection counts the schedulers read. Pure apart from
 * the state it owns — no sockets, and the clock is passed in — so the unit tests drive
 * it directly.
 *
 * One balancer per listener, not per Service, on purpose: IPVS has a virtual server per
 * ClusterIP and per node address of a NodePort, each with its own rr position, counters
 * and persistence templates, and the userspace mode behaves the same.
 */
import { createScheduler, type RealServer, type SchedulerInstance } from '../schedulers';
import type { Scheduler } from '../types';
import { AffinityTable } from './affinity';

export interface BackendAddress {
  ip: string;
  port: number;
}

/** An endpoint as the scheduler sees it; the counts are live (see ConnectionCount). */
export interface Backend extends RealServer, BackendAddress {
  readonly id: string;
  active: number;
  inactive: number;
}

export interface BalancerConfig {
  scheduler: Scheduler;
  /** ClientIP affinity timeout, or undefined without affinity. */
  affinityTimeoutMs: number | undefined;
  /** The address clients aimed at (ClusterIP or node address): what dh hashes. */
  virtualAddress: string;
  /** Usable endpoints in a stable order (the state sorts them by ip, then port). */
  endpoints: readonly BackendAddress[];
}

export const backendId = (e: BackendAddress): string => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);

/** Expired affinity entries are swept at most this often, so the table stays bounded. */
const SWEEP_INTERVAL_MS = 60_000;

export class Balancer {
  private backends: Backend[] = [];
  private readonly byId = new Map<string, Backend>();
  private scheduler: SchedulerInstance;
  private affinity: AffinityTable | undefined;
  private virtualAddress = '';
  private lastSweep = 0;

  constructor(config: BalancerConfig) {
    this.scheduler = createScheduler(config.scheduler);
    this.update(config);
  }

  /**
   * Applies a new endpoint list and settings. Endpoints that stay keep their counts (and
   * rr its position); removed ones are forgotten, so no new connection goes to them while
   * the connections they already have carry on (draining).
   */
  update(config: BalancerConfig): void {
    if (config.scheduler !== this.scheduler.name) this.scheduler = createScheduler(config.scheduler);
    this.virtualAddress = config.virtualAddress;
    const next: Backend[] = [];
    const seen = new Set<string>();
    for (const e of config.endpoints) {
      const id = backendId(e);
      if (seen.has(id)) continue;
      seen.add(id);
      next.push(this.byId.get(id) ?? { id, ip: e.ip, port: e.port, active: 0, inactive: 0 });
    }
    const changed = next.length !== this.backends.length || next.some((b, i) => b !== this.backends[i]);
    if (changed) {
      // A new array only when the list changed: dh/sh rebuild their tables on a new list.
      this.backends = next;
      this.byId.clear();
      for (const b of next) this.byId.set(b.id, b);
    }
    if (config.affinityTimeoutMs === undefined) {
      this.affinity = undefined;
    } else if (this.affinity === undefined) {
      this.affinity = new AffinityTable(config.affinityTimeoutMs);
    } else {
      // Entries pinned to removed endpoints are ignored by pick and dropped by the sweep.
      this.affinity.setTimeout(config.affinityTimeoutMs);
    }
  }

  get endpoints(): readonly Backend[] {
    return this.backends;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * The endpoint for a new connection from `client`: its pinned endpoint if affinity holds
   * one, else the scheduler's choice. `tried` holds endpoints that already failed for this
   * connection; they are skipped until every endpoint has been tried.
   */
  pick(client: string, now: number, tried: ReadonlySet<string> = EMPTY): Backend | undefined {
    this.maybeSweep(now);
    const pinned = this.affinity?.lookup(client, now);
    if (pinned !== undefined && !tried.has(pinned)) {
      const backend = this.byId.get(pinned);
      if (backend !== undefined) return backend;
    }
    let candidates: readonly Backend[] = this.backends;
    if (tried.size > 0) {
      const untried = this.backends.filter((b) => !tried.has(b.id));
      if (untried.length > 0) candidates = untried;
    }
    return this.scheduler.pick(candidates, { source: client, destination: this.virtualAddress });
  }

  /** A connection to `backend` succeeded: (re)pin the client, restarting its timeout. */
  connected(client: string, backend: Backend, now: number): void {
    this.affinity?.record(client, backend.id, now);
  }

  /** Affinity entries held (for tests and leak checks). */
  get affinityEntries(): number {
    return this.affinity?.size ?? 0;
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    this.affinity?.sweep(now, new Set(this.byId.keys()));
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * IPVS connection accounting for one proxied connection: it counts as inactive while
 * connecting, active while established, inactive again once either side has closed, and
 * leaves the counts when it ends. UDP sessions never become established, as in IPVS.
 */
export class ConnectionCount {
  private state: 'connecting' | 'established' | 'closing' | 'released' = 'connecting';

  constructor(readonly backend: Backend) {
    backend.inactive++;
  }

  established(): void {
    if (this.state !== 'connecting') return;
    this.backend.inactive--;
    this.backend.active++;
    this.state = 'established';
  }

  halfClosed(): void {
    if (this.state !== 'established') return;
    this.backend.active--;
    this.backend.inactive++;
    this.state = 'closing';
  }

  release(): void {
    if (this.state === 'released') return;
    if (this.state === 'established') this.backend.active--;
    else this.backend.inactive--;
    this.state = 'released';
  }
}
