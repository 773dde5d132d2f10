/**
 * Userspace proxy throughput and added latency, against a direct connection and against
 * HAProxy in TCP mode, in one run over the same three network namespaces:
 *
 *   client ns (10.254.1.1) ── proxy ns (10.254.1.2 | 10.254.2.1) ── server ns (10.254.2.2)
 *
 * "direct" is routed through the proxy namespace by the kernel; ferry and HAProxy listen
 * there and open their own connection to the server. HAProxy runs with `nbthread 1` (a
 * fair match for single-threaded Node) and, for reference, with its default threading.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Section } from './section';

const PEERS = join(__dirname, 'userspace-peers.ts');
const HAPROXY = '/usr/sbin/haproxy';
const CONNECTIONS = 4;
const BYTES_PER_CONNECTION = 256 * 1024 * 1024;
const RUNS = 3;
const ROUND_TRIPS = 5000;
const RUN_TIMEOUT_MS = 60_000;

interface Target {
  label: string;
  ip: string;
  /** Source port, echo port. */
  ports: [number, number];
}

interface Figures {
  label: string;
  mbps: number;
  runs: number[];
  p50Us: number;
  p99Us: number;
}

export const sections: Section[] = [
  {
    name: 'userspace',
    title: 'Userspace proxy: throughput and added latency vs direct and HAProxy (TCP)',
    async run() {
      if (process.getuid?.() !== 0) return 'Skipped: needs root to create network namespaces.';
      return formatFigures(await measure());
    },
  },
];

