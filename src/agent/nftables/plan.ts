/**
 * What to write to one table on a sync: pure functions from the table's desired content,
 * what this process last committed to it (or, after a restart or a failure, what a listing
 * of chain and set names found) to one {@link Transaction}.
 *
 * - Known table (this process committed it): the difference — chains added, rewritten or
 *   retired, affinity sets declared or retired, map elements deleted and added.
 * - Listed table whose state chain carries the fingerprint of the desired content: it holds
 *   exactly that; nothing is written. Another fingerprint: every map and set of elements
 *   is flushed and refilled and every chain that is not content-addressed is rewritten, in
 *   one transaction, so traffic sees the old rules until the new ones are complete.
 *   Nothing of the maps is read back: listing their elements costs seconds at scale.
 * - Missing table, or one of another layout: created (replacing the old one atomically).
 *
 * Retired chains and sets are deleted at least a second later, as kube-proxy does: before
 * Linux 6.2 a chain that a just-deleted map element pointed to cannot be deleted at once.
 * Dynamic affinity sets are never flushed: clients stay pinned across syncs and restarts.
 */
import { sameRules, type ContentChanges, type TableContent } from './content';
import { CHAIN_PREFIX, isContentAddressed, STATE_PREFIX, stateChain, type Family } from './names';
import type { ChainRender } from './service';
import { addrType, BASE_CHAINS, baseChainHook, declaration, ELEMENT_MAPS, isSet, SCTP_MAPS, type ElementMap } from './tables';
import { Transaction } from './transaction';

export const STALE_DELETE_DELAY_MS = 1000;

export interface PendingDelete {
  kind: 'chain' | 'set';
  /** When it was retired (ms). */
  since: number;
}

/** What a listing found in one table of ours: names only, which nft lists cheaply. */
export interface ListedTable {
  chains: ReadonlySet<string>;
  sets: ReadonlySet<string>;
  /** The table's state chain, if it has one of this layout. */
  fingerprint: string | undefined;
  /** It cannot be brought up to date in place (another layout's base chains or state chain, or none): replace it. */
  foreign: boolean;
}

export interface TableInput {
  family: Family;
  table: string;
  desired: TableContent;
  /** What changed since this process committed the table (then its record is the truth), with the fingerprint committed. */
  changes?: { changes: ContentChanges; fingerprint: string };
  /** Otherwise, what a listing found; `absent` when the table does not exist. */
  listed?: ListedTable | 'absent';
  pending: ReadonlyMap<string, PendingDelete>;
  now: number;
  /** Delete the retired objects that are due even when nothing else changes (full syncs). */
  collect: boolean;
}

export interface TablePlan {
  tx: Transaction;
  pending: Map<string, PendingDelete>;
}

export function planTable(input: TableInput): TablePlan {
  const { desired, family } = input;
  const tx = new Transaction(family, input.table);
  const pending = new Map(input.pending);
  if (input.changes) {
    writeChanges(tx, pending, input.changes.changes, desired, input.now);
    if (input.changes.fingerprint !== desired.fingerprint) {
      tx.addChain(stateChain(desired.fingerprint));
      tx.deleteChain(stateChain(input.changes.fingerprint));
    }
  } else if (input.listed === undefined) {
    throw new Error(`planTable ${input.table}: neither changes nor a listing`);
  } else if (input.listed === 'absent' || input.listed.foreign) {
    if (input.listed !== 'absent') tx.deleteTable();
    pending.clear();
    tx.addTable('ferry node agent: Service proxying (do not edit)');
    const maps = mapsOf(desired, false);
    declareAll(tx, maps);
    writeAll(tx, pending, desired, undefined, maps);
    tx.addChain(stateChain(desired.fingerprint));
    for (const chain of BASE_CHAINS) tx.addChain(chain.name, chain.rules, baseChainHook(chain));
    return { tx, pending };
  } else {
    const found = input.listed;
    // Only what exists can be waiting for deletion.
    for (const [name, p] of pending) if (!(p.kind === 'chain' ? found.chains : found.sets).has(name)) pending.delete(name);
    if (found.fingerprint !== desired.fingerprint) {
      const maps = mapsOf(desired, true);
      declareAll(tx, maps);
      writeAll(tx, pending, desired, found, maps);
      tx.addChain(stateChain(desired.fingerprint));
      for (const name of found.chains) if (name.startsWith(STATE_PREFIX) && name !== stateChain(desired.fingerprint)) tx.deleteChain(name);
    }
    for (const name of found.chains) if (!desired.chains.has(name) && !name.startsWith(STATE_PREFIX)) retire(tx, pending, name, 'chain', input.now);
    for (const name of found.sets) if (!desired.affinitySets.has(name)) retire(tx, pending, name, 'set', input.now);
  }
  if (input.collect || !tx.isEmpty) deleteDue(tx, pending, input.now);
  return { tx, pending };
}

/**
 * The maps and sets a write declares: every table's, and the SCTP maps where they are
 * needed. A refill (`refill`) declares and flushes the SCTP maps too, whether or not the
 * listed table had them (declaring is idempotent): a map of an earlier SCTP Service must
 * not keep elements the new content does not hold.
 */
function mapsOf(desired: TableContent, refill: boolean): ElementMap[] {
  const sctp = refill || SCTP_MAPS.some((m) => desired.elements.get(m)!.size > 0);
  return [...ELEMENT_MAPS, ...(sctp ? SCTP_MAPS : [])];
}

function declareAll(tx: Transaction, maps: readonly ElementMap[]): void {
  for (const map of maps) tx.declare(isSet(map) ? 'set' : 'map', map, declaration(tx.family, map));
}

