/**
 * Stale UDP conntrack entries, as kube-proxy clears them (pkg/proxy/conntrack/cleanup.go,
 * and the `conntrack` invocations of its earlier exec-based version).
 *
 * UDP has no connection to end, so a conntrack entry that DNATs a client's flow to an
 * endpoint that has gone keeps sending the client's datagrams into the void for as long
 * as the client keeps talking. After a sync:
 * - for every endpoint a UDP service port no longer uses: delete entries to its ClusterIPs,
 *   externalIPs, load balancer IPs and NodePort that were DNATed to that endpoint;
 * - for a UDP service port that had no endpoint and now has: delete entries to those
 *   (packets sent meanwhile may have created entries that do not DNAT at all).
 * TCP needs nothing: the client's retransmissions hit no entry it can reuse.
 */
import { isIPv6 } from 'node:net';
import type { CommandRunner } from './exec';
import { externalAddresses, trafficPlan } from './policy';
import type { ProxyState, ServicePort } from './types';

export interface ConntrackFilter {
  /** `--orig-dst`: a ClusterIP. */
  origDst?: string;
  /** `--dport`: a NodePort. */
  port?: number;
  /** `--dst-nat`: the endpoint the entry was DNATed to. */
  dstNat?: string;
  ipv6: boolean;
}

export function staleConntrackFilters(
  previous: ProxyState | undefined,
  next: ProxyState,
  changed: ReadonlySet<string> | undefined,
): ConntrackFilter[] {
  const keys = changed ?? new Set([...(previous?.services.keys() ?? []), ...next.services.keys()]);
  const out: ConntrackFilter[] = [];
  for (const key of keys) {
    const before = previous?.services.get(key);
    const after = next.services.get(key);
    const port = before ?? after;
    if (port?.protocol !== 'UDP') continue;
    const had = before ? trafficPlan(before).reachable : [];
    const has = after ? trafficPlan(after).reachable : [];
    const still = new Set(has.map((e) => e.ip));
    for (const gone of new Set(had.map((e) => e.ip).filter((ip) => !still.has(ip)))) {
      out.push(...entryPoints(before!).filter((f) => f.ipv6 === isIPv6(gone)).map((f) => ({ ...f, dstNat: gone })));
    }
    if (after && had.length === 0 && has.length > 0) out.push(...entryPoints(after));
  }
  return out;
}

function entryPoints(port: ServicePort): ConntrackFilter[] {
  // Every address the port is reached at: ClusterIPs, externalIPs, load balancer IPs.
  const out: ConntrackFilter[] = [...port.clusterIPs, ...externalAddresses(port)].map((ip) => ({ origDst: ip, ipv6: isIPv6(ip) }));
  if (port.nodePort !== undefined) {
    for (const ipv6 of new Set(port.clusterIPs.map(isIPv6))) out.push({ port: port.nodePort, ipv6 });
  }
  return out;
}

export function conntrackArgs(filter: ConntrackFilter): string[] {
  return [
    '-D',
    '-p',
    'udp',
    ...(filter.ipv6 ? ['-f', 'ipv6'] : []),
    ...(filter.origDst ? ['--orig-dst', filter.origDst] : []),
    ...(filter.port !== undefined ? ['--dport', String(filter.port)] : []),
    ...(filter.dstNat ? ['--dst-nat', filter.dstNat] : []),
  ];
}

/**
 * Runs the deletions. `conntrack -D` exits 1 when nothing matched, which is the usual case;
 * other failures are logged, never fatal: the rules are already right.
 */
export async function clearConntrack(run: CommandRunner, filters: readonly ConntrackFilter[], log: (line: string) => void): Promise<void> {
  for (const filter of filters) {
    const args = conntrackArgs(filter);
    try {
      const result = await run('conntrack', args);
      if (result.code !== 0 && !/0 flow entries/.test(result.stderr)) log(`conntrack ${args.join(' ')}: ${result.stderr.trim()}`);
    } catch (err) {
      log(`conntrack ${args.join(' ')}: ${(err as Error).message}`);
    }
  }
}
