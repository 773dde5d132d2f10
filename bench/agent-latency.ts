/**
 * First-connection latency through the nftables mode: a client namespace connects to a
 * ClusterIP that node-namespace rules DNAT to a pod's TCP echo server, and times connect +
 * first byte. The same measurement with 100 and with 10,000 Services programmed shows
 * whether the data path's cost grows with the number of Services (it should not: dispatch is
 * one verdict-map lookup).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { NftablesProxier } from '../src/agent/nftables/proxier';
import type { ProxyState } from '../src/agent/types';
import { exec, sh } from '../test/agent/datapath/support/netns';
import { servicePort, syntheticState, timedRunner } from './agent-sync';

const SUPPORT = join(__dirname, '../test/agent/datapath/support');
const CLUSTER_IP = '10.96.250.1';
const POD_IP = '10.244.250.2';

export interface LatencyResult {
  services: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

// Runs in the client namespace: sequential connections, each timed from connect() to the
// first byte of the greeting; bounded in count and in time.
const CLIENT = `
const net = require('node:net');
const [host, count, budgetMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const samples = [];
const deadline = Date.now() + budgetMs;
function one() {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const s = net.connect({ host, port: 80 });
    const timer = setTimeout(() => { s.destroy(); resolve(undefined); }, 1000);
    s.once('data', () => { clearTimeout(timer); const ms = Number(process.hrtime.bigint() - start) / 1e6; s.destroy(); resolve(ms); });
    s.once('error', () => { clearTimeout(timer); resolve(undefined); });
  });
}
(async () => {
  while (samples.length < count && Date.now() < deadline) { const ms = await one(); if (ms !== undefined) samples.push(ms); }
  process.stdout.write(JSON.stringify(samples));
})();`;

export async function measureLatency(serviceCounts: readonly number[] = [100, 10_000], samples = 3000, rounds = 2): Promise<LatencyResult[]> {
  const id = Math.random().toString(16).slice(2, 8);
  const ns = { client: `fylat${id}-client`, node: `fylat${id}-node`, pod: `fylat${id}-pod` };
  let echo: ChildProcess | undefined;
  try {
    for (const n of Object.values(ns)) {
      await sh('ip', 'netns', 'add', n);
      await sh('ip', '-n', n, 'link', 'set', 'lo', 'up');
    }
    await sh('ip', 'netns', 'exec', ns.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await veth(ns.node, 'cl0', '192.168.250.1/24', ns.client, 'eth0', '192.168.250.2/24');
    await veth(ns.node, 'pod0', '10.244.250.1/24', ns.pod, 'eth0', `${POD_IP}/24`);
    await sh('ip', '-n', ns.client, 'route', 'add', 'default', 'via', '192.168.250.1');
    await sh('ip', '-n', ns.pod, 'route', 'add', 'default', 'via', '10.244.250.1');
    echo = spawn('ip', ['netns', 'exec', ns.pod, process.execPath, join(SUPPORT, 'echo-server.js'), 'pod', '8080', '5353'], { stdio: 'ignore' });
    const runner = timedRunner(ns.node);
    const proxier = new NftablesProxier({ run: runner.run, families: ['ip'] });
    const results = new Map<number, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const count of serviceCounts) {
        await proxier.sync(stateWith(count), undefined);
        await sample(ns.client, 200, 10_000); // warm-up: ARP, code paths
        const got = await sample(ns.client, samples, 30_000);
        results.set(count, [...(results.get(count) ?? []), ...got]);
      }
    }
    return serviceCounts.map((count) => {
      const all = (results.get(count) ?? []).sort((a, b) => a - b);
      return { services: count, samples: all.length, p50Ms: percentile(all, 0.5), p99Ms: percentile(all, 0.99) };
    });
  } finally {
    echo?.kill('SIGKILL');
    for (const n of Object.values(ns)) await exec('ip', ['netns', 'del', n]).catch(() => {});
  }
}

/** `count` Services: the echo pod's, and `count − 1` others with ten endpoints each. */
function stateWith(count: number): ProxyState {
  const state = syntheticState(count - 1, 10);
  const real = { ...servicePort(60_000, 1), key: 'bench/echo:http', name: 'echo', clusterIPs: [CLUSTER_IP], nodePort: undefined };
  real.endpoints = [{ ...real.endpoints[0]!, ip: POD_IP, port: 8080 }];
  return { ...state, services: new Map([...state.services, ['bench/echo:http/TCP', real]]) };
}

async function sample(clientNs: string, count: number, budgetMs: number): Promise<number[]> {
  const result = await exec('ip', ['netns', 'exec', clientNs, process.execPath, '-e', CLIENT, CLUSTER_IP, String(count), String(budgetMs)], budgetMs + 10_000);
  return JSON.parse(result.stdout || '[]') as number[];
}

async function veth(nsA: string, ifA: string, addrA: string, nsB: string, ifB: string, addrB: string): Promise<void> {
  await sh('ip', '-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  await sh('ip', '-n', nsA, 'addr', 'add', addrA, 'dev', ifA);
  await sh('ip', '-n', nsB, 'addr', 'add', addrB, 'dev', ifB);
  await sh('ip', '-n', nsA, 'link', 'set', ifA, 'up');
  await sh('ip', '-n', nsB, 'link', 'set', ifB, 'up');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
