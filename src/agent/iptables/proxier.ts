/**
 * The iptables mode's thin edge: one `iptables-restore --noflush` per family per sync,
 * the jumps from the built-in chains ensured on full syncs, stale UDP conntrack cleared.
 * The backend (legacy or nft iptables) is the one forced, or the host's (backend.ts),
 * detected once before the first sync.
 */
import { clearConntrack, staleConntrackFilters } from '../conntrack';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import type { IptablesBackend, Proxier, ProxyState, SyncResult } from '../types';
import { detectBackend, toolsOf, type Backend, type BackendTools } from './backend';
import { cleanupRestore, JUMP_RULES, missingJumps, planRestore, serviceChainsIn } from './restore';
import type { IpFamily, IptablesServiceRender } from './service';

export interface IptablesOptions {
  log?: (line: string) => void;
  /** Which iptables to drive; `auto` (the default) follows the host's existing rules. */
  backend?: IptablesBackend;
  run?: CommandRunner;
  families?: readonly IpFamily[];
}

/** Wait for the xtables lock (another iptables user) rather than fail. */
const WAIT = ['-w', '5'];

export class IptablesProxier implements Proxier {
  readonly mode = 'iptables' as const;
  private readonly run: CommandRunner;
  private readonly log: (line: string) => void;
  private readonly families: readonly IpFamily[];
  private records = new Map<IpFamily, Map<string, IptablesServiceRender>>();
  private trusted = false;
  private lastState: ProxyState | undefined;
  private readonly backendOption: IptablesBackend;
  private backend: Backend | undefined;

  constructor(options: IptablesOptions = {}) {
    this.run = options.run ?? runCommand;
    this.log = options.log ?? (() => {});
    this.families = options.families ?? [4, 6];
    this.backendOption = options.backend ?? 'auto';
    if (this.backendOption !== 'auto') this.backend = this.backendOption;
  }

  /** The backend in use: forced, or detected once (and logged with the reason). */
  async resolveBackend(): Promise<Backend> {
    if (this.backend === undefined) {
      const { backend, reason } = await detectBackend(this.run);
      this.log(`iptables mode: using iptables-${backend} (--iptables-backend auto: ${reason})`);
      this.backend = backend;
    }
    return this.backend;
  }

  private async tools(family: IpFamily): Promise<BackendTools> {
    return toolsOf(await this.resolveBackend(), family);
  }

  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    const full = changed === undefined || !this.trusted;
    this.trusted = false;
    for (const family of this.families) {
      const tools = await this.tools(family);
      // A full sync reads both tables first: what exists, and which jumps are missing.
      const saved = full ? { nat: await runChecked(this.run, tools.save, ['-t', 'nat']), filter: await runChecked(this.run, tools.save, ['-t', 'filter']) } : undefined;
      const plan = planRestore({
        family,
        state,
        previous: this.records.get(family) ?? new Map(),
        changed: full ? undefined : changed,
        existing: saved && serviceChainsIn(saved.nat),
        jumps: saved && missingJumps(saved),
      });
      await runChecked(this.run, tools.restore, [...WAIT, '--noflush'], plan.text);
      this.records.set(family, plan.services);
    }
    this.trusted = true;
    if (this.lastState) await clearConntrack(this.run, staleConntrackFilters(this.lastState, state, full ? undefined : changed), this.log);
    this.lastState = state;
    let rules = 0;
    let endpoints = 0;
    for (const record of this.records.values()) {
      for (const r of record.values()) {
        rules += r.chains.reduce((n, c) => n + c.rules.length, 0) + r.services.length + r.nodePorts.length + r.filterServices.length + r.filterExternal.length;
        endpoints += r.endpoints;
      }
    }
    return { rules, endpoints };
  }

  /** Removes ferry's chains from both backends (the forced one only, when forced): a host may have switched. */
  async cleanup(): Promise<void> {
    const backends: Backend[] = this.backendOption === 'auto' ? ['nft', 'legacy'] : [this.backendOption];
    for (const backend of backends) {
      for (const family of this.families) {
        const tools = toolsOf(backend, family);
        // A backend that is not installed, or holds nothing of ours, is left alone (without
        // `-t`: naming a table makes the legacy kernel side create it).
        const saved = await this.run(tools.save, []).catch(() => ({ code: 127, stdout: '' }));
        if (saved.code === 0 && saved.stdout.includes(':FERRY-')) await this.cleanupWith(tools);
      }
    }
    this.records.clear();
    this.trusted = false;
  }

  private async cleanupWith({ iptables, restore, save }: BackendTools): Promise<void> {
    // The jumps first: a chain still referenced cannot be deleted.
    for (const jump of JUMP_RULES) {
      // Bounded: a duplicate left by an older agent goes too, but a broken tool cannot loop us.
      for (let i = 0; i < 10; i++) {
        if ((await this.run(iptables, [...WAIT, '-t', jump.table, '-D', jump.chain, ...jump.rule])).code !== 0) break;
      }
    }
    for (const table of ['nat', 'filter'] as const) {
      const input = cleanupRestore(await runChecked(this.run, save, ['-t', table]), table);
      if (input) await runChecked(this.run, restore, [...WAIT, '--noflush'], input);
    }
  }

  async close(): Promise<void> {}
}