/**
 * Writes all of `desired`: into a new table, or (`found`) into a listed table of this
 * layout with other content, in one transaction. There, chains that are not
 * content-addressed are rewritten (their rules were not listed), and the maps are flushed
 * and refilled (their elements were not listed either).
 */
function writeAll(tx: Transaction, pending: Map<string, PendingDelete>, desired: TableContent, found: ListedTable | undefined, maps: readonly ElementMap[]): void {
  for (const [name, timeout] of desired.affinitySets) {
    if (!found?.sets.has(name)) declareAffinitySet(tx, name, timeout);
    pending.delete(name);
  }
  for (const chain of inWriteOrder(desired.chains.values())) {
    const exists = found?.chains.has(chain.name) ?? false;
    pending.delete(chain.name);
    if (exists && chain.immutable) continue;
    if (exists) tx.flushChain(chain.name);
    tx.addChain(chain.name, chain.rules);
  }
  for (const map of maps) {
    const kind = isSet(map) ? 'set' : 'map';
    if (found) tx.flush(kind, map);
    const items = desired.elements.get(map)!;
    if (items.size > 0) tx.addElements(kind, map, declaration(tx.family, map), items);
  }
}

/** Writes what an update of the content changed. */
function writeChanges(tx: Transaction, pending: Map<string, PendingDelete>, changes: ContentChanges, desired: TableContent, now: number): void {
  // An SCTP map gaining elements may not exist yet, and the chains written below use it.
  for (const map of SCTP_MAPS) {
    const items = desired.elements.get(map)!;
    if ([...changes.elements.get(map)!.keys()].some((key) => items.has(key))) tx.declare('map', map, declaration(tx.family, map));
  }
  for (const [name, before] of changes.sets) {
    const after = desired.affinitySets.get(name);
    if (before === undefined && after !== undefined) {
      if (!pending.has(name)) declareAffinitySet(tx, name, after);
      pending.delete(name);
    }
  }
  const written: ChainRender[] = [];
  for (const [name, before] of changes.chains) {
    const after = desired.chains.get(name);
    if (after !== undefined && (before === undefined || !sameRules(before, after))) written.push(after);
  }
  for (const chain of inWriteOrder(written)) {
    // A retired chain waiting for deletion still exists (emptied unless content-addressed).
    const exists = changes.chains.get(chain.name) !== undefined || pending.has(chain.name);
    pending.delete(chain.name);
    if (exists && chain.immutable) continue;
    if (exists) tx.flushChain(chain.name);
    tx.addChain(chain.name, chain.rules);
  }
  // Deletions first, over every map: a key whose value changes is deleted and added again.
  for (const [map, touched] of changes.elements) {
    const now = desired.elements.get(map)!;
    const stale: string[] = [];
    for (const [key, before] of touched) if (before !== undefined && now.get(key) !== before) stale.push(key);
    if (stale.length > 0) tx.deleteElements(map, stale);
  }
  for (const [map, touched] of changes.elements) {
    const now = desired.elements.get(map)!;
    const added: Array<[string, string]> = [];
    for (const [key, before] of touched) {
      const after = now.get(key);
      if (after !== undefined && after !== before) added.push([key, after]);
    }
    if (added.length > 0) tx.addElements(isSet(map) ? 'set' : 'map', map, declaration(tx.family, map), added);
  }
  for (const [name, before] of changes.chains) if (before !== undefined && !desired.chains.has(name)) retire(tx, pending, name, 'chain', now);
  for (const [name, before] of changes.sets) if (before !== undefined && !desired.affinitySets.has(name)) retire(tx, pending, name, 'set', now);
}

/** Chains that only reference maps and sets first, then policy chains, then what jumps to those. */
function inWriteOrder(chains: Iterable<ChainRender>): ChainRender[] {
  const rank = (c: ChainRender) => (c.immutable ? 0 : c.name.startsWith(CHAIN_PREFIX.cluster) || c.name.startsWith(CHAIN_PREFIX.local) ? 1 : 2);
  return [...chains].sort((a, b) => rank(a) - rank(b));
}

function declareAffinitySet(tx: Transaction, name: string, timeoutSeconds: number): void {
  // `dynamic` although the docs call it optional: without it some kernels add it later and
  // the next identical declaration is refused (kube-proxy's comment on RHEL 8).
  tx.declare('set', name, `type ${addrType(tx.family)} ; flags dynamic,timeout ; timeout ${timeoutSeconds}s`);
}

/**
 * A chain or set nothing wants any more: queued for deletion. Chains are emptied at once so
 * they stop referencing others, except content-addressed ones, which stay intact until
 * deleted so that a name that exists always has its content (a restarted agent trusts them).
 */
function retire(tx: Transaction, pending: Map<string, PendingDelete>, name: string, kind: PendingDelete['kind'], now: number): void {
  if (pending.has(name)) return;
  if (kind === 'chain' && !isContentAddressed(name)) tx.flushChain(name);
  pending.set(name, { kind, since: now });
}

function deleteDue(tx: Transaction, pending: Map<string, PendingDelete>, now: number): void {
  const due = [...pending].filter(([, p]) => now - p.since >= STALE_DELETE_DELAY_MS);
  // Chains first: an affinity set is referenced from endpoint chains.
  for (const [name, p] of due) if (p.kind === 'chain') tx.deleteChain(name);
  for (const [name, p] of due) if (p.kind === 'set') tx.deleteSet(name);
  for (const [name] of due) pending.delete(name);
}

