/**
 * `iptables-restore --noflush` input for one family: only FERRY-* chains are declared
 * (declaring a chain flushes it), so nothing else in the nat and filter tables is touched.
 * A full sync rewrites every FERRY chain and deletes the ones nothing wants; an incremental
 * sync (kube-proxy's partial sync) rewrites the changed service ports' chains and edits
 * their rules in the top-level chains.
 */
import type { ProxyState } from '../types';
import { CHAINS, LARGE_CLUSTER_ENDPOINTS, renderIptablesService, SERVICE_CHAIN_PREFIXES, type IpFamily, type IptablesServiceRender } from './service';

export const MASQUERADE_MARK = '0x4000';

export interface RestorePlan {
  text: string;
  services: Map<string, IptablesServiceRender>;
}

export interface RestoreInput {
  family: IpFamily;
  state: ProxyState;
  previous: ReadonlyMap<string, IptablesServiceRender>;
  /** Service ports to rewrite; undefined for a full sync. */
  changed: ReadonlySet<string> | undefined;
  /** Full sync: the per-service FERRY chains that exist in the nat table. */
  existing?: ReadonlySet<string>;
  /** Jumps from the built-in chains to insert in the same commit (those `iptables-save` did not show). */
  jumps?: typeof JUMP_RULES;
}

export function familyNodeIPs(state: ProxyState, family: IpFamily): string[] {
  return state.nodeIPs.filter((ip) => ip.includes(':') === (family === 6));
}

