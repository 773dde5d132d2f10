/**
 * The IPVS schedulers rr, lc, dh, sh, sed and nq, as pure functions of a server list and
 * its connection counts, so the userspace proxy picks exactly as the kernel's
 * `net/netfilter/ipvs/ip_vs_{rr,lc,dh,sh,sed,nq}.c` would and the tests can check the
 * formulas against hand-computed tables. The ipvs mode uses the names.
 *
 * Kernel conventions kept on purpose:
 * - weight 0 means quiesced: the server keeps its connections but gets no new ones;
 * - ties go to the server listed first (the kernel compares with a strict `<` / `>`);
 * - "active" connections are established TCP ones; every connection starts inactive
 *   (`IP_VS_CONN_F_INACTIVE` is in each destination's conn_flags), TCP turns active on
 *   ESTABLISHED and inactive again on FIN, and UDP stays inactive. So sed and nq, which
 *   look only at active connections, send every new UDP flow to the first server.
 */
import type { Scheduler } from './types';

export const SCHEDULERS: readonly Scheduler[] = ['rr', 'lc', 'dh', 'sh', 'sed', 'nq'];
export const DEFAULT_SCHEDULER: Scheduler = 'rr';

export function isScheduler(name: string): name is Scheduler {
  return (SCHEDULERS as readonly string[]).includes(name);
}

/** One real server as a scheduler sees it. */
export interface RealServer {
  /** Stable identity across syncs, e.g. `10.0.0.1:8080`. */
  readonly id: string;
  /** IPVS weight; 1 unless given, 0 quiesces the server. */
  readonly weight?: number;
  readonly active: number;
  readonly inactive: number;
}

/** The addresses of the connection being scheduled (dh hashes the destination, sh the source). */
export interface Flow {
  source: string;
  destination: string;
}

/**
 * A scheduler bound to one virtual service. Only rr keeps state (its position), and the
 * hash tables of dh/sh are cached per server list; all else is a function of the input.
 */
export interface SchedulerInstance {
  readonly name: Scheduler;
  pick<T extends RealServer>(servers: readonly T[], flow: Flow): T | undefined;
}

export function createScheduler(name: Scheduler): SchedulerInstance {
  switch (name) {
    case 'rr':
      return roundRobin();
    case 'lc':
      return stateless(name, leastConnection);
    case 'sed':
      return stateless(name, shortestExpectedDelay);
    case 'nq':
      return stateless(name, neverQueue);
    case 'dh':
      return hashing(name, (flow) => destinationHashKey(flow.destination), false);
    case 'sh':
      return hashing(name, (flow) => sourceHashKey(flow.source), true);
  }
}

const weightOf = (s: RealServer): number => s.weight ?? 1;

function stateless(
  name: Scheduler,
  pick: <T extends RealServer>(servers: readonly T[]) => T | undefined,
): SchedulerInstance {
  return { name, pick: (servers) => pick(servers) };
}

/**
 * ip_vs_rr.c: the server after the last one picked, skipping quiesced ones; the first
 * pick is the first server (the kernel's pointer starts at the list head). When the last
 * picked server is deleted the kernel steps its pointer back one (ip_vs_rr_del_dest), so
 * the server that took the deleted one's place comes next: `lastIndex - 1` does that.
 */
function roundRobin(): SchedulerInstance {
  let lastId: string | undefined;
  let lastIndex = 0;
  return {
    name: 'rr',
    pick(servers) {
      const n = servers.length;
      if (n === 0) return undefined;
      let previous = -1;
      if (lastId !== undefined) {
        const found = servers.findIndex((s) => s.id === lastId);
        previous = found >= 0 ? found : Math.min(lastIndex, n) - 1;
      }
      for (let step = 1; step <= n; step++) {
        const i = (previous + step) % n;
        const server = servers[i]!;
        if (weightOf(server) > 0) {
          lastId = server.id;
          lastIndex = i;
          return server;
        }
      }
      return undefined;
    },
  };
}

/** ip_vs_dest_conn_overhead(): an active connection costs 256 inactive ones. */
export function connectionOverhead(s: RealServer): number {
  return s.active * 256 + s.inactive;
}

/** ip_vs_lc.c: least overhead among servers with a weight, first on ties. */
export function leastConnection<T extends RealServer>(servers: readonly T[]): T | undefined {
  let least: T | undefined;
  let leastOverhead = 0;
  for (const s of servers) {
    if (weightOf(s) <= 0) continue;
    const overhead = connectionOverhead(s);
    if (least === undefined || overhead < leastOverhead) {
      least = s;
      leastOverhead = overhead;
    }
  }
  return least;
}

