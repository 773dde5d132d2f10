/**
 * Names in ferry's nftables tables. Chains of Services with ClientIP affinity are named as
 * kube-proxy's nftables proxier names them (pkg/proxy/nftables/proxier.go
 * `servicePortChainNameBase`, `hashAndTruncate`):
 * `<prefix><HASH8>-<namespace>/<name>/<protocol>/<port name>[__<ip>/<port>]`. Every other
 * Service has no chain of its own: it shares the `dnat-…`/`nodeport-…` chains named after
 * their protocol and endpoint count (service.ts).
 *
 * Namespace, Service and port names are DNS labels, so they are safe in chain names; the
 * `/` separators (never in a DNS label) make service chains recognisable, and the hash
 * keeps two names distinct even when truncated.
 *
 * Endpoint chains and affinity sets are content-addressed: their hash also covers the
 * affinity timeout, the only part of their contents not already in the visible name
 * (kube-proxy #130119's idea). A chain of a given name therefore always holds the same
 * rules, so a sync never has to rewrite one — it creates a new name instead.
 */
import { base32Hash } from '../hash';
import type { Endpoint, ServicePort } from '../types';

export const TABLE = 'ferry';
export type Family = 'ip' | 'ip6';
export const FAMILIES: readonly Family[] = ['ip', 'ip6'];

/**
 * Services are spread over this many tables per family: `ferry`, `ferry-1`, … Each table
 * carries a fingerprint of its whole content, so a restarted agent rewrites only the tables
 * whose Services changed while it was away, and a large sync can load two halves at once
 * (README.md, "Restart", "Cost"). More tables cost every nft command ≈1 ms each (nft reads
 * every table's set declarations first): 32 put a one-Service change at 30–45 ms.
 */
export const DEFAULT_TABLES = 8;

export function tableName(shard: number): string {
  return shard === 0 ? TABLE : `${TABLE}-${shard}`;
}

/** The shard of a table of ours (`ferry`, `ferry-3`), or undefined for anyone else's. */
export function shardOfTable(name: string): number | undefined {
  const match = /^ferry(?:-([1-9]\d*))?$/.exec(name);
  return match === null ? undefined : Number(match[1] ?? 0);
}

/**
 * The table of a service port, by its map key (`namespace/name:port/PROTOCOL`): hashed on
 * the Service alone, so all ports of a Service share a table. FNV-1a, because it runs for
 * every Service on every full sync and needs to be stable, not secure.
 */
export function shardOf(key: string, tables: number): number {
  if (tables <= 1) return 0;
  const colon = key.indexOf(':');
  const service = colon < 0 ? key : key.slice(0, colon);
  let hash = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) hash = Math.imul(hash ^ service.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % tables;
}

/** The kernel's NFT_NAME_MAXLEN is 256 with the NUL; leave room for the longest prefix. */
const NAME_BASE_MAX = 256 - 1 - 'affinity-'.length;

export const CHAIN_PREFIX = {
  clusterIP: 'clusterip-',
  cluster: 'service-',
  local: 'local-',
  external: 'external-',
  endpoint: 'endpoint-',
} as const;
export const AFFINITY_PREFIX = 'affinity-';

/**
 * Part of every endpoint chain's hash: bump it whenever the rules an endpoint chain holds
 * are written differently, so an agent upgrade does not keep chains of the old form.
 * 2: hairpin masquerade moved to the `hairpin` set.
 */
export const ENDPOINT_RULES_VERSION = 2;

/**
 * The layout of a table (which maps, of which types, which fixed chains). A table whose
 * state marker names another layout, or has none (ferry before the maps), is replaced whole.
 */
export const LAYOUT_VERSION = 2;
export const STATE_PREFIX = 'state-';

/** The empty chain whose name carries the table's content fingerprint (README.md, "Restart"). */
export function stateChain(fingerprint: string): string {
  return `${STATE_PREFIX}${LAYOUT_VERSION}-${fingerprint}`;
}

/** The fingerprint a state chain carries, if it is of this layout; null for another layout's. */
export function fingerprintOf(chain: string): string | null | undefined {
  if (!chain.startsWith(STATE_PREFIX)) return undefined;
  const prefix = `${STATE_PREFIX}${LAYOUT_VERSION}-`;
  return chain.startsWith(prefix) ? chain.slice(prefix.length) : null;
}

function hashAndTruncate(visible: string, hashed = visible): string {
  const name = `${base32Hash(hashed, 8)}-${visible}`;
  return name.length > NAME_BASE_MAX ? `${name.slice(0, NAME_BASE_MAX - 3)}...` : name;
}

function portBase(port: ServicePort): string {
  return `${port.namespace}/${port.name}/${port.protocol.toLowerCase()}/${port.portName}`;
}

export interface ServicePortNames {
  clusterIP: string;
  cluster: string;
  local: string;
  external: string;
}

export function servicePortChains(port: ServicePort): ServicePortNames {
  const base = hashAndTruncate(portBase(port));
  return {
    clusterIP: CHAIN_PREFIX.clusterIP + base,
    cluster: CHAIN_PREFIX.cluster + base,
    local: CHAIN_PREFIX.local + base,
    external: CHAIN_PREFIX.external + base,
  };
}

export interface EndpointNames {
  chain: string;
  /** Present when the Service has ClientIP affinity. */
  affinitySet: string | undefined;
}

export function endpointNames(port: ServicePort, endpoint: Pick<Endpoint, 'ip' | 'port'>): EndpointNames {
  // IPv6 colons are not allowed in chain names; kube-proxy writes them as dots.
  const visible = `${portBase(port)}__${endpoint.ip.replaceAll(':', '.')}/${endpoint.port}`;
  const affinity = port.affinity?.timeoutSeconds;
  const base = hashAndTruncate(visible, `${visible}|affinity=${affinity ?? 'none'}|rules=${ENDPOINT_RULES_VERSION}`);
  return {
    chain: CHAIN_PREFIX.endpoint + base,
    affinitySet: affinity === undefined ? undefined : AFFINITY_PREFIX + base,
  };
}

export function isAffinitySet(name: string): boolean {
  return name.startsWith(AFFINITY_PREFIX);
}

/**
 * Chains whose name fixes their rules (endpoint chains, the shared `dnat-`/`nodeport-`/
 * `extip-` chains; a suffix `-all` or `-p<tag>` names the masquerading they add, service.ts).
 */
export function isContentAddressed(chain: string): boolean {
  return chain.startsWith(CHAIN_PREFIX.endpoint) || /^(dnat|nodeport|nodeport-local|extip|extip-local)-(tcp|udp|sctp)-\d+(-\d+)?(-all|-p[A-Z2-7]{6})?$/.test(chain);
}
