/**
 * Sync time of the kernel modes at scale, applied for real inside a scratch network
 * namespace: the proxier code path the agent runs, with its commands (nft, iptables-restore,
 * conntrack) prefixed by `ip netns exec`. "Apply" is the time spent in those commands,
 * "render" the rest (planning and writing the input).
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
  /** The step was stopped at the time limit (its figures are lower bounds). */
  timedOut?: boolean;
  /** For repeated steps: how many runs, and the slowest (the figures are the median run's). */
  runs?: number;
  maxMs?: number;
}

export interface ScaleResult {
  mode: 'nftables' | 'iptables';
  services: number;
  endpointsPerService: number;
  timings: Record<string, SyncTiming>;
}

/** One-Service steps are repeated this many times (different Services) and the median kept. */
const ONE_SERVICE_RUNS = 9;

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

/** A runner that runs every command inside `namespace` and adds up the time spent. */
export function timedRunner(namespace: string, timeoutMs = 600_000): { run: CommandRunner; spent: () => number; reset: () => void } {
  let spent = 0;
  const run: CommandRunner = async (command, args, input) => {
    const start = performance.now();
    try {
      return await runCommand('ip', ['netns', 'exec', namespace, command, ...args], input, timeoutMs);
    } finally {
      spent += performance.now() - start;
    }
  };
  return { run, spent: () => spent, reset: () => (spent = 0) };
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

async function timed(runner: ReturnType<typeof timedRunner>, fn: () => Promise<unknown>): Promise<SyncTiming> {
  runner.reset();
  const start = performance.now();
  let timedOut = false;
  await fn().catch((err: unknown) => {
    if (!/killed by SIGKILL/.test(String((err as Error).message))) throw err;
    timedOut = true;
  });
  const totalMs = performance.now() - start;
  return { totalMs, applyMs: runner.spent(), renderMs: totalMs - runner.spent(), ...(timedOut ? { timedOut } : {}) };
}

/**
 * Cold full sync (empty kernel), periodic full sync (same process), full sync after a
 * restart (new process, rules present), and incremental syncs of one Service: an endpoint
 * replaced, and the Service deleted.
 */
export async function measureScale(mode: 'nftables' | 'iptables', services: number, endpoints = 10, stepLimitMs = 600_000): Promise<ScaleResult> {
  return withScratchNamespace(async (namespace) => {
    const runner = timedRunner(namespace, stepLimitMs);
    const make = (): Proxier => (mode === 'nftables' ? new NftablesProxier({ run: runner.run, families: ['ip'] }) : new IptablesProxier({ run: runner.run, families: [4] }));
    const state = syntheticState(services, endpoints);
    const timings: Record<string, SyncTiming> = {};
    let proxier = make();
    timings['full sync, cold (empty kernel)'] = await timed(runner, () => proxier.sync(state, undefined));
    // A tool stopped at the limit leaves the kernel in no known state: nothing more to measure.
    if (timings['full sync, cold (empty kernel)']!.timedOut) return { mode, services, endpointsPerService: endpoints, timings };
    timings['full sync, periodic (same process)'] = await timed(runner, () => proxier.sync(state, undefined));
    if (mode === 'nftables') {
      proxier = make();
      timings['full sync after a restart (rules present)'] = await timed(runner, () => proxier.sync(state, undefined));
    }
    // One-Service changes are short and noisy: the median of several, each a different Service.
    let current = state;
    const oneService = async (edit: (services: Map<string, ServicePort>, s: number) => void, first: number): Promise<SyncTiming> => {
      const runs: SyncTiming[] = [];
      for (let s = first; s < first + ONE_SERVICE_RUNS; s++) {
        const services = new Map(current.services);
        edit(services, s);
        current = { ...current, services };
        runs.push(await timed(runner, () => proxier.sync(current, new Set([`bench/svc-${s}:http/TCP`]))));
      }
      runs.sort((a, b) => a.totalMs - b.totalMs);
      return { ...runs[Math.floor(runs.length / 2)]!, runs: runs.length, maxMs: runs.at(-1)!.totalMs };
    };
    timings['one Service: endpoints replaced'] = await oneService((services, s) => {
      services.set(`bench/svc-${s}:http/TCP`, { ...services.get(`bench/svc-${s}:http/TCP`)!, endpoints: servicePort(s, endpoints, 100).endpoints });
    }, 1);
    timings['one Service: deleted'] = await oneService((services, s) => services.delete(`bench/svc-${s}:http/TCP`), 1 + ONE_SERVICE_RUNS);
    if (mode === 'nftables') {
      // The deleted Services' map elements are deleted here (incremental syncs leave them).
      timings['full sync, periodic, after the deletions'] = await timed(runner, () => proxier.sync(current, undefined));
    }
    return { mode, services, endpointsPerService: endpoints, timings };
  });
}