/** ip_vs_sed.c / ip_vs_nq.c: the expected delay (active + 1) / weight, kept as a fraction. */
function expectedDelayLess(a: RealServer, b: RealServer): boolean {
  // a/wa < b/wb  ⇔  a·wb < b·wa, with integers as the kernel does it.
  return (a.active + 1) * weightOf(b) < (b.active + 1) * weightOf(a);
}

/** ip_vs_sed.c: the minimum of (active + 1) / weight, first on ties. */
export function shortestExpectedDelay<T extends RealServer>(servers: readonly T[]): T | undefined {
  let least: T | undefined;
  for (const s of servers) {
    if (weightOf(s) <= 0) continue;
    if (least === undefined || expectedDelayLess(s, least)) least = s;
  }
  return least;
}

/** ip_vs_nq.c: the first idle (no active connection) server, else as sed. */
export function neverQueue<T extends RealServer>(servers: readonly T[]): T | undefined {
  const idle = servers.find((s) => weightOf(s) > 0 && s.active === 0);
  return idle ?? shortestExpectedDelay(servers);
}

/** IP_VS_{DH,SH}_TAB_BITS = 8: both hash into a 256-bucket server table. */
export const HASH_TABLE_SIZE = 256;

/** ip_vs_dh_hashkey(): the host-order address times 2654435761, low 8 bits. */
export function destinationHashKey(address: string): number | undefined {
  const folded = foldAddress(address);
  return folded === undefined ? undefined : Math.imul(folded, 2654435761 | 0) & (HASH_TABLE_SIZE - 1);
}

/**
 * ip_vs_sh_hashkey() in current kernels: hash_32(port + address, 8), the high 8 bits of
 * (port + address) × GOLDEN_RATIO_32. The port is 0 unless the service has the sh-port
 * flag, which ferry never sets, so only the source address counts.
 */
export function sourceHashKey(address: string): number | undefined {
  const folded = foldAddress(address);
  return folded === undefined ? undefined : Math.imul(folded, 0x61c88647) >>> 24;
}

/**
 * The address as the kernel's `addr_fold`: IPv4 as a host-order integer, IPv6 as the XOR
 * of its four 32-bit words (XOR commutes with the byte swap, so folding host-order words
 * equals ntohl of the folded network-order ones). IPv4-mapped IPv6 counts as IPv4, as the
 * sockets API reports an IPv4 client on a dual-stack socket that way.
 */
function foldAddress(address: string): number | undefined {
  const v4 = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (v4.includes('.')) {
    const parts = v4.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  }
  const groups = expandIPv6(address);
  if (groups === undefined) return undefined;
  let fold = 0;
  for (let w = 0; w < 4; w++) fold ^= ((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0;
  return fold >>> 0;
}

function expandIPv6(address: string): number[] | undefined {
  const bare = address.split('%')[0]!;
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

/**
 * The bucket table of ip_vs_dh_reassign() / ip_vs_sh_reassign(): walk the servers
 * cyclically from the first, each taking one bucket (dh) or `weight` consecutive buckets
 * (sh). As in the kernel, a quiesced server still takes a bucket (sh: `++d_count >= 0`);
 * picking it then finds no server, so its clients are refused rather than moved.
 */
export function bucketTable(servers: readonly RealServer[], weighted: boolean): (string | undefined)[] {
  const table = new Array<string | undefined>(HASH_TABLE_SIZE).fill(undefined);
  if (servers.length === 0) return table;
  let index = 0;
  let filled = 0;
  for (let b = 0; b < HASH_TABLE_SIZE; b++) {
    const owner = servers[index]!;
    table[b] = owner.id;
    if (!weighted || ++filled >= weightOf(owner)) {
      index = (index + 1) % servers.length;
      filled = 0;
    }
  }
  return table;
}

/**
 * dh / sh: the server in the hashed bucket, or none if it is quiesced (the kernel leaves
 * that to the caller; ferry does not set sh-fallback). The table is rebuilt only when the
 * server list changes, as the kernel does on add/del/upd_dest; callers that pass the same
 * array again skip even the comparison.
 */
function hashing(name: Scheduler, key: (flow: Flow) => number | undefined, weighted: boolean): SchedulerInstance {
  let lastServers: readonly RealServer[] | undefined;
  let signature = '';
  let table: (string | undefined)[] = [];
  return {
    name,
    pick(servers, flow) {
      if (servers !== lastServers) {
        lastServers = servers;
        const current = servers.map((s) => `${s.id}*${weightOf(s)}`).join(',');
        if (current !== signature) {
          signature = current;
          table = bucketTable(servers, weighted);
        }
      }
      const bucket = key(flow);
      const id = bucket === undefined ? undefined : table[bucket];
      const server = id === undefined ? undefined : servers.find((s) => s.id === id);
      return server !== undefined && weightOf(server) > 0 ? server : undefined;
    },
  };
}
