/**
 * The nftables mode's thin edge: spreads the Services over ferry's tables, plans each table
 * (plan.ts), runs the plans as one `nft -f -` transaction (a plan that deletes runs on its
 * own, see `applyWithin`), remembers what was committed, and clears stale UDP conntrack
 * entries. Everything it writes is decided by pure functions.
 */
import { clearConntrack, staleConntrackFilters } from '../conntrack';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import type { Proxier, ProxyState, ServicePort, SyncResult } from '../types';
import { DEFAULT_TABLES, FAMILIES, isAffinitySet, isServiceChain, shardOf, shardOfTable, TABLE, tableName, type Family } from './names';
import { planFull, planIncremental, type FamilyPlan, type PendingDelete, type Renderer } from './plan';
import { renderServicePort, type ElementRender, type ServiceRender } from './service';
import { BASE_CHAINS, MAP_NAMES, REJECT_CHAIN, type BaseChainSpec, type MapName } from './tables';

const BASE_CHAIN_NAMES = new Set(BASE_CHAINS.map((c) => c.name));

export interface NftablesOptions {
  log?: (line: string) => void;
  run?: CommandRunner;
  now?: () => number;
  /** Families to program; both by default (IPv4 and IPv6 Services). */
  families?: readonly Family[];
  /** Tables per family that Services are spread over (names.ts, DEFAULT_TABLES). */
  tables?: number;
}

/** The parts of `nft -j` output ferry reads. */
interface NftObject {
  family?: string;
  table?: string;
  name?: string;
  type?: string;
  hook?: string;
  prio?: number;
  elem?: Array<[{ concat?: Array<string | number> } | undefined, { goto?: { target: string } } | undefined]>;
}

interface TableRecord {
  services: Map<string, ServiceRender>;
  pending: Map<string, PendingDelete>;
  tombstones: Map<string, ElementRender>;
  /** Rules and endpoints in `services` (metrics), counted once per write of the table. */
  counts: SyncResult;
}

/** What a listing found in one table of ours. */
interface KernelTable {
  chains: Set<string>;
  sets: Set<string>;
  baseChains?: Map<string, BaseChainSpec>;
  elements: Map<string, { map: MapName; key: string; value: string }>;
}

