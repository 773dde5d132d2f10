/**
 * The ipvs mode's thin edge. Before anything else it checks that the kernel has IPVS and
 * refuses to start with a clear message where it does not (`ipvsadm -Ln` answers
 * "Protocol not available"). A sync then: binds the ClusterIPs to the dummy interface,
 * applies the `ipvsadm-restore` diff, and replaces the companion nft table.
 */
import { writeFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { ConfigError } from '../../errors';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import type { Proxier, ProxyState, Scheduler, SyncResult } from '../types';
import { companionCleanup, renderCompanion } from './companion';
import { DUMMY_INTERFACE, ipvsRestoreInput, parseIpvsSave, renderIpvs, type VirtualServer } from './render';

export interface IpvsOptions {
  scheduler: Scheduler;
  log?: (line: string) => void;
  run?: CommandRunner;
  /** Writes a sysctl; by default to /proc/sys. */
  sysctl?: (name: string, value: string) => Promise<void>;
}

/** Throws a {@link ConfigError} naming the problem when the kernel cannot do IPVS. */
export async function checkIpvs(run: CommandRunner = runCommand): Promise<void> {
  let result;
  try {
    result = await run('ipvsadm', ['-Ln']);
  } catch (err) {
    throw new ConfigError(`--mode ipvs needs the ipvsadm tool, which could not be run (${(err as Error).message}); install ipvsadm or use --mode nftables`);
  }
  if (result.code !== 0) {
    const reason = result.stderr.trim().split('\n')[0] ?? `exit ${result.code}`;
    throw new ConfigError(
      `--mode ipvs is not available on this node: the kernel has no IP Virtual Server support (ipvsadm -Ln: ${reason}). ` +
        'Load the ip_vs modules (modprobe ip_vs ip_vs_rr …) or run the agent with --mode nftables.',
    );
  }
}

export class IpvsProxier implements Proxier {
  readonly mode = 'ipvs' as const;
  private readonly run: CommandRunner;
  private readonly log: (line: string) => void;
  private prepared = false;
  private bound = new Set<string>();

  constructor(private readonly options: IpvsOptions) {
    this.run = options.run ?? runCommand;
    this.log = options.log ?? (() => {});
  }

  async sync(state: ProxyState, _changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    if (!this.prepared) await this.prepare();
    const desired = renderIpvs(state, this.options.scheduler);
    await this.bindAddresses(desired.boundAddresses);
    const current = parseIpvsSave(await runChecked(this.run, 'ipvsadm', ['-Sn'])).filter((vs) => this.owns(vs, state));
    const input = ipvsRestoreInput(current, desired.virtualServers);
    if (input) await runChecked(this.run, 'ipvsadm-restore', [], input);
    await runChecked(this.run, 'nft', ['-f', '-'], renderCompanion(desired, state.nodeIPs, state));
    return { rules: desired.virtualServers.reduce((n, vs) => n + 1 + vs.reals.length, 0), endpoints: desired.endpointIPs.length };
  }

  /** Virtual servers on our dummy addresses or the node's addresses are ferry's; others are left alone. */
  private owns(vs: VirtualServer, state: ProxyState): boolean {
    const ip = vs.address.replace(/^\[?(.*?)\]?:\d+$/, '$1');
    return this.bound.has(ip) || state.nodeIPs.includes(ip);
  }

  /** kube-proxy's ipvs sysctls and the dummy interface the ClusterIPs live on. */
  private async prepare(): Promise<void> {
    const sysctl = this.options.sysctl ?? ((name, value) => writeFile(`/proc/sys/${name.replaceAll('.', '/')}`, value));
    // conntrack: let netfilter see IPVS connections (masquerading needs it); the rest drops
    // connections to removed real servers and keeps the dummy addresses out of ARP.
    for (const [name, value] of [
      ['net.ipv4.vs.conntrack', '1'],
      ['net.ipv4.vs.expire_nodest_conn', '1'],
      ['net.ipv4.vs.expire_quiescent_template', '1'],
      ['net.ipv4.ip_forward', '1'],
      ['net.ipv4.conf.all.arp_ignore', '1'],
      ['net.ipv4.conf.all.arp_announce', '2'],
    ] as const) {
      await sysctl(name, value).catch((err: unknown) => this.log(`sysctl ${name}=${value}: ${(err as Error).message}`));
    }
    const link = await this.run('ip', ['link', 'show', DUMMY_INTERFACE]);
    if (link.code !== 0) await runChecked(this.run, 'ip', ['link', 'add', DUMMY_INTERFACE, 'type', 'dummy']);
    const addrs = JSON.parse(await runChecked(this.run, 'ip', ['-j', 'addr', 'show', 'dev', DUMMY_INTERFACE])) as Array<{ addr_info?: Array<{ local: string }> }>;
    this.bound = new Set(addrs.flatMap((a) => (a.addr_info ?? []).map((i) => i.local)));
    this.prepared = true;
  }

  private async bindAddresses(wanted: readonly string[]): Promise<void> {
    const want = new Set(wanted);
    for (const ip of want) {
      if (!this.bound.has(ip)) await runChecked(this.run, 'ip', ['addr', 'add', `${ip}/${isIPv6(ip) ? 128 : 32}`, 'dev', DUMMY_INTERFACE]);
    }
    for (const ip of this.bound) {
      if (!want.has(ip)) await runChecked(this.run, 'ip', ['addr', 'del', `${ip}/${isIPv6(ip) ? 128 : 32}`, 'dev', DUMMY_INTERFACE]);
    }
    this.bound = want;
  }

  async cleanup(): Promise<void> {
    const state: ProxyState = { nodeName: '', nodeIPs: [], services: new Map() };
    const hasIpvs = await this.run('ipvsadm', ['-Ln']).then((r) => r.code === 0, () => false);
    if (hasIpvs && (await this.run('ip', ['link', 'show', DUMMY_INTERFACE])).code === 0) {
      await this.prepare();
      const current = parseIpvsSave(await runChecked(this.run, 'ipvsadm', ['-Sn'])).filter((vs) => this.owns(vs, state));
      const input = ipvsRestoreInput(current, []);
      if (input) await runChecked(this.run, 'ipvsadm-restore', [], input);
      await runChecked(this.run, 'ip', ['link', 'del', DUMMY_INTERFACE]);
    }
    await runChecked(this.run, 'nft', ['-f', '-'], companionCleanup());
  }

  async close(): Promise<void> {}
}
