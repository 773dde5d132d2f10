/**
 * What one of ferry's tables holds, as data: built from the renders of its service ports,
 * updated render by render, and fingerprinted so a restarted agent can tell from a chain's
 * name whether the kernel holds it (README.md, "Restart").
 */
import { createHash } from 'node:crypto';
import { assertAddress } from '../state';
import type { Family } from './names';
import type { ChainRender, ServiceRender } from './service';
import { ALL_ELEMENT_MAPS, fixedChains, HAIRPIN, NODEPORT_IPS, type ElementMap } from './tables';

/**
 * Everything ferry writes into one table, apart from its base chains and the affinity
 * sets' dynamic members, kept up to date render by render: an incremental sync touches
 * only what its Services own. The records of this process are mutated in place; after a
 * failed sync they are not trusted again (the next sync lists the kernel).
 */
export interface TableContent {
  /** Helper, shared and Service chains, by name, in write order. */
  chains: Map<string, ChainRender>;
  /** How many renders use each chain (shared chains are used by many). */
  chainRefs: Map<string, number>;
  /** Affinity sets: name → timeout in seconds. */
  affinitySets: Map<string, number>;
  /** Elements of each map and set: key → value (empty for a set). */
  elements: Map<ElementMap, Map<string, string>>;
  /** How many renders hold each `hairpin` element (an endpoint may back several Services). */
  hairpinRefs: Map<string, number>;
  nodeIPs: string[];
  /** The sum of the renders' digests, mod 2^64: the fingerprint without the fixed part. */
  sum: bigint;
  /** A digest of everything written: the state chain's name carries it. */
  fingerprint: string;
}

/** What an update changed: the value each touched name had before (undefined: absent). */
export interface ContentChanges {
  chains: Map<string, ChainRender | undefined>;
  sets: Map<string, number | undefined>;
  elements: Map<ElementMap, Map<string, string | undefined>>;
}

export function emptyContent(family: Family): TableContent {
  const content: TableContent = {
    chains: new Map(fixedChains(family).map((c) => [c.name, { ...c, immutable: false }])),
    chainRefs: new Map(),
    affinitySets: new Map(),
    elements: new Map(ALL_ELEMENT_MAPS.map((m) => [m, new Map()])),
    hairpinRefs: new Map(),
    nodeIPs: [],
    sum: 0n,
    fingerprint: '',
  };
  content.fingerprint = fingerprintOf(family, content);
  return content;
}

/** The table's content from the renders of its service ports (in key order) and the node's addresses. */
export function tableContent(family: Family, renders: Iterable<ServiceRender>, nodeIPs: readonly string[]): TableContent {
  const content = emptyContent(family);
  updateContent(family, content, [], renders, nodeIPs, undefined);
  return content;
}

/**
 * Replaces renders `removed` by renders `added` in `content` (in place) and sets the node
 * addresses; records in `changes`, when given, what each touched name held before.
 */
