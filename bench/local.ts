/**
 * `npm run bench -- local`: the playground's data path and its start.
 *
 * 1. Requests per second and latency of HTTP requests to a pod through the emulated NLB and
 *    the node's userspace agent (client → NLB listener → ferry agent NodePort → pod), against
 *    the same requests sent to the pod directly. The playground runs as `ferry local` runs
 *    it: the emulators, the three loopback agents and the pods share one process; the load
 *    comes from a child process (this file, run with `client`), so the client's own work is
 *    not counted against either path. Two shapes: a new connection per request (what a
 *    browser or curl does; every hop accepts and dials), and requests on kept-alive
 *    connections (the cost of the splices alone).
 * 2. The time from spawning `npm start` in the checkout, as a user runs it, to the first
 *    request answered by a pod through the NLB (the first such line printed), and to its
 *    exit.
 *
 * Every loop is bounded in count and time; all traffic stays on loopback.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startLoopbackAgent } from '../src/agent/userspace/loopback';
import { LocalCluster } from '../src/local/cluster';
import { LoopbackFabric } from '../src/local/loopback';
import { POD_PORT } from '../src/local/addresses';
import type { Section } from './section';

const ROOT = join(__dirname, '..');
/** Per measurement: at most this many requests, and at most this long. */
const LATENCY_REQUESTS = 1000;
const THROUGHPUT_REQUESTS = 2000;
const CONNECTIONS = 4;
const LOOP_TIME_LIMIT_MS = 15_000;
const RUNS = 3;
const START_RUNS = 3;
const START_TIMEOUT_MS = 90_000;

interface Load {
  mode: 'new' | 'keep';
  host: string;
  port: number;
  hostHeader: string;
  /** Concurrent connections (1 for latency). */
  connections: number;
  requests: number;
}

interface LoadResult {
  requests: number;
  failures: number;
  ms: number;
  /** Per-request latency, microseconds. */
  p50: number;
  p99: number;
}

export const sections: Section[] = [
  {
    name: 'local',
    title: 'ferry local: HTTP through the emulated NLB and a userspace agent vs the pod directly; npm start to the first answer',
    async run() {
      const traffic = await measureTraffic();
      const start = await measureStart();
      return `${traffic}\n\n${start}`;
    },
  },
];

async function measureTraffic(): Promise<string> {
  const cluster = await LocalCluster.start({ cluster: 'bench-local', fabric: await LoopbackFabric.create(startLoopbackAgent), timeScale: 0.05, replicas: 2 });
  try {
    await cluster.createService({
      metadata: { name: 'bench', annotations: { 'ferry.io/scheme': 'internet-facing' } },
      spec: { type: 'LoadBalancer', selector: { app: 'ferry-example' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    });
    await cluster.reconcile('bench');
    const dns = await cluster.hostname('bench');
    await cluster.waitForHealth(dns, (rows) => rows.length === 3 && rows.every((r) => r.state === 'healthy'), 30_000);
    // Through the NLB the requests go to its node in node-0's zone, hence to node-0 (cross-zone is off), whose agent
    // spreads them over both pods; directly they go to node-0's pod. Either way a pod of this process answers.
    const zone = cluster.node('node-0').zone;
    const nlb = cluster.dataPlane.nodes(dns).find((n) => n.availabilityZone === zone)!.address;
    const nlbPort = cluster.traffic.localPort(dns, 80, 'tcp');
    const pod = cluster.deployment.running().find((p) => p.node.name === 'node-0')!;
    const paths = [
      { label: 'pod directly', host: pod.ip, port: POD_PORT },
      { label: 'NLB → agent → pod', host: nlb, port: nlbPort },
    ];
    const rows: string[] = [];
    const load = new LoadClient();
    try {
      for (const mode of ['new', 'keep'] as const) {
        const figures = new Map<string, { rps: number[]; p50: number[]; p99: number[]; failures: number }>();
        // Runs interleave the two paths, so drift on the shared host hits both alike.
        for (let run = 0; run < RUNS; run++) {
          for (const path of paths) {
            const f = figures.get(path.label) ?? { rps: [], p50: [], p99: [], failures: 0 };
            const base = { mode, host: path.host, port: path.port, hostHeader: `${dns}:80` };
            const throughput = await load.run({ ...base, connections: CONNECTIONS, requests: THROUGHPUT_REQUESTS });
            const latency = await load.run({ ...base, connections: 1, requests: LATENCY_REQUESTS });
            f.rps.push(throughput.requests / (throughput.ms / 1000));
            f.p50.push(latency.p50);
            f.p99.push(latency.p99);
            f.failures += throughput.failures + latency.failures;
            figures.set(path.label, f);
          }
        }
        const direct = figures.get(paths[0]!.label)!;
        for (const path of paths) {
          const f = figures.get(path.label)!;
          const added = path === paths[0] ? '—' : `+${fmt(median(f.p50) - median(direct.p50))} / +${fmt(median(f.p99) - median(direct.p99))}`;
          rows.push(
            `| ${mode === 'new' ? 'new connection per request' : 'kept-alive connections'} | ${path.label} | ${Math.round(median(f.rps)).toLocaleString('en')} (${f.rps.map((r) => Math.round(r)).join(', ')}) | ${fmt(median(f.p50))} | ${fmt(median(f.p99))} | ${added} | ${f.failures} |`,
          );
        }
      }
    } finally {
      load.close();
    }
    return [
      `HTTP GET / (the pod's one-line answer) from a client process; throughput with ${CONNECTIONS} connections × ${THROUGHPUT_REQUESTS / CONNECTIONS} requests, latency over ${LATENCY_REQUESTS} sequential requests; medians of ${RUNS} interleaved runs (runs in brackets). The playground process holds the emulators, 3 loopback agents and 2 pods.`,
      '',
      '| requests | path | requests/s (runs) | p50 ms | p99 ms | added p50 / p99 ms | failed |',
      '|---|---|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n');
  } finally {
    await cluster.close();
  }
}

/** This file, run with `client`, in a process of its own: one load at a time, asked for on stdin, answered on stdout. */
class LoadClient {
  private readonly child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, __filename, 'client'], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.child.stdout! });
  private waiting: ((line: string) => void) | undefined;

  constructor() {
    this.lines.on('line', (line) => this.waiting?.(line));
  }

  run(load: Load): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the load client did not answer')), LOOP_TIME_LIMIT_MS + 30_000);
      this.waiting = (line) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(JSON.parse(line) as LoadResult);
      };
      this.child.stdin!.write(`${JSON.stringify(load)}\n`);
    });
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}

