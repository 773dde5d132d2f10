/**
 * The fixed part of ferry's `ip ferry` / `ip6 ferry` tables: base chains on the netfilter
 * hooks, the dispatch maps and the helper chains. Mirrors kube-proxy's
 * `nftablesBaseChains`, `nftablesJumpChains` and `setupNFTables`; README.md explains the
 * hooks and priorities.
 */
import type { Transaction } from './transaction';
import type { Family } from './names';

export const SERVICES_CHAIN = 'services';
export const MASQUERADING_CHAIN = 'masquerading';
export const REJECT_CHAIN = 'reject-chain';
export const NODEPORT_IPS = 'nodeport-ips';

/** kube-proxy's default masquerade bit (--iptables-masquerade-bit 14). Not an API: see README.md. */
export const MASQUERADE_MARK = '0x00004000';

/**
 * Marks a packet for masquerading at postrouting. kube-proxy jumps to a one-rule
 * `mark-for-masquerade` chain; ferry writes the statement in place — the same effect, one
 * verdict fewer per endpoint for the kernel to validate on every commit (README.md, "Cost").
 */
export const MARK_FOR_MASQUERADE = `meta mark set meta mark | ${MASQUERADE_MARK}`;

export type MapName = 'service-ips' | 'service-nodeports';
export const MAP_NAMES: readonly MapName[] = ['service-ips', 'service-nodeports'];

export function addrType(family: Family): string {
  return family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
}

/** The declaration body of a dispatch map, identical on every write (nft refuses a changed one). */
export function mapDeclaration(family: Family, map: MapName): string {
  const addr = addrType(family);
  switch (map) {
    case 'service-ips':
      return `type ${addr} . inet_proto . inet_service : verdict ; comment "ClusterIP traffic"`;
    case 'service-nodeports':
      return 'type inet_proto . inet_service : verdict ; comment "NodePort traffic"';
  }
}

interface BaseChain {
  name: string;
  type: 'nat';
  hook: 'prerouting' | 'output' | 'postrouting';
  /** Numeric, because nft 1.0.6 accepts the name `dstnat` only on prerouting. */
  priority: number;
  /** The jump rules this base chain holds. */
  rules: string[];
}

// dstnat = -100, srcnat = 100. Rejecting and dropping for missing endpoints happens in the
// nat chains too (README.md: why not in filter chains as kube-proxy does).
export const BASE_CHAINS: readonly BaseChain[] = [
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100, rules: [`jump ${SERVICES_CHAIN}`] },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100, rules: [`jump ${SERVICES_CHAIN}`] },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100, rules: [`jump ${MASQUERADING_CHAIN}`] },
];

function fixedChains(family: Family): Array<{ name: string; rules: string[] }> {
  return [
    {
      name: MASQUERADING_CHAIN,
      // Clear the bit before masquerading so a re-routed packet is not masqueraded twice.
      rules: [`meta mark & ${MASQUERADE_MARK} == 0 return`, `meta mark set meta mark ^ ${MASQUERADE_MARK}`, 'masquerade fully-random'],
    },
    // TCP gets a reset, everything else ICMP port unreachable: the client fails fast.
    { name: REJECT_CHAIN, rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
    {
      name: SERVICES_CHAIN,
      rules: [
        `${family} daddr . meta l4proto . th dport vmap @service-ips`,
        `${family} daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @service-nodeports`,
      ],
    },
  ];
}

/**
 * The fixed objects, rewritten on every full sync: the maps declared (their elements are
 * reconciled by the caller), `nodeport-ips` and the fixed chains emptied and refilled.
 * A base chain whose hook or priority differs from what the kernel has (an older ferry's)
 * is deleted and re-created, as kube-proxy's once-per-process add+delete achieves — only when
 * needed, because a deletion makes nft read the whole table. `creating`: the table is new.
 */
export interface BaseChainSpec {
  type: string;
  hook: string;
  prio: number;
}

export function writeSetup(tx: Transaction, nodeIPs: readonly string[], options: { existingBaseChains?: ReadonlyMap<string, BaseChainSpec>; creating: boolean }): void {
  tx.addTable(options.creating ? 'ferry node agent: Service proxying (do not edit)' : undefined);
  for (const map of MAP_NAMES) tx.declareMap(map, mapDeclaration(tx.family, map));
  tx.declareSet(NODEPORT_IPS, `type ${addrType(tx.family)} ; comment "IPs that accept NodePort traffic"`);
  tx.flushSet(NODEPORT_IPS);
  tx.addSetElements(NODEPORT_IPS, `type ${addrType(tx.family)} ; comment "IPs that accept NodePort traffic"`, nodeIPs);
  for (const chain of fixedChains(tx.family)) tx.replaceChain(chain.name, chain.rules);
  for (const chain of BASE_CHAINS) {
    const hook = `type ${chain.type} hook ${chain.hook} priority ${chain.priority} ; policy accept`;
    const existing = options.existingBaseChains?.get(chain.name);
    if (existing && (existing.type !== chain.type || existing.hook !== chain.hook || existing.prio !== chain.priority)) {
      tx.addChain(chain.name);
      tx.deleteChain(chain.name);
    }
    tx.addChain(chain.name, [], hook);
    tx.flushChain(chain.name);
    tx.addChain(chain.name, chain.rules);
  }
}