export function updateContent(
  family: Family,
  content: TableContent,
  removed: Iterable<ServiceRender>,
  added: Iterable<ServiceRender>,
  nodeIPs: readonly string[],
  changes: ContentChanges | undefined,
): void {
  const touchChain = (name: string) => changes && !changes.chains.has(name) && changes.chains.set(name, content.chains.get(name));
  const touchSet = (name: string) => changes && !changes.sets.has(name) && changes.sets.set(name, content.affinitySets.get(name));
  const touchElement = (map: ElementMap, key: string) => {
    const before = changes?.elements.get(map);
    if (before && !before.has(key)) before.set(key, content.elements.get(map)!.get(key));
  };
  for (const render of removed) {
    content.sum = (content.sum - digestOf(render)) & MASK64;
    for (const chain of render.chains) {
      const refs = (content.chainRefs.get(chain.name) ?? 0) - 1;
      if (refs > 0) content.chainRefs.set(chain.name, refs);
      else {
        touchChain(chain.name);
        content.chainRefs.delete(chain.name);
        content.chains.delete(chain.name);
      }
    }
    for (const set of render.affinitySets) {
      touchSet(set.name);
      content.affinitySets.delete(set.name);
    }
    for (const e of render.elements) {
      const items = content.elements.get(e.map)!;
      if (e.map === HAIRPIN) {
        const refs = (content.hairpinRefs.get(e.key) ?? 0) - 1;
        if (refs > 0) {
          content.hairpinRefs.set(e.key, refs);
          continue;
        }
        content.hairpinRefs.delete(e.key);
      }
      // Another port may have claimed the key meanwhile (a ClusterIP reused): keep its value.
      if (items.get(e.key) !== e.value) continue;
      touchElement(e.map, e.key);
      items.delete(e.key);
    }
  }
  for (const render of added) {
    content.sum = (content.sum + digestOf(render)) & MASK64;
    for (const chain of render.chains) {
      const refs = content.chainRefs.get(chain.name) ?? 0;
      content.chainRefs.set(chain.name, refs + 1);
      const old = content.chains.get(chain.name);
      if (old === undefined || (old !== chain && !sameRules(old, chain))) touchChain(chain.name);
      content.chains.set(chain.name, chain);
    }
    for (const set of render.affinitySets) {
      touchSet(set.name);
      content.affinitySets.set(set.name, set.timeoutSeconds);
    }
    for (const e of render.elements) {
      if (e.map === HAIRPIN) content.hairpinRefs.set(e.key, (content.hairpinRefs.get(e.key) ?? 0) + 1);
      touchElement(e.map, e.key);
      content.elements.get(e.map)!.set(e.key, e.value);
    }
  }
  if (nodeIPs.length !== content.nodeIPs.length || nodeIPs.some((ip, i) => ip !== content.nodeIPs[i])) {
    for (const ip of nodeIPs) assertAddress('node address', ip);
    const items = content.elements.get(NODEPORT_IPS)!;
    for (const ip of content.nodeIPs) {
      touchElement(NODEPORT_IPS, ip);
      items.delete(ip);
    }
    for (const ip of nodeIPs) {
      touchElement(NODEPORT_IPS, ip);
      items.set(ip, '');
    }
    content.nodeIPs = [...nodeIPs];
  }
  content.fingerprint = fingerprintOf(family, content);
}

export function emptyChanges(): ContentChanges {
  return { chains: new Map(), sets: new Map(), elements: new Map(ALL_ELEMENT_MAPS.map((m) => [m, new Map()])) };
}

const MASK64 = (1n << 64n) - 1n;
const digests = new WeakMap<ServiceRender, bigint>();

/**
 * A render's digest: the first 64 bits of the sha256 of everything it writes, computed once
 * per render (renders are cached across syncs). The table's fingerprint sums them, so an
 * incremental sync updates it with the changed renders alone.
 */
function digestOf(render: ServiceRender): bigint {
  let digest = digests.get(render);
  if (digest === undefined) {
    const parts: string[] = [];
    for (const c of render.chains) parts.push(`${c.name}{${c.rules.join(';')}}`);
    for (const set of render.affinitySets) parts.push(`${set.name}=${set.timeoutSeconds}`);
    for (const e of render.elements) parts.push(`${e.map}:${e.key}:${e.value}`);
    digest = createHash('sha256').update(parts.join('\n')).digest().readBigUInt64BE(0);
    digests.set(render, digest);
  }
  return digest;
}

function fingerprintOf(family: Family, content: TableContent): string {
  const fixed = fixedChains(family).map((c) => `${c.name}{${c.rules.join(';')}}`);
  return createHash('sha256').update(`${family}\n${content.nodeIPs.join(',')}\n${fixed.join('\n')}\n${content.sum.toString(16)}`).digest('hex').slice(0, 24);
}

export function sameRules(a: ChainRender, b: ChainRender): boolean {
  return a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);
}