async function measure(): Promise<Figures[]> {
  const id = `${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const ns = { client: `fub-${id}-c`, proxy: `fub-${id}-p`, server: `fub-${id}-s` };
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  const children: ChildProcess[] = [];
  try {
    setUpNamespaces(ns);
    children.push(await start(ns.server, nodeArgs('server', '10.254.2.2')));
    children.push(await start(ns.proxy, nodeArgs('proxy', '10.254.1.2', '10.254.2.2')));
    children.push(await startHaproxy(ns.proxy, dir, 'one-thread', 31000, 'nbthread 1'));
    children.push(await startHaproxy(ns.proxy, dir, 'default', 32000, ''));
    const targets: Target[] = [
      { label: 'direct (kernel forwarding)', ip: '10.254.2.2', ports: [5001, 5002] },
      { label: 'ferry userspace proxy', ip: '10.254.1.2', ports: [30001, 30002] },
      { label: 'HAProxy, nbthread 1', ip: '10.254.1.2', ports: [31001, 31002] },
      { label: 'HAProxy, default threads', ip: '10.254.1.2', ports: [32001, 32002] },
    ];
    // Runs interleave the targets, so drift on the shared host (2 CPUs here) hits all alike.
    const samples = targets.map(() => ({ mbps: [] as number[], p50: [] as number[], p99: [] as number[] }));
    for (let r = 0; r < RUNS; r++) {
      for (const [i, t] of targets.entries()) {
        const args = ['throughput', t.ip, String(t.ports[0]), String(CONNECTIONS), String(BYTES_PER_CONNECTION)];
        const { bytes, ms } = (await runClient(ns.client, args)) as { bytes: number; ms: number };
        if (bytes !== CONNECTIONS * BYTES_PER_CONNECTION) throw new Error(`${t.label}: short transfer (${bytes} bytes)`);
        samples[i]!.mbps.push(bytes / 1e6 / (ms / 1e3));
        const lat = (await runClient(ns.client, ['latency', t.ip, String(t.ports[1]), String(ROUND_TRIPS)])) as {
          p50Us: number;
          p99Us: number;
        };
        samples[i]!.p50.push(lat.p50Us);
        samples[i]!.p99.push(lat.p99Us);
      }
    }
    const figures: Figures[] = targets.map((t, i) => ({
      label: t.label,
      mbps: median(samples[i]!.mbps),
      runs: samples[i]!.mbps,
      p50Us: median(samples[i]!.p50),
      p99Us: median(samples[i]!.p99),
    }));
    return figures;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function setUpNamespaces(ns: { client: string; proxy: string; server: string }): void {
  const ip = (...args: string[]): void => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  for (const name of Object.values(ns)) ip('netns', 'add', name);
  ip('link', 'add', 'vc', 'netns', ns.client, 'type', 'veth', 'peer', 'name', 'vp1', 'netns', ns.proxy);
  ip('link', 'add', 'vs', 'netns', ns.server, 'type', 'veth', 'peer', 'name', 'vp2', 'netns', ns.proxy);
  const up = (name: string, dev: string, cidr: string): void => {
    ip('-n', name, 'addr', 'add', cidr, 'dev', dev);
    ip('-n', name, 'link', 'set', dev, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  };
  up(ns.client, 'vc', '10.254.1.1/24');
  up(ns.proxy, 'vp1', '10.254.1.2/24');
  up(ns.proxy, 'vp2', '10.254.2.1/24');
  up(ns.server, 'vs', '10.254.2.2/24');
  ip('-n', ns.client, 'route', 'add', 'default', 'via', '10.254.1.2');
  ip('-n', ns.server, 'route', 'add', 'default', 'via', '10.254.2.1');
  ip('netns', 'exec', ns.proxy, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
}

const nodeArgs = (...args: string[]): string[] => [process.execPath, '--import', 'tsx', PEERS, ...args];

/** Starts a long-lived process in `ns` and waits for it to print "ready". */
function start(ns: string, command: string[]): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command.join(' ')} not ready`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${command.join(' ')} exited (${code})`)));
  });
}

async function startHaproxy(ns: string, dir: string, name: string, base: number, threads: string): Promise<ChildProcess> {
  const file = join(dir, `${name}.cfg`);
  writeFileSync(
    file,
    [
      'global',
      '  maxconn 1000',
      threads ? `  ${threads}` : '',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      `frontend source`,
      `  bind 10.254.1.2:${base + 1}`,
      '  default_backend source',
      'backend source',
      '  server s 10.254.2.2:5001',
      `frontend echo`,
      `  bind 10.254.1.2:${base + 2}`,
      '  default_backend echo',
      'backend echo',
      '  server s 10.254.2.2:5002',
      '',
    ].join('\n'),
  );
  const child = spawn('ip', ['netns', 'exec', ns, HAPROXY, '-f', file, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Ready once both frontends listen; bounded by 100 polls.
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `( sport = :${base + 1} or sport = :${base + 2} )`], { encoding: 'utf8' });
    if (r.stdout.trim().split('\n').filter(Boolean).length === 2) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`haproxy (${name}) did not start`);
}

/** Runs one client measurement in the client namespace and parses its JSON line. */
function runClient(ns: string, args: string[]): Promise<unknown> {
  const child = spawn('ip', ['netns', 'exec', ns, ...nodeArgs(...args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!));
      else reject(new Error(`client ${args.join(' ')} failed (${code ?? 'killed'})`));
    });
  });
}

const signed = (x: number): string => (x >= 0 ? `+${x.toFixed(0)}` : `−${(-x).toFixed(0)}`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function formatFigures(figures: Figures[]): string {
  const direct = figures[0]!;
  const ferry = figures[1]!;
  const haproxy = figures[2]!;
  const rows = figures.map(
    (f) =>
      `| ${f.label} | **${f.mbps.toFixed(0)}** (${f.runs.map((r) => r.toFixed(0)).join(', ')}) | ${f.p50Us.toFixed(0)} | ${f.p99Us.toFixed(0)} | ${f === direct ? '—' : signed(f.p50Us - direct.p50Us)} |`,
  );
  const ratio = ferry.mbps / haproxy.mbps;
  return [
    `${CONNECTIONS} parallel connections × ${BYTES_PER_CONNECTION / 1024 / 1024} MiB server→client and ${ROUND_TRIPS} round trips of 64 bytes over one connection after 500 warm-up ones; medians of ${RUNS} interleaved runs. Client, proxy and server each run in their own network namespace on the same host (veth pairs).`,
    '',
    '| path | throughput MB/s (runs) | RTT p50 µs | RTT p99 µs | added p50 µs |',
    '|---|---:|---:|---:|---:|',
    ...rows,
    '',
    `ferry userspace throughput is **${(ratio * 100).toFixed(0)}%** of HAProxy's with one thread (${ratio >= 0.5 ? 'meets' : 'MISSES'} the ≥ 50% target).`,
  ].join('\n');
}
