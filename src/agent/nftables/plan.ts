/**
 * What to write for one family on a sync: pure functions from the desired state, what
 * this process last committed and (on a full sync) what the kernel holds, to one
 * {@link Transaction}.
 *
 * - Full sync: the fixed objects and every map element are rewritten; a service chain is
 *   written unless it exists and is known to hold exactly its rules (content-addressed
 *   endpoint chains always do; policy chains when this process wrote them, `trusted`);
 *   chains and affinity sets of ours that nothing wants are retired.
 * - Incremental sync: only the changed service ports' chains, sets and map elements.
 *   It never deletes a map element unless a key changes hands: a removed service port's
 *   elements stay as tombstones pointing at its emptied dispatch chains (an empty chain
 *   sends the packet on un-NATed, as if no rule matched), and the next full sync deletes
 *   them. Deleting elements costs a dump of the whole ruleset (service.ts).
 *
 * Retired objects are deleted at least a second later, as kube-proxy does: before Linux 6.2
 * a chain that a just-deleted map element pointed to cannot be deleted right away. Deleting
 * waits for a transaction that deletes anyway (an element) or for the next full sync,
 * because any deletion makes nft read the whole table first.
 */
import type { ProxyState, ServicePort } from '../types';
import { CHAIN_PREFIX, type Family } from './names';
import { renderServicePort, type ChainRender, type ElementRender, type ServiceRender } from './service';
import { addrType, MAP_NAMES, mapDeclaration, writeSetup, type BaseChainSpec, type MapName } from './tables';
import { Transaction } from './transaction';

export const STALE_DELETE_DELAY_MS = 1000;

export interface PendingDelete {
  kind: 'chain' | 'set';
  /** When it was emptied (ms). */
  since: number;
}

/** Renders one service port in one family (default renderServicePort; the proxier passes a cache). */
export type Renderer = (key: string, port: ServicePort, family: Family) => ServiceRender | undefined;

export interface FamilyInput {
  family: Family;
  /** The table written (default `ferry`): the proxier spreads Services over several. */
  table?: string;
  state: ProxyState;
  /** What this process last committed, by service-port map key. */
  previous: ReadonlyMap<string, ServiceRender>;
  /** Flushed chains and sets waiting to be deleted, by name. */
  pending: ReadonlyMap<string, PendingDelete>;
  /** Elements of removed service ports left in the kernel, by `map|key`. */
  tombstones?: ReadonlyMap<string, ElementRender>;
  now: number;
  render?: Renderer;
}

export interface FullInput extends FamilyInput {
  /**
   * The service chains and affinity sets in the kernel, listed before the sync. Undefined
   * means "not listed": then `previous` and `pending` are taken as the truth.
   */
  kernel: { chains: ReadonlySet<string>; sets: ReadonlySet<string>; baseChains?: ReadonlyMap<string, BaseChainSpec> } | undefined;
  /** `previous` is known to match the kernel, so unchanged chains need not be rewritten. */
  trusted: boolean;
  /** The dispatch maps' elements in the kernel, by `map|key` (listed with `kernel`); undefined: those of `previous`. */
  elements?: ReadonlyMap<string, ElementRender>;
}

export interface IncrementalInput extends FamilyInput {
  changed: ReadonlySet<string>;
}

export interface FamilyPlan {
  tx: Transaction;
  services: Map<string, ServiceRender>;
  pending: Map<string, PendingDelete>;
  tombstones: Map<string, ElementRender>;
}