const EMPTY_KERNEL_TABLE = (): KernelTable => ({ chains: new Set(), sets: new Set(), elements: new Map() });

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  private readonly run: CommandRunner;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly families: readonly Family[];
  private readonly tables: number;
  /** By `family table`: what this process last committed to each table it has set up. */
  private records = new Map<string, TableRecord>();
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
    this.tables = Math.max(1, options.tables ?? DEFAULT_TABLES);
  }

  /**
   * Plans every table that has something to write. A table is set up (a full plan) the
   * first time one of its Services appears, and `ferry` always is; after that an
   * incremental sync writes only the tables its changed Services live in.
   */
  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    const full = changed === undefined || !this.trusted;
    const plans = new Map<string, FamilyPlan>();
    // Tables to start afresh (dropped before the plans that re-create them), and to drop.
    const replaced: string[] = [];
    const retired: string[] = [];
    for (const family of this.families) {
      if (full) {
        // Listing costs seconds at scale (the kernel dumps chains quadratically), so a process
        // lists only when it does not know the kernel: at start, after a failure.
        const kernel = this.trusted ? undefined : await this.listKernel(family);
        for (const [name, listed] of kernel ?? []) {
          if (shardOfTable(name)! >= this.tables) retired.push(`delete table ${family} ${name}\n`);
          // Base chains of another layout (an older ferry's): that table starts afresh, atomically.
          else if ([...(listed.baseChains?.keys() ?? [])].some((chain) => !BASE_CHAIN_NAMES.has(chain))) {
            kernel!.set(name, EMPTY_KERNEL_TABLE());
            replaced.push(`delete table ${family} ${name}\n`);
          }
        }
        this.planFull(family, state, kernel, plans);
      } else this.planIncremental(family, state, changed!, plans);
    }
    const writing = [...plans].filter(([, plan]) => !plan.tx.isEmpty);
    const deleting = writing.filter(([, plan]) => plan.tx.hasDelete);
    const adding = writing.filter(([, plan]) => !plan.tx.hasDelete);
    const rest = [...replaced, ...adding.map(([, plan]) => plan.tx.text()), ...retired].join('');
    // The usual incremental sync writes one table that this process has set up.
    const within = replaced.length + retired.length === 0 && adding.length === 1 && this.trusted && this.records.has(adding[0]![0]) ? adding[0]![0] : undefined;
    try {
      if (within) await this.applyWithin(within, rest);
      else if (rest.length > 0) await runChecked(this.run, 'nft', ['-f', '-'], rest);
      for (const [id, plan] of deleting) await this.applyWithin(id, plan.tx.text());
    } catch (err) {
      this.trusted = false;
      throw err;
    }
    for (const [id, plan] of plans) this.records.set(id, { services: plan.services, pending: plan.pending, tombstones: plan.tombstones, counts: countsOf(plan.services) });
    this.trusted = true;
    for (const key of this.renders.keys()) if (!state.services.has(key)) this.renders.delete(key);
    // After a restart the previous state is unknown: nothing to compare, nothing cleared.
    if (this.lastState) await clearConntrack(this.run, staleConntrackFilters(this.lastState, state, full ? undefined : changed), this.log);
    this.lastState = state;
    return this.counts();
  }

  /** Every table of the family that exists or is wanted. `kernel`: listed (else the records are the truth). */
  private planFull(family: Family, state: ProxyState, kernel: Map<string, KernelTable> | undefined, plans: Map<string, FamilyPlan>): void {
    const shards = this.partition(state);
    for (let shard = 0; shard < this.tables; shard++) {
      const table = tableName(shard);
      const record = this.records.get(`${family} ${table}`);
      const services = shards.get(shard);
      const listed = kernel?.get(table);
      if (shard !== 0 && services === undefined && record === undefined && listed === undefined) continue;
      this.setUp(family, table, { ...state, services: services ?? new Map() }, kernel ? (listed ?? EMPTY_KERNEL_TABLE()) : record ? undefined : EMPTY_KERNEL_TABLE(), plans);
    }
  }

  /** The tables the changed service ports live in; partitioning every Service is for full syncs. */
  private planIncremental(family: Family, state: ProxyState, changed: ReadonlySet<string>, plans: Map<string, FamilyPlan>): void {
    const byTable = new Map<string, Set<string>>();
    for (const key of changed) getOrCreate(byTable, tableName(shardOf(key, this.tables)), () => new Set()).add(key);
    for (const [table, keys] of byTable) {
      const id = `${family} ${table}`;
      const record = this.records.get(id);
      if (record) {
        plans.set(id, planIncremental({ ...this.base(family, table, record), state, changed: keys }));
        continue;
      }
      // The first Services of a table not set up yet: all it will hold is among the changes.
      const services = new Map([...keys].flatMap((key) => (state.services.has(key) ? [[key, state.services.get(key)!]] : [])));
      if (services.size > 0) this.setUp(family, table, { ...state, services }, EMPTY_KERNEL_TABLE(), plans);
    }
  }

  private setUp(family: Family, table: string, state: ProxyState, kernel: KernelTable | undefined, plans: Map<string, FamilyPlan>): void {
    const id = `${family} ${table}`;
    const record = this.records.get(id);
    plans.set(id, planFull({ ...this.base(family, table, record), state, kernel, elements: kernel?.elements, trusted: this.trusted && record !== undefined }));
  }

  private base(family: Family, table: string, record: TableRecord | undefined) {
    return { family, table, previous: record?.services ?? new Map(), pending: record?.pending ?? new Map(), tombstones: record?.tombstones, now: this.now(), render: this.render };
  }

  /**
   * Runs a transaction that stays within one existing table, ending it with a listing of
   * one chain of that table: nft then reads only that table (its cache filter) instead of
   * every table in the netns. That matters twice: before any deletion nft 1.0.x reads every
   * chain of the ruleset, which the kernel serves in quadratic time (seconds at 100,000
   * chains); and for each table it reads nft sets up empty caches worth ~0.35 ms, which at
   * 128 tables is more than the rest of a one-Service change. Should the listed chain be
   * missing (someone removed it), the transaction runs again without the listing: nft
   * aborts a batch whose listing fails before sending any of it.
   */
  private async applyWithin(id: string, text: string): Promise<void> {
    try {
      await runChecked(this.run, 'nft', ['-f', '-'], `${text}list chain ${id} ${REJECT_CHAIN}\n`);
    } catch {
      await runChecked(this.run, 'nft', ['-f', '-'], text);
    }
  }

  /** The service ports of each table, by shard. */
  private partition(state: ProxyState): Map<number, Map<string, ServicePort>> {
    const out = new Map<number, Map<string, ServicePort>>();
    for (const [key, port] of state.services) getOrCreate(out, shardOf(key, this.tables), () => new Map()).set(key, port);
    return out;
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
    for (const { counts } of this.records.values()) {
      rules += counts.rules;
      endpoints += counts.endpoints;
    }
    return { rules, endpoints };
  }

  /** Our service chains, affinity sets and dispatch map elements in the kernel, by table. */
  private async listKernel(family: Family): Promise<Map<string, KernelTable>> {
    const tables = new Map<string, KernelTable>();
    const tableOf = (o: NftObject) => (o.table !== undefined && shardOfTable(o.table) !== undefined && o.name ? getOrCreate(tables, o.table, EMPTY_KERNEL_TABLE) : undefined);
    for (const chain of await this.list(['-j', 'list', 'chains', family], 'chain')) {
      const table = tableOf(chain);
      if (table && chain.hook) (table.baseChains ??= new Map()).set(chain.name!, { type: chain.type!, hook: chain.hook, prio: chain.prio! });
      else if (table && isServiceChain(chain.name!)) table.chains.add(chain.name!);
    }
    for (const set of await this.list(['-j', '-t', 'list', 'sets', family], 'set')) if (isAffinitySet(set.name ?? '')) tableOf(set)?.sets.add(set.name!);
    // One listing of every map in the family (elements included): a call per table costs more.
    if ([...tables.values()].some((table) => table.chains.size > 0)) {
      for (const obj of await this.list(['-j', 'list', 'maps', family], 'map')) {
        const table = obj.table === undefined ? undefined : tables.get(obj.table);
        const map = MAP_NAMES.find((name) => name === obj.name);
        if (table === undefined || map === undefined) continue;
        for (const [key, value] of obj.elem ?? []) {
          const id = Array.isArray(key?.concat) ? key.concat.join(' . ') : String(key);
          const verdict = value?.goto ? `goto ${value.goto.target}` : Object.keys(value ?? {})[0];
          if (verdict) table.elements.set(`${map}|${id}`, { map, key: id, value: verdict });
        }
      }
    }
    return tables;
  }

  private async list(args: string[], kind: string): Promise<NftObject[]> {
    const out = await runChecked(this.run, 'nft', args);
    const parsed = JSON.parse(out || '{"nftables":[]}') as { nftables?: Array<Record<string, NftObject>> };
    return (parsed.nftables ?? []).flatMap((item) => (item[kind] ? [item[kind]] : []));
  }

  async cleanup(): Promise<void> {
    const ours = (await this.list(['-j', 'list', 'tables'], 'table')).filter(
      (t) => t.name !== undefined && shardOfTable(t.name) !== undefined && this.families.includes(t.family as Family),
    );
    // add-then-delete: succeeds whether or not `ferry` exists, in one transaction.
    const script = [
      ...this.families.map((f) => `add table ${f} ${TABLE}\ndelete table ${f} ${TABLE}\n`),
      ...ours.filter((t) => t.name !== TABLE).map((t) => `delete table ${t.family} ${t.name}\n`),
    ].join('');
    await runChecked(this.run, 'nft', ['-f', '-'], script);
    this.records.clear();
    this.renders.clear();
    this.trusted = false;
  }

  async close(): Promise<void> {}
}

function countsOf(services: ReadonlyMap<string, ServiceRender>): SyncResult {
  let rules = 0;
  let endpoints = 0;
  for (const render of services.values()) {
    rules += render.elements.length + render.chains.reduce((n, c) => n + c.rules.length, 0);
    endpoints += render.endpoints;
  }
  return { rules, endpoints };
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}
