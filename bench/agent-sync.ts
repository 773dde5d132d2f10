/**
 * Sync time of the kernel modes at scale, applied for real inside a scratch network
 * namespace: the proxier code path the agent runs, with its commands (nft,
 * iptables-restore, conntrack) prefixed by `ip netns exec`. "Apply" is the time spent in
 * those commands, "render" the rest (planning and writing the input); "peak RSS" is the
 * largest resident size any of those commands reached (GNU time's %M); CPU times are the
 * commands' user + system time (GNU time's %U + %S) and this process's.
 */
import { randomBytes } from 'node:crypto';
import { runCommand, type CommandRunner } from '../src/agent/exec';
import { IptablesProxier } from '../src/agent/iptables/proxier';
import { NftablesProxier } from '../src/agent/nftables/proxier';
import type { Endpoint, Proxier, ProxyState, ServicePort } from '../src/agent/types';
import { sh } from '../test/agent/datapath/support/netns';

export interface SyncTiming {
  totalMs: number;
  renderMs: number;
  applyMs: number;
  /** Peak resident size of the tools the step ran, in KiB (0 when nothing ran). */
  peakRssKb: number;
  /** CPU time (user + system) of the tools, and of this process: unlike wall time, not inflated by a loaded machine. */
  toolCpuMs: number;
  agentCpuMs: number;
  /** The step was stopped at the time limit (its figures are lower bounds). */
  timedOut?: boolean;
  /** For repeated steps: how many runs, and the slowest (the figures are the median run's). */
  runs?: number;
  maxMs?: number;
}

export type ScaleMode = 'nftables' | 'iptables-legacy' | 'iptables-nft';

export interface ScaleResult {
  mode: ScaleMode | 'kube-proxy nftables ruleset';
  services: number;
  endpointsPerService: number;
  timings: Record<string, SyncTiming>;
}

export const STEPS = {
  cold: 'full sync, cold (empty kernel)',
  restart: 'full sync after a restart (rules present)',
  restartChanged: 'full sync after a restart, one Service changed meanwhile',
  periodic: 'full sync, periodic (same process)',
  endpoints: 'one Service: endpoints replaced',
  deleted: 'one Service: deleted',
  afterDeletions: 'full sync, periodic, after the deletions',
} as const;

/** One-Service steps are repeated this many times (different Services) and the median kept. */
export const ONE_SERVICE_RUNS = 9;

/** `services` ClusterIP Services (every fifth also a NodePort) with `endpoints` ready endpoints each. */
export function syntheticState(services: number, endpoints: number, offset = 0): ProxyState {
  const map = new Map<string, ServicePort>();
  for (let s = 0; s < services; s++) {
    const port = servicePort(s, endpoints, offset);
    map.set(`${port.key}/TCP`, port);
  }
  return { nodeName: 'bench-node', nodeIPs: ['192.168.200.1'], services: map };
}

export function servicePort(s: number, endpoints: number, offset = 0): ServicePort {
  const eps: Endpoint[] = Array.from({ length: endpoints }, (_, e) => ({
    ip: `10.${100 + Math.floor(s / 256)}.${s % 256}.${e + 1 + offset}`,
    port: 8080,
    nodeName: e % 2 === 0 ? 'bench-node' : 'other',
    local: e % 2 === 0,
    ready: true,
    serving: true,
    terminating: false,
  }));
  return {
    key: `bench/svc-${s}:http`,
    namespace: 'bench',
    name: `svc-${s}`,
    portName: 'http',
    protocol: 'TCP',
    clusterIPs: [`10.${96 + Math.floor(s / 65536)}.${Math.floor(s / 256) % 256}.${s % 256}`],
    port: 80,
    nodePort: s % 5 === 0 && s / 5 < 2768 ? 30000 + s / 5 : undefined,
    externalLocal: false,
    internalLocal: false,
    healthCheckNodePort: undefined,
    affinity: undefined,
    scheduler: undefined,
    endpoints: eps,
  };
}

const RSS_MARK = 'FERRY_BENCH_MAXRSS=';

export interface TimedRunner {
  run: CommandRunner;
  spent: () => number;
  peakRssKb: () => number;
  cpuMs: () => number;
  reset: () => void;
}

/**
 * A runner that runs every command inside `namespace`, adds up the time spent and records
 * the tools' peak RSS. A command is killed (with everything it started) after `timeoutMs`;
 * its result then says "killed by SIGKILL".
 */
export function timedRunner(namespace: string, timeoutMs = 600_000): TimedRunner {
  let spent = 0;
  let peak = 0;
  let cpu = 0;
  const seconds = String(Math.ceil(timeoutMs / 1000));
  const run: CommandRunner = async (command, args, input) => {
    const start = performance.now();
    try {
      // `timeout` signals its whole process group, so GNU time's child goes too.
      const result = await runCommand('ip', ['netns', 'exec', namespace, 'timeout', '-s', 'KILL', seconds, '/usr/bin/time', '-f', `${RSS_MARK}%M %U %S`, command, ...args], input, timeoutMs + 10_000);
      const lines = result.stderr.split('\n');
      const mark = lines.findLastIndex((l) => l.startsWith(RSS_MARK));
      if (mark >= 0) {
        const [rss, user, system] = lines[mark]!.slice(RSS_MARK.length).split(' ').map(Number);
        peak = Math.max(peak, rss || 0);
        cpu += ((user || 0) + (system || 0)) * 1000;
        lines.splice(mark, 1);
      }
      const stderr = lines.join('\n') + (result.code === 137 ? '\nkilled by SIGKILL' : '');
      return { ...result, stderr };
    } finally {
      spent += performance.now() - start;
    }
  };
  return { run, spent: () => spent, peakRssKb: () => peak, cpuMs: () => cpu, reset: () => ((spent = 0), (peak = 0), (cpu = 0)) };
}

