/**
 * The fixed part of each of ferry's tables: base chains on the netfilter hooks, the maps
 * and sets that hold Services, endpoints and node addresses, and the helper chains. The
 * hooks and priorities are kube-proxy's (`nftablesBaseChains`, `nftablesJumpChains`);
 * README.md explains them and the maps.
 */
import type { Family } from './names';

export const SERVICES_CHAIN = 'services';
export const MASQUERADING_CHAIN = 'masquerading';
export const REJECT_CHAIN = 'reject-chain';
export const NODEPORT_IPS = 'nodeport-ips';
export const HAIRPIN = 'hairpin';

/** kube-proxy's default masquerade bit (--iptables-masquerade-bit 14). Not an API: see README.md. */
export const MASQUERADE_MARK = '0x00004000';

/**
 * Marks a packet for masquerading at postrouting. kube-proxy jumps to a one-rule
 * `mark-for-masquerade` chain; ferry writes the statement in place (same effect, one
 * verdict fewer for the kernel to validate).
 */
export const MARK_FOR_MASQUERADE = `meta mark set meta mark | ${MASQUERADE_MARK}`;

export type Proto = 'tcp' | 'udp' | 'sctp';
export const PROTOS: readonly Proto[] = ['tcp', 'udp', 'sctp'];

/** Every map and set that each table declares, whose elements ferry writes (affinity sets are dynamic: not these). */
export const ELEMENT_MAPS = [
  'service-ips',
  'service-nodeports',
  'cluster-endpoints-tcp',
  'cluster-endpoints-udp',
  'nodeport-endpoints-tcp',
  'nodeport-endpoints-udp',
  NODEPORT_IPS,
  HAIRPIN,
] as const;

/**
 * The SCTP endpoint maps, declared only in a table that has an SCTP Service (and kept
 * once there): few clusters use SCTP, and a table without it stays exactly as it was. The
 * key cannot be shared with TCP: one Service may serve the same port over both (Diameter,
 * SIP).
 */
export const SCTP_MAPS = ['cluster-endpoints-sctp', 'nodeport-endpoints-sctp'] as const;
export const ALL_ELEMENT_MAPS = [...ELEMENT_MAPS, ...SCTP_MAPS] as const;
export type ElementMap = (typeof ALL_ELEMENT_MAPS)[number];

export function isSctpMap(map: ElementMap): boolean {
  return (SCTP_MAPS as readonly string[]).includes(map);
}

export function clusterEndpointsMap(proto: Proto): ElementMap {
  return `cluster-endpoints-${proto}`;
}

export function nodePortEndpointsMap(proto: Proto): ElementMap {
  return `nodeport-endpoints-${proto}`;
}

export function addrType(family: Family): string {
  return family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
}

export function isSet(map: ElementMap): boolean {
  return map === NODEPORT_IPS || map === HAIRPIN;
}

/**
 * The declaration body of each map and set, identical on every write (nft refuses a
 * changed one). The endpoint maps are keyed by what the packet carries (the ClusterIP and
 * port, or the NodePort) and the random index the dispatch chain draws, and yield the
 * endpoint's address and port: one lookup picks and DNATs (README.md, "Maps").
 */
export function declaration(family: Family, map: ElementMap): string {
  const addr = addrType(family);
  switch (map) {
    case 'service-ips':
      return `type ${addr} . inet_proto . inet_service : verdict ; comment "ClusterIP traffic"`;
    case 'service-nodeports':
      return 'type inet_proto . inet_service : verdict ; comment "NodePort traffic"';
    // `tcp dport`, not `th dport`: nft 1.0.6 cannot read a `th` typeof back from the kernel
    // into a transaction that has rules using the map ("conflicting protocols specified").
    case 'cluster-endpoints-tcp':
    case 'cluster-endpoints-udp':
    case 'cluster-endpoints-sctp': {
      const port = `${map.slice('cluster-endpoints-'.length)} dport`;
      return `typeof ${family} daddr . ${port} . numgen random mod 1 : ${family} daddr . ${port} ; comment "ClusterIP, port, index: endpoint"`;
    }
    case 'nodeport-endpoints-tcp':
    case 'nodeport-endpoints-udp':
    case 'nodeport-endpoints-sctp': {
      const port = `${map.slice('nodeport-endpoints-'.length)} dport`;
      return `typeof ${port} . numgen random mod 1 : ${family} daddr . ${port} ; comment "NodePort, index: endpoint"`;
    }
    case NODEPORT_IPS:
      return `type ${addr} ; comment "IPs that accept NodePort traffic"`;
    case HAIRPIN:
      return `type ${addr} . ${addr} ; comment "local endpoint . itself: a pod reaching itself"`;
  }
}

export interface BaseChain {
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

export function baseChainHook(chain: BaseChain): string {
  return `type ${chain.type} hook ${chain.hook} priority ${chain.priority} ; policy accept`;
}

/** The helper chains every table holds, by name. */
export function fixedChains(family: Family): Array<{ name: string; rules: string[] }> {
  return [
    {
      name: MASQUERADING_CHAIN,
      rules: [
        // Clear the bit before masquerading so a re-routed packet is not masqueraded twice.
        `meta mark & ${MASQUERADE_MARK} == ${MASQUERADE_MARK} meta mark set meta mark ^ ${MASQUERADE_MARK} masquerade fully-random`,
        // Hairpin: after DNAT, a packet whose source is its destination is a pod reaching
        // itself through a Service; without masquerading, its reply would bypass the DNAT.
        `ct status dnat ${family} saddr . ${family} daddr @${HAIRPIN} masquerade fully-random`,
      ],
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

/** What a listing says about a base chain. */
export interface BaseChainSpec {
  type: string;
  hook: string;
  prio: number;
}

/** Whether the base chains a listing found are the ones this layout writes. */
export function sameBaseChains(listed: ReadonlyMap<string, BaseChainSpec>): boolean {
  if (listed.size !== BASE_CHAINS.length) return false;
  return BASE_CHAINS.every((c) => {
    const found = listed.get(c.name);
    return found !== undefined && found.type === c.type && found.hook === c.hook && found.prio === c.priority;
  });
}
