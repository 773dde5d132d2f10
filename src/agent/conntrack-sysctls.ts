/**
 * The conntrack settings of kube-proxy's configuration (`conntrack.*`, `--conntrack-*`),
 * applied as kube-proxy applies them (pkg/proxy/conntrack/sysctls.go): once, before the
 * first sync, each sysctl written only when given and different from what the kernel has.
 *
 * - `maxPerCore` × CPUs (at least `min`, at most 1,048,576) raises `nf_conntrack_max`, never
 *   lowers it, and the module's `hashsize` follows to a quarter of it;
 * - the timeouts are written in whole seconds; 0 (or absent) leaves the kernel's value;
 * - `tcpBeLiberal` sets `nf_conntrack_tcp_be_liberal` to 1.
 *
 * Unlike kube-proxy, ferry applies no defaults: a setting nobody gave is not written (kube-
 * proxy raises nf_conntrack_max and sets 24 h / 1 h TCP timeouts unless told 0). A write the
 * kernel refuses (nf_conntrack_max and hashsize belong to the initial network namespace;
 * a container may see /proc/sys read-only) is logged and the agent carries on, as kube-proxy
 * does for a read-only /sys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

export interface ConntrackSettings {
  /** Entries per CPU; 0 leaves nf_conntrack_max as it is (and ignores `min`). */
  maxPerCore?: number;
  min?: number;
  tcpEstablishedTimeoutMs?: number;
  tcpCloseWaitTimeoutMs?: number;
  tcpBeLiberal?: boolean;
  udpTimeoutMs?: number;
  udpStreamTimeoutMs?: number;
}

/** kube-proxy's cap on a scaled nf_conntrack_max ("to avoid excessive memory usage on high-core machines"). */
export const CONNTRACK_MAX_LIMIT = 1_048_576;

export const HASHSIZE_PATH = '/sys/module/nf_conntrack/parameters/hashsize';

/** A sysctl write: `raiseOnly` writes only when the current value is lower. */
export interface SysctlWrite {
  /** Path under /proc/sys, or an absolute path (the module parameter). */
  name: string;
  value: number;
  raiseOnly?: boolean;
}

/** The nf_conntrack_max a configuration asks for, or 0 for "leave it". */
export function conntrackMax(settings: ConntrackSettings, cpus: number): number {
  if (!settings.maxPerCore || settings.maxPerCore <= 0) return 0;
  const scaled = settings.maxPerCore * cpus;
  if (scaled > CONNTRACK_MAX_LIMIT) return CONNTRACK_MAX_LIMIT;
  return Math.max(scaled, settings.min ?? 0);
}

/** The writes a configuration asks for, in kube-proxy's order. Pure. */
export function conntrackWrites(settings: ConntrackSettings, cpus: number): SysctlWrite[] {
  const out: SysctlWrite[] = [];
  const max = conntrackMax(settings, cpus);
  if (max > 0) {
    out.push({ name: 'net/netfilter/nf_conntrack_max', value: max, raiseOnly: true });
    out.push({ name: HASHSIZE_PATH, value: Math.floor(max / 4), raiseOnly: true });
  }
  const seconds = (ms: number | undefined) => Math.floor((ms ?? 0) / 1000);
  const timeouts: Array<[string, number | undefined]> = [
    ['nf_conntrack_tcp_timeout_established', settings.tcpEstablishedTimeoutMs],
    ['nf_conntrack_tcp_timeout_close_wait', settings.tcpCloseWaitTimeoutMs],
  ];
  for (const [name, ms] of timeouts) if (seconds(ms) > 0) out.push({ name: `net/netfilter/${name}`, value: seconds(ms) });
  if (settings.tcpBeLiberal) out.push({ name: 'net/netfilter/nf_conntrack_tcp_be_liberal', value: 1 });
  for (const [name, ms] of [['nf_conntrack_udp_timeout', settings.udpTimeoutMs], ['nf_conntrack_udp_timeout_stream', settings.udpStreamTimeoutMs]] as const) {
    if (seconds(ms) > 0) out.push({ name: `net/netfilter/${name}`, value: seconds(ms) });
  }
  return out;
}

export interface SysctlAccess {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
}

const procSys: SysctlAccess = {
  read: (path) => readFile(path, 'utf8'),
  write: (path, value) => writeFile(path, value),
};

function pathOf(name: string): string {
  return name.startsWith('/') ? name : `/proc/sys/${name}`;
}

/**
 * Applies the writes; returns what it changed. Failures are logged (`warn`), never thrown:
 * the proxy works with the kernel's own values.
 */
export async function applyConntrackSettings(
  settings: ConntrackSettings,
  log: { info: (line: string) => void; warn: (line: string) => void },
  access: SysctlAccess = procSys,
  cpus = availableParallelism(),
): Promise<string[]> {
  const changed: string[] = [];
  for (const write of conntrackWrites(settings, cpus)) {
    const path = pathOf(write.name);
    try {
      const current = Number((await access.read(path)).trim());
      if (current === write.value || (write.raiseOnly && current > write.value)) continue;
      await access.write(path, String(write.value));
      changed.push(`${write.name}=${write.value}`);
      log.info(`conntrack: set ${write.name} to ${write.value} (was ${current})`);
    } catch (err) {
      log.warn(`conntrack: cannot set ${write.name} to ${write.value}: ${(err as Error).message} (the kernel's value stays)`);
    }
  }
  return changed;
}
