/**
 * `npm run bench -- startup`: how long a node agent takes to start, measured as a node sees
 * it. The embedded Kubernetes API server runs here with one Node (a loopback address of its
 * own) and one NodePort Service with a ready endpoint; the agent is spawned in userspace mode
 * as its DaemonSet would start it, and "start → first sync" runs from the spawn to the first
 * TCP connection its NodePort accepts (in userspace mode the listener is the rule, so that
 * is the first full sync applied). "import" is the time a fresh process takes to load the
 * modules that command loads before the agent starts working.
 *
 * Compiled JavaScript only: the checkout's dist/ when it is newer than src/, else a build
 * into a scratch folder (the checkout's dist/ is left alone: bin/ferry.js would prefer it).
 * With FERRY_BENCH_BEFORE=<a checkout of an older commit> (node_modules linked to this one)
 * the same is measured there; without it, the last recorded "before" rows are kept.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { KubeEmulator } from '@ferry/emulators';
import { bundleAgent } from '../scripts/bundle-agent';
import type { Section } from './section';

const ROOT = join(__dirname, '..');
const RESULTS = join(__dirname, 'results.md');
const RUNS = 7;
const START_TIMEOUT_MS = 30_000;
const TITLE = 'Node agent: start time (userspace mode, embedded Kubernetes API)';

/** One way of starting the agent: where, with which command, loading which modules first. */
interface Variant {
  tree: string;
  how: string;
  root: string;
  /** The command line after `node`, with the agent's flags appended. */
  argv: (root: string) => string[];
  /** Relative to the root: what that command loads before the agent starts working. */
  modules: string[];
}

/** Wall-clock and CPU milliseconds: on a busy shared host the wall clock includes waiting for a core; CPU time hardly does. */
interface Timing {
  wall: number;
  cpu: number;
}

interface Figures {
  variant: Variant;
  imports: Timing[];
  firstSyncs: Timing[];
}

export const sections: Section[] = [
  {
    name: 'startup',
    title: TITLE,
    async run() {
      const after = compiled(ROOT);
      const beforeRoot = process.env.FERRY_BENCH_BEFORE;
      const variants: Variant[] = [];
      if (beforeRoot) {
        variants.push({
          tree: `before (${commitOf(beforeRoot)})`,
          how: "`ferry agent` (bin/ferry.js; the DaemonSet's command then)",
          root: compiled(beforeRoot).root,
          argv: (r) => [join(r, 'bin/ferry.js'), 'agent'],
          modules: ['dist/cli/main.js'],
        });
      }
      variants.push(
        {
          tree: 'after',
          how: "`node dist/agent.js` (the image's entry point: the agent bundled into one file)",
          root: after.root,
          argv: (r) => [join(r, 'dist/agent.js')],
          // The bundle imports the agent's whole module graph up front (scripts/bundle-agent.ts).
          modules: ['dist/agent.js'],
        },
        {
          tree: 'after',
          how: '`node dist/agent/cli.js` (compiled, one module per file)',
          root: after.root,
          argv: (r) => [join(r, 'dist/agent/cli.js')],
          modules: ['dist/agent/cli.js', 'dist/agent/run.js', 'dist/agent/modes.js', 'dist/util/log.js'],
        },
        {
          tree: 'after',
          how: '`ferry agent` (bin/ferry.js, the command table)',
          root: after.root,
          argv: (r) => [join(r, 'bin/ferry.js'), 'agent'],
          modules: ['dist/cli/main.js', 'dist/agent/cli.js', 'dist/agent/run.js', 'dist/agent/modes.js', 'dist/util/log.js'],
        },
      );
      const figures = await measureAll(variants);
      const floor = Array.from({ length: RUNS }, () => importTime({ modules: ['node_modules/@kubernetes/client-node'], root: ROOT }));
      return format(after.how, figures, floor, beforeRoot !== undefined);
    },
  },
];

