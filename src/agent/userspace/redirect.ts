/**
 * ClusterIP traffic into the userspace proxy: nft `redirect` of each IPv4 ClusterIP:port
 * to the local port its listener holds, in table `ip ferry` (the nftables mode's table
 * name: one mode runs at a time, and `--cleanup` removes either). A Service with no
 * usable endpoint is rejected instead (TCP reset / ICMP port unreachable), since without
 * a redirect its ClusterIP would be routed away and the client would hang.
 *
 * The redirect is NAT, so established flows keep their translation in conntrack when the
 * rules change: connections to an old agent's port drain there while new ones reach the
 * new agent. Everything here is pure; index.ts runs it.
 */
import type { ConntrackFilter } from '../conntrack';

export const TABLE = 'ferry';
export const REDIRECT_MAP = 'cluster-redirects';
export const REJECT_SET = 'no-endpoints';

/** `ip . proto . port`, the element key of both the map and the set. */
export const elementKey = (ip: string, protocol: string, port: number): string =>
  `${ip} . ${protocol.toLowerCase()} . ${port}`;

export interface RedirectRules {
  /** Element key → the local port of the listener. */
  redirects: ReadonlyMap<string, number>;
  /** Element keys of ClusterIP ports without endpoints. */
  rejects: ReadonlySet<string>;
}

const KEY_TYPE = 'ipv4_addr . inet_proto . inet_service';
const MATCH = 'ip daddr . meta l4proto . th dport';

/** The whole table, replaced in one transaction (`add` first so `delete` cannot fail). */
export function renderTable(rules: RedirectRules): string {
  const redirects = [...rules.redirects].map(([key, port]) => `${key} : ${port}`);
  const rejects = [...rules.rejects];
  const elements = (items: string[]): string => (items.length > 0 ? ` elements = { ${items.join(', ')} };` : '');
  const filter = (hook: string): string =>
    `  chain filter-${hook} { type filter hook ${hook} priority -110; policy accept; ${MATCH} @${REJECT_SET} goto reject-chain; }`;
  return [
    `add table ip ${TABLE}`,
    `delete table ip ${TABLE}`,
    `table ip ${TABLE} {`,
    `  map ${REDIRECT_MAP} { type ${KEY_TYPE} : inet_service;${elements(redirects)} }`,
    `  set ${REJECT_SET} { type ${KEY_TYPE};${elements(rejects)} }`,
    `  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; meta l4proto { tcp, udp } redirect to ${MATCH} map @${REDIRECT_MAP}; }`,
    `  chain nat-output { type nat hook output priority -100; policy accept; meta l4proto { tcp, udp } redirect to ${MATCH} map @${REDIRECT_MAP}; }`,
    filter('input'),
    filter('forward'),
    filter('output'),
    '  chain reject-chain { meta l4proto tcp reject with tcp reset; reject; }',
    '}',
    '',
  ].join('\n');
}

/** Element changes from `applied` to `desired`, or '' when there are none. */
export function renderDelta(applied: RedirectRules, desired: RedirectRules): string {
  const lines: string[] = [];
  const element = (verb: string, name: string, items: string[]): void => {
    if (items.length > 0) lines.push(`${verb} element ip ${TABLE} ${name} { ${items.join(', ')} }`);
  };
  element('delete', REDIRECT_MAP, [...applied.redirects].filter(([k, p]) => desired.redirects.get(k) !== p).map(([k]) => k));
  element('delete', REJECT_SET, [...applied.rejects].filter((k) => !desired.rejects.has(k)));
  element(
    'add',
    REDIRECT_MAP,
    [...desired.redirects].filter(([k, p]) => applied.redirects.get(k) !== p).map(([k, p]) => `${k} : ${p}`),
  );
  element('add', REJECT_SET, [...desired.rejects].filter((k) => !applied.rejects.has(k)));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/**
 * UDP ClusterIP ports whose redirect target changed (a new local port, or endpoints after
 * none): their conntrack entries still send the client's flow to the old port, or
 * nowhere, for as long as the client keeps talking — delete them, as kube-proxy does when
 * a UDP Service gets endpoints.
 */
export function staleUdpFilters(previous: ReadonlyMap<string, number>, desired: ReadonlyMap<string, number>): ConntrackFilter[] {
  const out: ConntrackFilter[] = [];
  for (const [key, port] of desired) {
    const [ip, protocol, servicePort] = key.split(' . ');
    if (protocol !== 'udp' || previous.get(key) === port) continue;
    out.push({ origDst: ip!, port: Number(servicePort), ipv6: false });
  }
  return out;
}

export const CLEANUP_SCRIPT = `add table ip ${TABLE}\ndelete table ip ${TABLE}\n`;

/**
 * The redirects a previous agent left (`nft -j list map`), so a restarted agent can bind
 * the same local ports and the flows conntrack still sends there keep working.
 */
export function parseRedirects(json: string): Map<string, number> {
  const out = new Map<string, number>();
  const doc = JSON.parse(json) as { nftables?: { map?: { elem?: unknown[] } }[] };
  for (const item of doc.nftables ?? []) {
    for (const elem of item.map?.elem ?? []) {
      if (!Array.isArray(elem) || elem.length !== 2) continue;
      const [key, port] = elem as [{ concat?: unknown[] }, unknown];
      const parts = key?.concat;
      if (!Array.isArray(parts) || parts.length !== 3 || typeof port !== 'number') continue;
      out.set(elementKey(String(parts[0]), String(parts[1]), Number(parts[2])), port);
    }
  }
  return out;
}
