/**
 * The iptables mode's thin edge: one `iptables-restore --noflush` per family per sync,
 * the jumps from the built-in chains ensured on full syncs, stale UDP conntrack cleared.
 */
import { clearConntrack, staleConntrackFilters } from '../conntrack';
import { runChecked, runCommand, type CommandRunner } from '../exec';
import type { IptablesBackend, Proxier, ProxyState, SyncResult } from '../types';
import { cleanupRestore, JUMP_RULES, missingJumps, planRestore, serviceChainsIn } from './restore';
import type { IpFamily, IptablesServiceRender } from './service';

export interface IptablesOptions {
  log?: (line: string) => void;
  /** Which iptables to drive; `auto` (the default) follows the host's existing rules. */
  backend?: IptablesBackend;
  run?: CommandRunner;
  families?: readonly IpFamily[];
}

const TOOLS: Record<IpFamily, { iptables: string; restore: string; save: string }> = {
  4: { iptables: 'iptables', restore: 'iptables-restore', save: 'iptables-save' },
  6: { iptables: 'ip6tables', restore: 'ip6tables-restore', save: 'ip6tables-save' },
};

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

  constructor(options: IptablesOptions = {}) {
    this.run = options.run ?? runCommand;
    this.log = options.log ?? (() => {});
    this.families = options.families ?? [4, 6];
  }

  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult> {
    const full = changed === undefined || !this.trusted;
    this.trusted = false;
    for (const family of this.families) {
      const tools = TOOLS[family];
      const natSave = full ? await runChecked(this.run, tools.save, ['-t', 'nat']) : '';
      const existing = full ? serviceChainsIn(natSave) : undefined;
      const plan = planRestore({
        family,
        state,
        previous: this.records.get(family) ?? new Map(),
        changed: full ? undefined : changed,
        existing,
      });
      await runChecked(this.run, tools.restore, [...WAIT, '--noflush'], plan.text);
      if (full) await this.ensureJumps(family, natSave);
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

  /**
   * Inserts the jumps that `iptables-save` does not show. Checking the saved text rather
   * than running `iptables -C` per rule matters at scale: with the nf_tables backend every
   * iptables call reads the whole table first.
   */
  private async ensureJumps(family: IpFamily, natSave: string): Promise<void> {
    const { iptables, save } = TOOLS[family];
    const saved = { nat: natSave, filter: await runChecked(this.run, save, ['-t', 'filter']) };
    for (const jump of missingJumps(saved)) {
      await runChecked(this.run, iptables, [...WAIT, '-t', jump.table, '-I', jump.chain, ...jump.rule]);
    }
  }

  async cleanup(): Promise<void> {
    for (const family of this.families) {
      const { iptables, restore, save } = TOOLS[family];
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
    this.records.clear();
    this.trusted = false;
  }

  async close(): Promise<void> {}
}