export async function withScratchNamespace<T>(fn: (namespace: string) => Promise<T>): Promise<T> {
  const namespace = `fybench-${randomBytes(3).toString('hex')}`;
  await sh('ip', 'netns', 'add', namespace);
  try {
    return await fn(namespace);
  } finally {
    await sh('ip', 'netns', 'del', namespace).catch(() => {});
  }
}

export async function timed(runner: TimedRunner, fn: () => Promise<unknown>): Promise<SyncTiming> {
  runner.reset();
  const start = performance.now();
  const startCpu = process.cpuUsage();
  let timedOut = false;
  await fn().catch((err: unknown) => {
    if (!/killed by SIGKILL/.test(String((err as Error).message))) throw err;
    timedOut = true;
  });
  const totalMs = performance.now() - start;
  const usage = process.cpuUsage(startCpu);
  return {
    totalMs,
    applyMs: runner.spent(),
    renderMs: Math.max(0, totalMs - runner.spent()),
    peakRssKb: runner.peakRssKb(),
    toolCpuMs: runner.cpuMs(),
    agentCpuMs: (usage.user + usage.system) / 1000,
    ...(timedOut ? { timedOut } : {}),
  };
}

/** The median run of a repeated step, with how many and the slowest. */
export function median(runs: SyncTiming[]): SyncTiming {
  const sorted = [...runs].sort((a, b) => a.totalMs - b.totalMs);
  return { ...sorted[Math.floor(sorted.length / 2)]!, runs: sorted.length, maxMs: sorted.at(-1)!.totalMs, peakRssKb: Math.max(...runs.map((r) => r.peakRssKb)) };
}

function make(mode: ScaleMode, run: CommandRunner): Proxier {
  if (mode === 'nftables') return new NftablesProxier({ run, families: ['ip'] });
  return new IptablesProxier({ run, families: [4], backend: mode === 'iptables-legacy' ? 'legacy' : 'nft' });
}

/**
 * Cold full sync (empty kernel), periodic full sync (same process), full sync after a
 * restart (new process, rules present; and with one Service changed meanwhile), and
 * incremental syncs of one Service: endpoints replaced, and the Service deleted.
 */
export async function measureScale(mode: ScaleMode, services: number, endpoints = 10, stepLimitMs = 600_000): Promise<ScaleResult> {
  return withScratchNamespace(async (namespace) => {
    const runner = timedRunner(namespace, stepLimitMs);
    const state = syntheticState(services, endpoints);
    const timings: Record<string, SyncTiming> = {};
    const result = { mode, services, endpointsPerService: endpoints, timings };
    let proxier = make(mode, runner.run);
    timings[STEPS.cold] = await timed(runner, () => proxier.sync(state, undefined));
    // A tool stopped at the limit leaves the kernel in no known state: nothing more to measure.
    if (timings[STEPS.cold]!.timedOut) return result;
    timings[STEPS.periodic] = await timed(runner, () => proxier.sync(state, undefined));
    proxier = make(mode, runner.run);
    timings[STEPS.restart] = await timed(runner, () => proxier.sync(state, undefined));
    let current = state;
    const change = (s: number) => {
      const services = new Map(current.services);
      services.set(`bench/svc-${s}:http/TCP`, { ...services.get(`bench/svc-${s}:http/TCP`)!, endpoints: servicePort(s, endpoints, 100).endpoints });
      current = { ...current, services };
    };
    if (mode === 'nftables') {
      change(0);
      proxier = make(mode, runner.run);
      timings[STEPS.restartChanged] = await timed(runner, () => proxier.sync(current, undefined));
    }
    // One-Service changes are short and noisy: the median of several, each a different Service.
    const oneService = async (edit: (s: number) => void, first: number): Promise<SyncTiming> => {
      const runs: SyncTiming[] = [];
      for (let s = first; s < first + ONE_SERVICE_RUNS; s++) {
        edit(s);
        runs.push(await timed(runner, () => proxier.sync(current, new Set([`bench/svc-${s}:http/TCP`]))));
      }
      return median(runs);
    };
    timings[STEPS.endpoints] = await oneService(change, 1);
    timings[STEPS.deleted] = await oneService((s) => {
      const services = new Map(current.services);
      services.delete(`bench/svc-${s}:http/TCP`);
      current = { ...current, services };
    }, 1 + ONE_SERVICE_RUNS);
    if (mode === 'nftables') {
      // Retired chains and sets are deleted here, a second after the changes.
      await new Promise((r) => setTimeout(r, 1100));
      timings[STEPS.afterDeletions] = await timed(runner, () => proxier.sync(current, undefined));
    }
    return result;
  });
}