export function planFull(input: FullInput): FamilyPlan {
  const tx = new Transaction(input.family, input.table);
  // What exists: the kernel's listing, or (trusted, not listed) what this process committed.
  const present = input.kernel ?? known(input.previous, input.pending, input.tombstones);
  // Only what exists can be deleted; anything else someone removed already.
  const pending = new Map([...input.pending].filter(([name]) => present.chains.has(name) || present.sets.has(name)));
  writeSetup(tx, input.state.nodeIPs.filter((ip) => ip.includes(':') === (input.family === 'ip6')), {
    existingBaseChains: input.kernel?.baseChains,
    creating: input.kernel !== undefined && input.kernel.chains.size === 0 && (input.kernel.baseChains?.size ?? 0) === 0,
  });
  const services = renderAll(input.state, input.family, input.render);
  const wantedChains = new Set<string>();
  const wantedSets = new Set<string>();
  const wantedElements = new Map<string, ElementRender>();
  for (const [key, render] of services) {
    const previous = input.previous.get(key);
    // The very render committed last time (the proxier caches renders): nothing to write.
    const same = input.trusted && previous === render;
    const before = input.trusted && !same ? chainsByName(previous) : undefined;
    for (const set of render.affinitySets) {
      wantedSets.add(set.name);
      if (!same && !present.sets.has(set.name)) declareAffinitySet(tx, set);
      pending.delete(set.name);
    }
    for (const chain of render.chains) {
      wantedChains.add(chain.name);
      if (!same) {
        const exists = present.chains.has(chain.name);
        writeWanted(tx, chain, exists, exists && !pending.has(chain.name) && sameRules(before?.get(chain.name), chain));
      }
      pending.delete(chain.name);
    }
    for (const e of render.elements) wantedElements.set(`${e.map}|${e.key}`, e);
  }
  // Map elements are reconciled, not flushed: nft 1.0.x reads every chain of the table
  // before `flush map` (seconds at scale), and a diff is empty when nothing changed.
  const current = input.elements ?? new Map([...elementsOf(input.previous), ...(input.tombstones ?? [])]);
  const stale: Record<string, string[]> = {};
  const missing: ElementRender[] = [];
  for (const [id, e] of current) if (wantedElements.get(id)?.value !== e.value) (stale[e.map] ??= []).push(e.key);
  for (const [id, e] of wantedElements) if (current.get(id)?.value !== e.value) missing.push(e);
  for (const map of MAP_NAMES) tx.deleteMapElements(map, stale[map] ?? []);
  for (const map of MAP_NAMES) tx.addMapElements(map, mapDeclaration(input.family, map), missing.filter((e) => e.map === map));
  for (const name of present.chains) if (!wantedChains.has(name)) retire(tx, pending, name, 'chain', input.now);
  for (const name of present.sets) if (!wantedSets.has(name)) retire(tx, pending, name, 'set', input.now);
  deleteDue(tx, pending, input.now, true);
  return { tx, services, pending, tombstones: new Map() };
}

/** Map elements by `map|key`, as a set of renders holds them. */
export function elementsOf(renders: ReadonlyMap<string, ServiceRender>): Map<string, ElementRender> {
  const out = new Map<string, ElementRender>();
  for (const render of renders.values()) for (const e of render.elements) out.set(`${e.map}|${e.key}`, e);
  return out;
}

export function planIncremental(input: IncrementalInput): FamilyPlan {
  const tx = new Transaction(input.family, input.table);
  const pending = new Map(input.pending);
  const services = new Map(input.previous);
  const tombstones = new Map(input.tombstones);
  // Emptied dispatch chains that tombstones still point at: they exist, and cannot go yet.
  const tombstoneChains = new Set([...tombstones.values()].map((e) => targetOf(e.value)));
  const changes = [...input.changed].sort().map((key) => {
    const port = input.state.services.get(key);
    return { key, before: input.previous.get(key), after: port ? (input.render ?? defaultRender)(key, port, input.family) : undefined };
  });
  // Elements first, over all changes at once: a key one port gives up may be the key another
  // port takes in the same sync.
  const removed: ElementRender[] = [];
  const added: ElementRender[] = [];
  const byId = (render: ServiceRender | undefined) => new Map(render?.elements.map((e) => [`${e.map}|${e.key}`, e]));
  for (const { before, after } of changes) {
    const now = byId(after);
    for (const [id, e] of byId(before)) {
      const next = now.get(id);
      if (next === undefined) tombstones.set(id, e);
      else if (next.value !== e.value) removed.push(e);
    }
  }
  for (const { before, after } of changes) {
    const old = byId(before);
    for (const [id, e] of byId(after)) {
      if (old.get(id)?.value === e.value) continue;
      const left = tombstones.get(id);
      tombstones.delete(id);
      // This very port's tombstone (a Service deleted and re-created): the element is in place.
      if (left?.value === e.value) continue;
      if (left) removed.push(left);
      added.push(e);
    }
  }
  // A tombstone must not lead into a chain that is live again (a port whose number changed,
  // a Service re-created with another ClusterIP): that key has to go now.
  const live = new Set(changes.flatMap((c) => c.after?.chains.map((chain) => chain.name) ?? []));
  for (const [id, e] of tombstones) {
    if (live.has(targetOf(e.value))) {
      removed.push(e);
      tombstones.delete(id);
    }
  }
  const stillReferenced = new Set([...tombstones.values()].map((e) => targetOf(e.value)));
  const retiredChains: string[] = [];
  const retiredSets: string[] = [];
  for (const { key, before, after } of changes) {
    if (after) services.set(key, after);
    else services.delete(key);
    const oldChains = chainsByName(before);
    const oldSets = new Set(before?.affinitySets.map((s) => s.name));
    for (const set of after?.affinitySets ?? []) {
      if (!oldSets.has(set.name) && !pending.has(set.name)) declareAffinitySet(tx, set);
      pending.delete(set.name);
    }
    for (const chain of after?.chains ?? []) {
      // A retired chain waiting for deletion still exists (emptied unless content-addressed).
      const exists = oldChains.has(chain.name) || pending.has(chain.name) || tombstoneChains.has(chain.name);
      writeWanted(tx, chain, exists, oldChains.has(chain.name) && sameRules(oldChains.get(chain.name), chain));
      pending.delete(chain.name);
      tombstoneChains.delete(chain.name);
    }
    const newChains = new Set(after?.chains.map((c) => c.name));
    for (const name of oldChains.keys()) if (!newChains.has(name)) retiredChains.push(name);
    const newSets = new Set(after?.affinitySets.map((s) => s.name));
    for (const name of oldSets) if (!newSets.has(name)) retiredSets.push(name);
  }
  // A tombstone replaced by another port's element: its emptied chain can go now.
  for (const name of tombstoneChains) if (!stillReferenced.has(name)) retiredChains.push(name);
  for (const map of MAP_NAMES) tx.deleteMapElements(map, removed.filter((e) => e.map === map).map((e) => e.key));
  for (const map of MAP_NAMES) {
    const mine = added.filter((e) => e.map === map);
    if (mine.length > 0) tx.addMapElements(map, mapDeclaration(input.family, map), mine);
  }
  for (const name of retiredChains) {
    // Pointed at by a tombstone: emptied now, deleted with the tombstone at the next full sync.
    if (stillReferenced.has(name)) tx.flushChain(name);
    else retire(tx, pending, name, 'chain', input.now);
  }
  for (const name of retiredSets) retire(tx, pending, name, 'set', input.now);
  deleteDue(tx, pending, input.now, false);
  return { tx, services, pending, tombstones };
}