export function planRestore(input: RestoreInput): RestorePlan {
  const nodeIPs = familyNodeIPs(input.state, input.family);
  const services = new Map<string, IptablesServiceRender>();
  const rewrite = new Map<string, string[]>();
  const keys = [...input.state.services.keys()];
  let endpoints = 0;
  for (const port of input.state.services.values()) endpoints += port.endpoints.length;
  const options = {
    comments: endpoints <= LARGE_CLUSTER_ENDPOINTS,
    ...(input.state.masqueradeAll ? { masqueradeAll: true } : {}),
    ...(input.state.podTraffic?.[input.family] ? { pods: input.state.podTraffic[input.family] } : {}),
  };
  for (const key of keys) {
    const keep = input.changed !== undefined && !input.changed.has(key) ? input.previous.get(key) : undefined;
    const render = keep ?? renderIptablesService(input.state.services.get(key)!, input.family, nodeIPs, options);
    if (!render) continue;
    services.set(key, render);
    if (keep === undefined) for (const c of render.chains) rewrite.set(c.name, c.rules);
  }
  const wanted = new Set([...services.values()].flatMap((r) => r.chains.map((c) => c.name)));
  const stale = new Set<string>();
  if (input.changed === undefined) {
    for (const name of input.existing ?? []) if (!wanted.has(name)) stale.add(name);
  } else {
    for (const key of input.changed) for (const c of input.previous.get(key)?.chains ?? []) if (!wanted.has(c.name)) stale.add(c.name);
  }

  const all = [...services.values()];
  const nat: string[] = ['*nat'];
  const filter: string[] = ['*filter'];
  const natChains = new Map<string, string[]>(rewrite);
  const filterChains = new Map<string, string[]>();
  // Rules the top-level chains gain and lose (incremental syncs only).
  const edits = { nat: [] as string[], filter: [] as string[] };
  if (input.changed === undefined) {
    natChains.set(CHAINS.services, [...all.flatMap((r) => r.services), ...nodePortJumps(nodeIPs, input.family)]);
    natChains.set(CHAINS.nodePorts, all.flatMap((r) => r.nodePorts));
    natChains.set(CHAINS.markMasq, [`-j MARK --or-mark ${MASQUERADE_MARK}`]);
    natChains.set(CHAINS.postrouting, [
      `-m mark ! --mark ${MASQUERADE_MARK}/${MASQUERADE_MARK} -j RETURN`,
      // Clear the bit so a re-routed packet is not masqueraded twice.
      `-j MARK --xor-mark ${MASQUERADE_MARK}`,
      `-m comment --comment "ferry service traffic requiring SNAT" -j MASQUERADE --random-fully`,
    ]);
    filterChains.set(CHAINS.services, all.flatMap((r) => r.filterServices));
    filterChains.set(CHAINS.externalServices, all.flatMap((r) => r.filterExternal));
    // When the FORWARD policy is DROP (Docker sets it), forwarded Service traffic still flows.
    filterChains.set(CHAINS.forward, [
      `-m comment --comment "ferry forwarding rules" -m mark --mark ${MASQUERADE_MARK}/${MASQUERADE_MARK} -j ACCEPT`,
      `-m comment --comment "ferry forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ]);
  } else {
    // kube-proxy rewrites KUBE-SERVICES on every sync. With the nf_tables backend,
    // iptables-restore --noflush resolves each jump's target by a walk over every chain, so
    // rewriting 10,000 jumps takes minutes; ferry deletes and appends only the changed
    // Service's rules. Their order does not matter: each matches its own destination
    // (ClusterIPs are never node addresses).
    for (const key of [...input.changed].sort()) {
      const before = input.previous.get(key);
      const after = services.get(key);
      edits.nat.push(...diff(CHAINS.services, before?.services, after?.services), ...diff(CHAINS.nodePorts, before?.nodePorts, after?.nodePorts));
      edits.filter.push(
        ...diff(CHAINS.services, before?.filterServices, after?.filterServices),
        ...diff(CHAINS.externalServices, before?.filterExternal, after?.filterExternal),
      );
    }
  }
  for (const name of [...natChains.keys(), ...stale]) nat.push(`:${name} - [0:0]`);
  for (const [name, rules] of natChains) for (const rule of rules) nat.push(`-A ${name} ${rule}`);
  nat.push(...edits.nat, ...jumpLines(input.jumps, 'nat'));
  for (const name of stale) nat.push(`-X ${name}`);
  nat.push('COMMIT');
  for (const name of filterChains.keys()) filter.push(`:${name} - [0:0]`);
  for (const [name, rules] of filterChains) for (const rule of rules) filter.push(`-A ${name} ${rule}`);
  filter.push(...edits.filter, ...jumpLines(input.jumps, 'filter'), 'COMMIT');
  return { text: `${[...nat, ...filter].join('\n')}\n`, services };
}

/**
 * The missing jumps as restore lines, in the same commit as the chains they jump to: each
 * `iptables -I` on its own makes iptables-legacy fetch and replace the whole table (seconds
 * at 10,000 Services).
 */
function jumpLines(jumps: typeof JUMP_RULES | undefined, table: 'nat' | 'filter'): string[] {
  return (jumps ?? []).filter((j) => j.table === table).map((j) => `-I ${j.chain} ${ruleText(j.rule)}`);
}

/** A rule's arguments as iptables-save prints them (and iptables-restore reads them). */
function ruleText(args: readonly string[]): string {
  return args.map((arg) => (/\s/.test(arg) ? `"${arg}"` : arg)).join(' ');
}

/** `-D` for rules that went, `-A` for rules that came (deletes first). */
function diff(chain: string, before: readonly string[] = [], after: readonly string[] = []): string[] {
  const had = new Set(before);
  const has = new Set(after);
  return [...before.filter((r) => !has.has(r)).map((r) => `-D ${chain} ${r}`), ...after.filter((r) => !had.has(r)).map((r) => `-A ${chain} ${r}`)];
}

function nodePortJumps(nodeIPs: readonly string[], family: IpFamily): string[] {
  const host = family === 4 ? 32 : 128;
  // NOTE as kube-proxy's: this must stay the last rule of FERRY-SERVICES, after every ClusterIP.
  return nodeIPs.map((ip) => `-m comment --comment "ferry service nodeports" -d ${ip}/${host} -j ${CHAINS.nodePorts}`);
}

/** Per-service FERRY chains in `iptables-save -t nat` output. */
export function serviceChainsIn(save: string): Set<string> {
  const out = new Set<string>();
  for (const line of save.split('\n')) {
    const match = /^:(FERRY-\S+)/.exec(line);
    if (match?.[1] && SERVICE_CHAIN_PREFIXES.some((p) => match[1]!.startsWith(p))) out.add(match[1]);
  }
  return out;
}

/** The jumps from the built-in chains into ferry's, installed idempotently (`-C` then `-I`). */
export const JUMP_RULES: ReadonlyArray<{ table: 'nat' | 'filter'; chain: string; rule: string[] }> = [
  { table: 'nat', chain: 'PREROUTING', rule: ['-m', 'comment', '--comment', 'ferry service portals', '-j', CHAINS.services] },
  { table: 'nat', chain: 'OUTPUT', rule: ['-m', 'comment', '--comment', 'ferry service portals', '-j', CHAINS.services] },
  { table: 'nat', chain: 'POSTROUTING', rule: ['-m', 'comment', '--comment', 'ferry postrouting rules', '-j', CHAINS.postrouting] },
  { table: 'filter', chain: 'INPUT', rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'ferry externally-visible service portals', '-j', CHAINS.externalServices] },
  { table: 'filter', chain: 'FORWARD', rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'ferry service portals', '-j', CHAINS.services] },
  { table: 'filter', chain: 'FORWARD', rule: ['-m', 'comment', '--comment', 'ferry forwarding rules', '-j', CHAINS.forward] },
  { table: 'filter', chain: 'OUTPUT', rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'ferry service portals', '-j', CHAINS.services] },
];

/** The jump rules absent from `iptables-save` output (which prints a rule's matches in the order given). */
export function missingJumps(saved: Record<'nat' | 'filter', string>): typeof JUMP_RULES {
  return JUMP_RULES.filter((j) => !saved[j.table].split('\n').includes(`-A ${j.chain} ${ruleText(j.rule)}`));
}

/** `iptables-restore --noflush` input that removes every FERRY chain (`--cleanup`), given `iptables-save` output. */
export function cleanupRestore(save: string, table: 'nat' | 'filter'): string {
  const chains = [...save.matchAll(/^:(FERRY-\S+)/gm)].map((m) => m[1]!);
  if (chains.length === 0) return '';
  return [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}