async function measureStart(): Promise<string> {
  const runs: Array<{ firstMs: number; exitMs: number }> = [];
  for (let i = 0; i < START_RUNS; i++) runs.push(await timeNpmStart());
  const first = runs.map((r) => r.firstMs);
  const exit = runs.map((r) => r.exitMs);
  return [
    `\`npm start\` spawned in the checkout as a user runs it (npm, tsx, the TypeScript sources, nothing configured), ${START_RUNS} runs:`,
    '',
    '| | median | runs |',
    '|---|---:|---|',
    `| spawn → first request answered by a pod through the NLB (its line printed) | **${(median(first) / 1000).toFixed(1)} s** | ${first.map((m) => (m / 1000).toFixed(1)).join(', ')} s |`,
    `| spawn → exit (the whole story, the Service deleted; the target is under 60 s) | ${(median(exit) / 1000).toFixed(1)} s | ${exit.map((m) => (m / 1000).toFixed(1)).join(', ')} s |`,
  ].join('\n');
}

function timeNpmStart(): Promise<{ firstMs: number; exitMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const env = { ...process.env, AWS_ENDPOINT_URL: '', KUBECONFIG: '', FERRY_CLUSTER_NAME: '' };
    const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let firstMs: number | undefined;
    let out = '';
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), START_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (firstMs === undefined && /^ {4}TCP:80 GET \/ via .* → ferry-example-\S+ on node-\d, saw /m.test(out)) firstMs = performance.now() - started;
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      const exitMs = performance.now() - started;
      if (code !== 0 || firstMs === undefined) return reject(new Error(`npm start exited with ${code} after ${Math.round(exitMs)} ms:\n${out.slice(-2000)}`));
      resolve({ firstMs, exitMs });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fmt(us: number): string {
  return (us / 1000).toFixed(2);
}

// ---- the load client (a child process) ----

async function client(load: Load): Promise<LoadResult> {
  const deadline = Date.now() + LOOP_TIME_LIMIT_MS;
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  const request = `GET / HTTP/1.1\r\nHost: ${load.hostHeader}\r\n${load.mode === 'new' ? 'Connection: close\r\n' : ''}\r\n`;
  const worker = async (): Promise<void> => {
    let socket: Socket | undefined;
    while (next < load.requests && Date.now() < deadline) {
      next++;
      const t0 = performance.now();
      try {
        if (!socket || load.mode === 'new') socket = await open(load.host, load.port);
        await exchange(socket, request);
        latencies.push((performance.now() - t0) * 1000);
      } catch {
        failures++;
        socket?.destroy();
        socket = undefined;
      }
      if (load.mode === 'new') {
        socket?.destroy();
        socket = undefined;
      }
    }
    socket?.destroy();
  };
  await Promise.all(Array.from({ length: load.connections }, worker));
  const ms = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: latencies.length, failures, ms, p50: at(0.5), p99: at(0.99) };
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends one request and reads its answer (headers, then Content-Length bytes). */
function exchange(socket: Socket, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('timeout')), 5000);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffer.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (buffer.length >= end + 4 + length) done(undefined);
    };
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('closed before the answer'));
    const done = (err: Error | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(request);
  });
}

if (require.main === module && process.argv[2] === 'client') {
  // One load per line of stdin, measured one after another; stdin's end (or the parent's SIGKILL) ends it.
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    queue = queue.then(async () => {
      process.stdout.write(`${JSON.stringify(await client(JSON.parse(line) as Load))}\n`);
    });
  });
}