/** The chain a `goto NAME` verdict names. */
function targetOf(verdict: string): string {
  return verdict.startsWith('goto ') ? verdict.slice('goto '.length) : verdict;
}

const defaultRender: Renderer = (_key, port, family) => renderServicePort(port, family);

export function renderAll(state: ProxyState, family: Family, renderer: Renderer = defaultRender): Map<string, ServiceRender> {
  const out = new Map<string, ServiceRender>();
  for (const [key, port] of state.services) {
    const render = renderer(key, port, family);
    if (render) out.set(key, render);
  }
  return out;
}

function declareAffinitySet(tx: Transaction, set: { name: string; timeoutSeconds: number }): void {
  // `dynamic` although the docs call it optional: without it some kernels add it later and
  // the next identical declaration is refused (kube-proxy's comment on RHEL 8).
  tx.declareSet(set.name, `type ${addrType(tx.family)} ; flags dynamic,timeout ; timeout ${set.timeoutSeconds}s`);
}

/**
 * Makes a wanted chain hold its rules. A content-addressed chain that exists already holds
 * them (retired ones are never emptied); another is left alone when `unchanged`, else
 * emptied and refilled.
 */
function writeWanted(tx: Transaction, chain: ChainRender, exists: boolean, unchanged: boolean): void {
  if (exists && (chain.immutable || unchanged)) return;
  if (exists) tx.flushChain(chain.name);
  tx.addChain(chain.name, chain.rules);
}

/**
 * A chain or set nothing wants any more: queued for deletion. Policy chains are emptied at
 * once so they stop referencing endpoint chains; endpoint chains and affinity sets are
 * unreachable already and stay intact, so that a name that exists always has its content
 * (a restarted agent can trust them).
 */
function retire(tx: Transaction, pending: Map<string, PendingDelete>, name: string, kind: PendingDelete['kind'], now: number): void {
  if (pending.has(name)) return;
  if (kind === 'chain' && !name.startsWith(CHAIN_PREFIX.endpoint)) tx.flushChain(name);
  pending.set(name, { kind, since: now });
}

/** The chains and sets this process believes exist: committed ones, tombstones' and those awaiting deletion. */
function known(previous: ReadonlyMap<string, ServiceRender>, pending: ReadonlyMap<string, PendingDelete>, tombstones: ReadonlyMap<string, ElementRender> = new Map()) {
  const chains = new Set([...tombstones.values()].map((e) => targetOf(e.value)));
  const sets = new Set<string>();
  for (const render of previous.values()) {
    for (const c of render.chains) chains.add(c.name);
    for (const s of render.affinitySets) sets.add(s.name);
  }
  for (const [name, p] of pending) (p.kind === 'chain' ? chains : sets).add(name);
  return { chains, sets };
}

function deleteDue(tx: Transaction, pending: Map<string, PendingDelete>, now: number, fullSync: boolean): void {
  if (!fullSync && !tx.hasDelete) return;
  const due = [...pending].filter(([, p]) => now - p.since >= STALE_DELETE_DELAY_MS);
  // Chains first: an affinity set is referenced from chain rules, already flushed.
  for (const [name, p] of due) if (p.kind === 'chain') tx.deleteChain(name);
  for (const [name, p] of due) if (p.kind === 'set') tx.deleteSet(name);
  for (const [name] of due) pending.delete(name);
}

function chainsByName(render: ServiceRender | undefined): Map<string, ChainRender> {
  return new Map(render?.chains.map((c) => [c.name, c]));
}

function sameRules(a: ChainRender | undefined, b: ChainRender): boolean {
  return a !== undefined && a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);
}
