/**
 * The nftables mode's thin edge: plans both families (plan.ts), runs them as one
 * `nft -f -` transaction, remembers what was committed, and clears stale UDP conntrack
 * entries. Everything it writes is decided by pure functions.
 */
import { clearConntrack, staleConntrackFilters } from '../conntrack';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import type { Proxier, ProxyState, ServicePort, SyncResult } from '../types';
import { FAMILIES, isAffinitySet, isServiceChain, TABLE, type Family } from './names';
import { planFull, planIncremental, type FamilyPlan, type PendingDelete, type Renderer } from './plan';
import { renderServicePort, type ServiceRender } from './service';
import { MAP_NAMES, type MapName } from './tables';

export interface NftablesOptions {
  log?: (line: string) => void;
  run?: CommandRunner;
  now?: () => number;
  /** Families to program; both by default (IPv4 and IPv6 Services). */
  families?: readonly Family[];
}

/** The parts of `nft -j` output ferry reads. */
interface NftObject {
  table?: string;
  name?: string;
  type?: string;
  hook?: string;
  prio?: number;
  elem?: Array<[{ concat?: Array<string | number> } | undefined, { goto?: { target: string } } | undefined]>;
}

interface FamilyRecord {
  services: Map<string, ServiceRender>;
  pending: Map<string, PendingDelete>;
}

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  private readonly run: CommandRunner;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly families: readonly Family[];
  private records = new Map<Family, FamilyRecord>();
  /** The records match the kernel: set by a committed sync, cleared by a failed one. */
  private trusted = false;
  private lastState: ProxyState | undefined;
  /**
   * The last render of each service port, with the port it came from. A full sync renders
   * every port again; most are unchanged, and reusing their render (same object) also tells
   * the planner there is nothing to write for them.
   */
  private renders = new Map<string, { port: ServicePort; json: string; byFamily: Map<Family, ServiceRender | undefined> }>();

  constructor(options: NftablesOptions = {}) {
    this.run = options.run ?? runCommand;
    this.log = options.log ?? (() => {});
    this.now = options.now ?? Date.now;
    this.families = options.families ?? FAMILIES;
  }

  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    const full = changed === undefined || !this.trusted;
    const plans = new Map<Family, FamilyPlan>();
    for (const family of this.families) {
      const record = this.records.get(family) ?? { services: new Map(), pending: new Map() };
      const base = { family, state, previous: record.services, pending: record.pending, now: this.now(), render: this.render };
      plans.set(
        family,
        full
          ? planFull({
              ...base,
              // Listing costs seconds at scale (the kernel dumps chains quadratically), so a
              // process lists only when it does not know the kernel: at start, after a failure.
              ...(this.trusted ? { kernel: undefined } : await this.listKernel(family)),
              trusted: this.trusted,
            })
          : planIncremental({ ...base, changed: changed! }),
      );
    }
    const input = [...plans.values()].map((p) => p.tx.text()).join('');
    if (input.length > 0) {
      try {
        await runChecked(this.run, 'nft', ['-f', '-'], input);
      } catch (err) {
        this.trusted = false;
        throw err;
      }
    }
    for (const [family, plan] of plans) this.records.set(family, { services: plan.services, pending: plan.pending });
    this.trusted = true;
    for (const key of this.renders.keys()) if (!state.services.has(key)) this.renders.delete(key);
    // After a restart the previous state is unknown: nothing to compare, nothing cleared.
    if (this.lastState) await clearConntrack(this.run, staleConntrackFilters(this.lastState, state, full ? undefined : changed), this.log);
    this.lastState = state;
    return this.counts();
  }

  private readonly render: Renderer = (key, port, family) => {
    let cached = this.renders.get(key);
    if (cached?.port !== port) {
      const json = JSON.stringify(port);
      if (cached?.json !== json) {
        cached = { port, json, byFamily: new Map() };
      } else cached = { ...cached, port };
      this.renders.set(key, cached);
    }
    if (!cached.byFamily.has(family)) cached.byFamily.set(family, renderServicePort(port, family));
    return cached.byFamily.get(family);
  };

  private counts(): SyncResult {
    let rules = 0;
    let endpoints = 0;
    for (const record of this.records.values()) {
      for (const render of record.services.values()) {
        rules += render.elements.length + render.chains.reduce((n, c) => n + c.rules.length, 0);
        endpoints += render.endpoints;
      }
    }
    return { rules, endpoints };
  }

  /** Our service chains, affinity sets and dispatch map elements in the kernel. */
  private async listKernel(family: Family) {
    const names = (objects: NftObject[]) => objects.filter((o) => o.table === TABLE && o.name).map((o) => o.name!);
    const allChains = (await this.list(['-j', 'list', 'chains', family], 'chain')).filter((o) => o.table === TABLE);
    const chains = names(allChains).filter(isServiceChain);
    const baseChains = new Map(allChains.filter((o) => o.hook).map((o) => [o.name!, { type: o.type!, hook: o.hook!, prio: o.prio! }]));
    const sets = names(await this.list(['-j', '-t', 'list', 'sets', family], 'set')).filter(isAffinitySet);
    const elements = new Map<string, { map: MapName; key: string; value: string }>();
    if (chains.length > 0) {
      for (const map of MAP_NAMES) {
        for (const obj of await this.list(['-j', 'list', 'map', family, TABLE, map], 'map')) {
          for (const [key, value] of obj.elem ?? []) {
            const id = Array.isArray(key?.concat) ? key.concat.join(' . ') : String(key);
            const verdict = value?.goto ? `goto ${value.goto.target}` : Object.keys(value ?? {})[0];
            if (verdict) elements.set(`${map}|${id}`, { map, key: id, value: verdict });
          }
        }
      }
    }
    return { kernel: { chains: new Set(chains), sets: new Set(sets), baseChains }, elements };
  }

  private async list(args: string[], kind: string): Promise<NftObject[]> {
    const out = await runChecked(this.run, 'nft', args);
    const parsed = JSON.parse(out || '{"nftables":[]}') as { nftables?: Array<Record<string, NftObject>> };
    return (parsed.nftables ?? []).flatMap((item) => (item[kind] ? [item[kind]] : []));
  }

  async cleanup(): Promise<void> {
    // add-then-delete: succeeds whether or not the table exists, in one transaction.
    const script = this.families.map((f) => `add table ${f} ${TABLE}\ndelete table ${f} ${TABLE}\n`).join('');
    await runChecked(this.run, 'nft', ['-f', '-'], script);
    this.records.clear();
    this.renders.clear();
    this.trusted = false;
  }

  async close(): Promise<void> {}
}