/** Every variant once per round, so that the host's changing load falls on all of them alike. */
async function measureAll(variants: Variant[]): Promise<Figures[]> {
  const rig = await startCluster();
  try {
    const figures = variants.map((variant): Figures => ({ variant, imports: [], firstSyncs: [] }));
    for (let i = 0; i < RUNS; i++) {
      for (const f of figures) {
        f.imports.push(importTime(f.variant));
        f.firstSyncs.push(await firstSync(f.variant, rig));
      }
    }
    return figures;
  } finally {
    await rig.close();
  }
}

interface Rig {
  kubeconfig: string;
  nodeIP: string;
  nodePort: number;
  close(): Promise<void>;
}

/** The embedded API server with a Node and a NodePort Service whose one endpoint is a local echo server. */
async function startCluster(): Promise<Rig> {
  const kube = await KubeEmulator.start();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-startup-'));
  // Readable by the unprivileged user the agent runs as (see firstSync).
  chmodSync(dir, 0o755);
  const kubeconfig = join(dir, 'kubeconfig');
  await kube.writeKubeconfig(kubeconfig);
  chmodSync(kubeconfig, 0o644);
  // A loopback address of its own, so its NodePort cannot clash with anything else listening here.
  const nodeIP = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const echo = await listen(createServer((socket) => socket.pipe(socket)), nodeIP);
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  const discovery = kube.kubeConfig().makeApiClient(DiscoveryV1Api);
  await core.createNode({ body: { metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: nodeIP }] } } });
  const service = await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'web' }, spec: { type: 'NodePort', ports: [{ name: 'tcp', port: 80, targetPort: echo.port, protocol: 'TCP' }] } },
  });
  await discovery.createNamespacedEndpointSlice({
    namespace: 'default',
    body: {
      metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'tcp', port: echo.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [nodeIP], nodeName: 'node-1', conditions: { ready: true } }],
    },
  });
  return {
    kubeconfig,
    nodeIP,
    nodePort: service.spec!.ports![0]!.nodePort!,
    async close() {
      echo.server.close();
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** From spawning the agent to the first connection its NodePort accepts; with the CPU time the agent had used by then. */
async function firstSync(variant: Variant, rig: Rig): Promise<Timing> {
  const flags = ['--mode', 'userspace', '--node-name', 'node-1', '--kubeconfig', rig.kubeconfig, '--healthz-bind', `${rig.nodeIP}:0`, '--metrics-bind', ''];
  const args = [...variant.argv(variant.root), ...flags];
  // As root the userspace mode would also program this host's nftables (ClusterIP redirects);
  // as an unprivileged user it serves NodePorts only, which is what is timed.
  const [command, argv] = process.getuid?.() === 0 ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  const agent = spawn(command as string, argv as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  agent.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    while (!(await accepts(rig.nodeIP, rig.nodePort))) {
      if (agent.exitCode !== null) throw new Error(`${variant.how} exited with ${agent.exitCode}: ${stderr}`);
      if (performance.now() - started > START_TIMEOUT_MS) throw new Error(`${variant.how}: no NodePort after ${START_TIMEOUT_MS} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return { wall: performance.now() - started, cpu: cpuMsOf(agent.pid!) };
  } finally {
    await kill(agent);
  }
}

/** User + system CPU time of a running process (Linux /proc; setpriv execs, so the pid is the agent's). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  // Fields 14 and 15 of stat(5), counted after the command name: utime and stime in clock ticks (USER_HZ, 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** What a fresh process spends loading the variant's modules. */
function importTime(variant: Pick<Variant, 'modules' | 'root'>): Timing {
  const modules = JSON.stringify(variant.modules.map((m) => join(variant.root, m)));
  const script = `const t = performance.now(); const c = process.cpuUsage(); for (const m of ${modules}) require(m); const u = process.cpuUsage(c); process.stdout.write(JSON.stringify({ wall: performance.now() - t, cpu: (u.user + u.system) / 1000 }));`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`importing ${variant.modules.join(', ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Timing;
}

function newestIn(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestIn(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
}

/**
 * A compiled tree: `root` itself when its dist/ is newer than its src/, else a scratch folder
 * with a fresh build, its package.json, bin/ and a link to its node_modules.
 */
function compiled(root: string): { root: string; how: string } {
  const dist = join(root, 'dist');
  const bundles = existsSync(join(root, 'scripts/bundle-agent.ts'));
  const built = existsSync(join(dist, 'cli/main.js')) && (!bundles || existsSync(join(dist, 'agent.js')));
  if (built && newestIn(dist) > newestIn(join(root, 'src'))) return { root, how: 'its dist/ (newer than src/)' };
  const scratch = mkdtempSync(join(tmpdir(), 'ferry-bench-build-'));
  chmodSync(scratch, 0o755);
  const emulators = join(root, 'packages/emulators');
  if (existsSync(join(emulators, 'tsconfig.build.json'))) tsc(emulators, ['-p', 'tsconfig.build.json']);
  tsc(root, ['-p', 'tsconfig.build.json', '--outDir', join(scratch, 'dist')]);
  if (bundles) bundleAgent(join(scratch, 'dist', 'agent.js'), root);
  copyFileSync(join(root, 'package.json'), join(scratch, 'package.json'));
  mkdirSync(join(scratch, 'bin'));
  copyFileSync(join(root, 'bin/ferry.js'), join(scratch, 'bin/ferry.js'));
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
  process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  return { root: scratch, how: 'a fresh build into a scratch folder (dist/ was missing or older than src/)' };
}

function tsc(cwd: string, args: string[]): void {
  const result = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), args, { cwd, encoding: 'utf8', timeout: 300_000 });
  // tsc emits despite type errors; a missing entry point shows below as a failed start.
  if (result.status !== 0) console.error(`warning: tsc ${args.join(' ')} in ${cwd} reported errors:\n${result.stdout.slice(0, 2000)}`);
}

function commitOf(root: string): string {
  const result = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : root;
}

function listen(server: Server, host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${Math.round(x)} ms`;
const medians = (ts: Timing[]): string => `**${ms(median(ts.map((t) => t.wall)))}** (CPU ${ms(median(ts.map((t) => t.cpu)))})`;
const runs = (ts: Timing[]): string => ts.map((t) => Math.round(t.wall)).join(', ');

function row(f: Figures): string {
  const verdict = median(f.imports.map((t) => t.wall)) < 400 ? 'within' : 'OVER';
  return `| ${f.variant.tree} | ${f.variant.how} | ${medians(f.imports)}, ${verdict} 400 ms | ${medians(f.firstSyncs)} | ${runs(f.imports)} / ${runs(f.firstSyncs)} |`;
}

/** The "before" rows as last recorded, for a run that does not measure them again. */
function recordedBefore(): string[] {
  if (!existsSync(RESULTS)) return [];
  const text = readFileSync(RESULTS, 'utf8');
  const section = text.split(/^(?=## )/m).find((p) => p.startsWith(`## ${TITLE}`)) ?? '';
  return section.split('\n').filter((l) => l.startsWith('| before'));
}

function format(how: string, figures: Figures[], floor: Timing[], measuredBefore: boolean): string {
  return [
    `Medians of ${RUNS} rounds (each round runs every row once), wall clock with CPU time beside it, on a host with load average ${loadavg()[0]!.toFixed(1)} at the end ` +
      '(on a busy host the wall clock includes waiting for a core; the CPU time hardly does). ' +
      '"import": a fresh process loading what the command loads before the agent starts working. ' +
      '"start → first sync": spawn to the first connection the agent\'s NodePort accepts (its first full sync applied), the agent running as an unprivileged user. ' +
      `After: compiled JavaScript from ${how}.` +
      (measuredBefore ? '' : ' Before: as last recorded (`FERRY_BENCH_BEFORE=<checkout of the older commit> npm run bench -- startup` measures it again).'),
    '',
    '| tree | how it starts | import (target 400 ms) | start → first sync | runs, wall: import / first sync (ms) |',
    '|---|---|---:|---:|---|',
    ...(measuredBefore ? [] : recordedBefore()),
    ...figures.map(row),
    '',
    `Of the import, \`@kubernetes/client-node\` alone takes ${medians(floor)} in a fresh process (runs: ${runs(floor)} ms): each unbundled tree loads all of it; the bundle holds only the parts the agent uses (its KubeConfig, none of the generated API).`,
  ].join('\n');
}
