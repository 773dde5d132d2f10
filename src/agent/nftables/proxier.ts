/**
 * The nftables mode's thin edge: spreads the Services over ferry's tables, plans each table
 * that has something to write (plan.ts), runs the plans with `nft -f -`, remembers what was
 * committed, and clears stale UDP conntrack entries. Everything it writes is decided by
 * pure functions.
 */
import { clearConntrack, staleConntrackFilters } from '../conntrack';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import { Applier } from './apply';
import type { Proxier, ProxyState, ServicePort, SyncResult } from '../types';
import { DEFAULT_TABLES, FAMILIES, fingerprintOf, isAffinitySet, shardOf, shardOfTable, TABLE, tableName, type Family } from './names';
import { emptyChanges, tableContent, updateContent, type TableContent } from './content';
import { planTable, type ListedTable, type PendingDelete } from './plan';
import { renderContext, renderServicePort, type RenderContext, type ServiceRender } from './service';
import { sameBaseChains, type BaseChainSpec } from './tables';

/**
 * A sync writing more than this much text is split into two `nft` processes over disjoint
 * tables, run at once: nft spends most of a large load parsing, on one core
 * (README.md, "Cost"). Each table is still written in one transaction.
 */
const PARALLEL_TEXT_BYTES = 1 << 20;

export interface NftablesOptions {
  log?: (line: string) => void;
  run?: CommandRunner;
  now?: () => number;
  /** Families to program; both by default (IPv4 and IPv6 Services). */
  families?: readonly Family[];
  /** Tables per family that Services are spread over (names.ts, DEFAULT_TABLES). */
  tables?: number;
  /** `nft` processes a large sync may run at once (default 2). */
  parallel?: number;
  /** How much text makes a sync large (default PARALLEL_TEXT_BYTES). */
  parallelBytes?: number;
}

/** The parts of `nft -j` output ferry reads. */
interface NftObject {
  family?: string;
  table?: string;
  name?: string;
  type?: string;
  hook?: string;
  prio?: number;
}

interface TableRecord {
  content: TableContent;
  pending: Map<string, PendingDelete>;
  /** The renders of the service ports the table holds, by key. */
  renders: Map<string, ServiceRender>;
}

