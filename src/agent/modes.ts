/**
 * The proxy modes by name: how each is checked before start and constructed. The agent core
 * (run.ts) knows modes only through this registry and the {@link Proxier} contract.
 */
import { IptablesProxier } from './iptables/proxier';
import { checkIpvs, IpvsProxier } from './ipvs/proxier';
import { NftablesProxier } from './nftables/proxier';
import type { IptablesBackend, Proxier, ProxyMode, Scheduler } from './types';
import { createUserspaceProxier } from './userspace/index';

export interface ModeOptions {
  scheduler: Scheduler;
  /** iptables mode: legacy or nft iptables; `auto` follows the host. */
  iptablesBackend?: IptablesBackend;
  log: (line: string) => void;
}

interface ModeEntry {
  /** Throws a ConfigError saying why the mode cannot run here. */
  preflight?(): Promise<void>;
  create(options: ModeOptions): Proxier;
}

export const MODE_REGISTRY: Record<ProxyMode, ModeEntry> = {
  nftables: { create: (o) => new NftablesProxier({ log: o.log }) },
  iptables: { create: (o) => new IptablesProxier({ log: o.log, backend: o.iptablesBackend ?? 'auto' }) },
  ipvs: { preflight: () => checkIpvs(), create: (o) => new IpvsProxier({ scheduler: o.scheduler, log: o.log }) },
  userspace: {
    // ClusterIPs are redirected to the proxy's listeners only where nft may be used (root).
    create: (o) => createUserspaceProxier({ scheduler: o.scheduler, redirectClusterIPs: process.getuid?.() === 0, log: o.log }),
  },
};

export async function createProxier(mode: ProxyMode, options: ModeOptions): Promise<Proxier> {
  const entry = MODE_REGISTRY[mode];
  await entry.preflight?.();
  return entry.create(options);
}

/**
 * `ferry agent --cleanup`: removes what every mode may have left, as `kube-proxy --cleanup`
 * does, so switching modes leaves nothing behind. Failures are collected, not fatal.
 */
export async function cleanupAll(options: ModeOptions): Promise<string[]> {
  const problems: string[] = [];
  for (const [mode, entry] of Object.entries(MODE_REGISTRY) as Array<[ProxyMode, ModeEntry]>) {
    try {
      await entry.create(options).cleanup();
    } catch (err) {
      problems.push(`${mode}: ${(err as Error).message}`);
    }
  }
  return problems;
}