interface Planned {
  id: string;
  record: TableRecord;
}

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  private readonly run: CommandRunner;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly families: readonly Family[];
  private readonly tables: number;
  private readonly parallel: number;
  private readonly parallelBytes: number;
  /** By `family table`: what this process last committed to each table. */
  private records = new Map<string, TableRecord>();
  /** The records match the kernel: set by a committed sync, cleared by a failed one. */
  private trusted = false;
  private lastState: ProxyState | undefined;
  /**
   * The last render of each service port, with the port it came from: a full sync renders
   * every port again, and most are unchanged.
   */
  private renders = new Map<string, { port: ServicePort; json?: string; byFamily: Map<Family, ServiceRender | undefined> }>();
  /** What the cached renders were rendered with besides their ports (the masquerading configured, the Node's pod CIDRs). */
  private contexts = new Map<Family, RenderContext>();
  private contextKey = '';

  constructor(options: NftablesOptions = {}) {
    this.run = options.run ?? runCommand;
    this.log = options.log ?? (() => {});
    this.now = options.now ?? Date.now;
    this.families = options.families ?? FAMILIES;
    this.tables = Math.max(1, options.tables ?? DEFAULT_TABLES);
    this.parallel = Math.max(1, options.parallel ?? 2);
    this.parallelBytes = options.parallelBytes ?? PARALLEL_TEXT_BYTES;
  }

  /**
   * A full sync plans every table that exists or is wanted (`ferry` always is); an
   * incremental one only the tables its changed Services live in. Before a full sync of a
   * process that does not know the kernel (start, after a failure) the chain and set names
   * are listed: nothing else.
   */
  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    const full = changed === undefined || !this.trusted;
    this.contexts = new Map(this.families.map((f) => [f, renderContext(state, f)]));
    const contextKey = JSON.stringify([...this.contexts]);
    // A new context (the Node's pod CIDRs changed) makes every cached render stale; the
    // snapshot rebuilds the whole state then, so this is a full sync anyway.
    if (contextKey !== this.contextKey) this.renders.clear();
    this.contextKey = contextKey;
    const planned: Planned[] = [];
    const dropped: string[] = [];
    const applier = new Applier(this.run, this.parallel, this.parallelBytes, this.families.length * (full ? this.tables : Math.min(this.tables, changed!.size)));
    const now = this.now();
    for (const family of this.families) {
      const nodeIPs = state.nodeIPs.filter((ip) => ip.includes(':') === (family === 'ip6'));
      const renderAll = (keys: Iterable<string>) => {
        const out = new Map<string, ServiceRender>();
        for (const key of keys) {
          const port = state.services.get(key);
          const render = port && this.render(key, port, family);
          if (render) out.set(key, render);
        }
        return out;
      };
      /** A table this process committed: its content is updated with the renders that changed. */
      const update = (table: string, record: TableRecord, keys: Iterable<string>, collect: boolean) => {
        const removed: ServiceRender[] = [];
        const added: ServiceRender[] = [];
        for (const key of keys) {
          const port = state.services.get(key);
          const render = port && this.render(key, port, family);
          const old = record.renders.get(key);
          if (old === render) continue;
          if (old) removed.push(old);
          if (render) added.push(render);
          if (render) record.renders.set(key, render);
          else record.renders.delete(key);
        }
        const fingerprint = record.content.fingerprint;
        const changes = emptyChanges();
        updateContent(family, record.content, removed, added, nodeIPs, changes);
        const { tx, pending } = planTable({ family, table, desired: record.content, changes: { changes, fingerprint }, pending: record.pending, now, collect });
        planned.push({ id: `${family} ${table}`, record: { ...record, pending } });
        applier.add(tx.text());
      };
      /** A table listed (or known to be absent): written from its whole content. */
      const write = (table: string, keys: Iterable<string>, listed: ListedTable | 'absent') => {
        const renders = renderAll([...keys].sort());
        const content = tableContent(family, renders.values(), nodeIPs);
        const { tx, pending } = planTable({ family, table, desired: content, listed, pending: this.records.get(`${family} ${table}`)?.pending ?? new Map(), now, collect: true });
        planned.push({ id: `${family} ${table}`, record: { content, pending, renders } });
        applier.add(tx.text());
      };
      if (full) {
        const listed = this.trusted ? undefined : await this.listKernel(family);
        for (const name of listed?.keys() ?? []) if (shardOfTable(name)! >= this.tables) dropped.push(`delete table ${family} ${name}\n`);
        const shards = this.partition(state);
        for (let shard = 0; shard < this.tables; shard++) {
          const table = tableName(shard);
          const keys = shards.get(shard) ?? new Set<string>();
          const record = this.records.get(`${family} ${table}`);
          if (listed === undefined && record !== undefined) {
            update(table, record, new Set([...record.renders.keys(), ...keys]), true);
            continue;
          }
          const found = listed?.get(table);
          if (shard !== 0 && keys.size === 0 && found === undefined) continue;
          write(table, keys, found ?? 'absent');
        }
      } else {
        const byTable = new Map<number, string[]>();
        for (const key of changed!) getOrCreate(byTable, shardOf(key, this.tables), () => []).push(key);
        for (const [shard, keys] of byTable) {
          const table = tableName(shard);
          const record = this.records.get(`${family} ${table}`);
          if (record) update(table, record, keys.sort(), false);
          else if (keys.some((key) => state.services.has(key))) write(table, keys, 'absent');
        }
      }
    }
    try {
      await applier.finish(dropped);
    } catch (err) {
      this.trusted = false;
      throw err;
    }
    for (const p of planned) this.records.set(p.id, p.record);
    this.trusted = true;
    for (const key of this.renders.keys()) if (!state.services.has(key)) this.renders.delete(key);
    // After a restart the previous state is unknown: nothing to compare, nothing cleared.
    if (this.lastState) await clearConntrack(this.run, staleConntrackFilters(this.lastState, state, full ? undefined : changed), this.log);
    this.lastState = state;
    return this.counts();
  }

  /** The service-port keys of each table, by shard. */
  private partition(state: ProxyState): Map<number, Set<string>> {
    const out = new Map<number, Set<string>>();
    for (const key of state.services.keys()) getOrCreate(out, shardOf(key, this.tables), () => new Set()).add(key);
    return out;
  }

  private render(key: string, port: ServicePort, family: Family): ServiceRender | undefined {
    let cached = this.renders.get(key);
    if (cached === undefined) {
      cached = { port, byFamily: new Map() };
      this.renders.set(key, cached);
    } else if (cached.port !== port) {
      // A rebuilt state has new objects for unchanged ports: compared by content, once.
      const json = JSON.stringify(port);
      cached = (cached.json ?? JSON.stringify(cached.port)) === json ? { ...cached, port, json } : { port, json, byFamily: new Map() };
      this.renders.set(key, cached);
    }
    if (!cached.byFamily.has(family)) cached.byFamily.set(family, renderServicePort(port, family, this.contexts.get(family)));
    return cached.byFamily.get(family);
  }

  /** Rules, map elements and endpoints in the tables (metrics). */
  private counts(): SyncResult {
    let rules = 0;
    let endpoints = 0;
    for (const { content, renders } of this.records.values()) {
      for (const chain of content.chains.values()) rules += chain.rules.length;
      for (const elements of content.elements.values()) rules += elements.size;
      for (const render of renders.values()) endpoints += render.endpoints;
    }
    return { rules, endpoints };
  }

  /**
   * The names of the chains and sets in each table of ours: what a restart needs to know
   * which tables hold what (their state chains) and what to retire. Rules and elements are
   * never listed (seconds at scale).
   */
  private async listKernel(family: Family): Promise<Map<string, ListedTable>> {
    /** `fingerprint`: of its state chain of this layout; null for two of them or another layout's. */
    type Found = { chains: Set<string>; sets: Set<string>; base: Map<string, BaseChainSpec>; fingerprint?: string | null };
    const found = new Map<string, Found>();
    const tableOf = (o: NftObject) =>
      o.table !== undefined && shardOfTable(o.table) !== undefined && o.name ? getOrCreate(found, o.table, (): Found => ({ chains: new Set(), sets: new Set(), base: new Map() })) : undefined;
    for (const chain of await this.list(['-j', 'list', 'chains', family], 'chain')) {
      const table = tableOf(chain);
      if (!table) continue;
      if (chain.hook) table.base.set(chain.name!, { type: chain.type!, hook: chain.hook, prio: chain.prio! });
      else {
        const fingerprint = fingerprintOf(chain.name!);
        if (fingerprint !== undefined) table.fingerprint = table.fingerprint === undefined ? fingerprint : null;
        table.chains.add(chain.name!);
      }
    }
    for (const set of await this.list(['-j', '-t', 'list', 'sets', family], 'set')) if (isAffinitySet(set.name ?? '')) tableOf(set)?.sets.add(set.name!);
    return new Map(
      [...found].map(([name, t]) => [
        name,
        { chains: t.chains, sets: t.sets, fingerprint: t.fingerprint ?? undefined, foreign: !sameBaseChains(t.base) || typeof t.fingerprint !== 'string' },
      ]),
    );
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

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}
