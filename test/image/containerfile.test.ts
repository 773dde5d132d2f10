import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { KubeEmulator } from '@ferry/emulators';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { bundleAgent } from '../../scripts/bundle-agent';
import { parseAgentOptions } from '../../src/agent/options';
import { PROXY_MODES } from '../../src/agent/types';
import { AGENT_CAPABILITIES, agentManifests } from '../../src/manifests/agent';

/**
 * The Containerfile against the tree it builds: what it copies from the build context is
 * there (and the .dockerignore allowlist lets it through), what it copies from its build
 * stage is what `npm run build` makes, and the DaemonSet starts the image's entry point with
 * flags the agent accepts. No container engine is needed.
 */
const ROOT = join(__dirname, '../..');

interface Instruction {
  stage: string;
  op: string;
  args: string;
}

/** The Containerfile's instructions, continuation lines joined and comments dropped, each with the stage it is in. */
function instructions(): Instruction[] {
  const text = readFileSync(join(ROOT, 'Containerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  let stage = '';
  return lines.map((line) => {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (op.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? 'runtime';
    return { stage, op: op.toUpperCase(), args };
  });
}

interface Copy {
  stage: string;
  from: string | undefined;
  sources: string[];
  destination: string;
}

function copies(): Copy[] {
  return instructions()
    .filter((i) => i.op === 'COPY')
    .map(({ stage, args }) => {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { stage, from, sources: paths.slice(0, -1), destination: paths[paths.length - 1]! };
    });
}

/** `WORKDIR` of a stage. */
function workdir(stage: string): string {
  return instructions().filter((i) => i.stage === stage && i.op === 'WORKDIR').pop()!.args;
}

function entrypoint(): string[] {
  return JSON.parse(instructions().find((i) => i.stage === 'runtime' && i.op === 'ENTRYPOINT')!.args) as string[];
}

/** Whether the .dockerignore allowlist (`*`, then `!path` lines) lets a context path through. */
function admitted(path: string): boolean {
  const allowed = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  const clean = path.replace(/\/$/, '');
  return allowed.some((a) => clean === a || clean.startsWith(`${a}/`));
}

function newestIn(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestIn(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)),
  );
}

/**
 * A folder laid out as the image's /app: the build's dist/ (the checkout's own when it is
 * newer than every source, else a fresh build into this folder), package.json and node_modules.
 */
function builtApp(): string {
  const app = mkdtempSync(join(tmpdir(), 'ferry-image-'));
  // Readable by the unprivileged user the agent is run as below.
  chmodSync(app, 0o755);
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  const dist = join(ROOT, 'dist');
  if (existsSync(join(dist, 'agent.js')) && newestIn(dist) > newestIn(join(ROOT, 'src'))) {
    symlinkSync(dist, join(app, 'dist'));
    return app;
  }
  // `npm run build`'s two compiles and its bundle, into this folder: a dist/ left in the
  // checkout would make bin/ferry.js run this snapshot of the sources from now on.
  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  const steps: Array<[string, string[]]> = [
    [join(ROOT, 'packages/emulators'), ['-p', 'tsconfig.build.json']],
    [ROOT, ['-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')]],
  ];
  for (const [cwd, args] of steps) {
    const result = spawnSync(tsc, args, { cwd, encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) throw new Error(`tsc ${args.join(' ')} in ${cwd} failed, as the image's \`RUN npm run build\` would:\n${result.stdout}${result.stderr}`);
  }
  bundleAgent(join(app, 'dist', 'agent.js'));
  return app;
}

describe('the Containerfile', () => {
  // Built once, for the two tests that look at the build output; the others read files only.
  let build: { app: string } | { error: unknown };
  const app = (): string => {
    if ('error' in build) throw build.error;
    return build.app;
  };
  beforeAll(() => {
    try {
      build = { app: builtApp() };
    } catch (error) {
      build = { error };
    }
  }, 180_000);
  afterAll(() => {
    if ('app' in build) rmSync(build.app, { recursive: true, force: true });
  });

  test('builds on Node 22 slim and installs the tools of every proxy mode', () => {
    const args = instructions().filter((i) => i.op === 'ARG');
    expect(args[0]).toMatchObject({ stage: '', args: 'NODE_IMAGE=node:22-bookworm-slim' });
    const runtime = instructions().filter((i) => i.stage === 'runtime');
    expect(runtime[0]).toMatchObject({ op: 'FROM', args: '${NODE_IMAGE}' });
    const install = runtime.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))!.args;
    for (const tool of ['nftables', 'iptables', 'conntrack', 'ipvsadm']) expect(install.split(/\s+/)).toContain(tool);
  });

  test('everything it copies from the build context exists and is let through by .dockerignore', () => {
    const fromContext = copies()
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(fromContext).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src/']));
    for (const source of fromContext) {
      expect({ source, exists: existsSync(join(ROOT, source)), admitted: admitted(source) }).toEqual({ source, exists: true, admitted: true });
    }
  });

  test('the image holds the build output and production dependencies only: no emulators', () => {
    const runtime = copies().filter((c) => c.stage === 'runtime');
    expect(runtime.filter((c) => c.from === 'build').map((c) => [c.sources, c.destination])).toEqual([[[`${workdir('build')}/dist/`], 'dist/']]);
    expect(existsSync(join(app(), 'dist/agent.js'))).toBe(true);
    const install = instructions().find((i) => i.stage === 'dependencies' && i.op === 'RUN')!.args;
    expect(install).toMatch(/npm ci --omit=dev --workspaces=false/);
    expect(runtime.flatMap((c) => c.sources).filter((s) => /packages|emulators/.test(s))).toEqual([]);
  });

  test("its entry point is the agent's own bundle, and it starts from the build output", () => {
    expect(entrypoint()).toEqual(['node', posix.join(workdir('runtime'), 'dist/agent.js')]);
    const help = spawnSync(process.execPath, [join(app(), 'dist/agent.js'), '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ferry agent /);
  }, 60_000);

  test('the bundled agent lists, watches and serves a NodePort (userspace mode, the embedded API server)', async () => {
    const kube = await KubeEmulator.start();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bundle-'));
    const echo = createServer((socket) => socket.pipe(socket));
    let agent: ChildProcess | undefined;
    try {
      chmodSync(dir, 0o755);
      const kubeconfig = join(dir, 'kubeconfig');
      await kube.writeKubeconfig(kubeconfig);
      chmodSync(kubeconfig, 0o644);
      // A loopback address of its own, so that its NodePort clashes with nothing else here.
      const nodeIP = `127.77.${1 + (process.pid % 250)}.1`;
      await new Promise<void>((resolve) => echo.listen(0, nodeIP, resolve));
      const echoPort = (echo.address() as AddressInfo).port;
      const core = kube.kubeConfig().makeApiClient(CoreV1Api);
      await core.createNode({ body: { metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: nodeIP }] } } });
      const service = await core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'web' }, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: echoPort, protocol: 'TCP' }] } },
      });
      await kube.kubeConfig().makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
        namespace: 'default',
        body: {
          metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4',
          ports: [{ port: echoPort, protocol: 'TCP' }],
          endpoints: [{ addresses: [nodeIP], nodeName: 'node-1', conditions: { ready: true } }],
        },
      });
      const args = [join(app(), 'dist/agent.js'), '--mode', 'userspace', '--node-name', 'node-1', '--kubeconfig', kubeconfig, '--healthz-bind', '', '--metrics-bind', ''];
      // As root, userspace mode would also program this host's nftables; unprivileged it serves NodePorts only.
      const asNobody = process.getuid?.() === 0;
      agent = spawn(asNobody ? 'setpriv' : process.execPath, asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args] : args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      agent.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const answer = await until(20_000, () => echoThrough(nodeIP, service.spec!.ports![0]!.nodePort!));
      expect({ answer, stderr: answer === 'ping' ? '' : stderr }).toEqual({ answer: 'ping', stderr: '' });
    } finally {
      agent?.kill('SIGTERM');
      echo.close();
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test.each(PROXY_MODES)('the DaemonSet (--agent-mode %s) runs that entry point with flags the agent accepts', (mode) => {
    const container = (agentManifests({ image: 'img', mode })[3] as any).spec.template.spec.containers[0];
    expect(container.command).toEqual(entrypoint());
    expect(container.securityContext.capabilities).toEqual({ drop: ['ALL'], add: [...AGENT_CAPABILITIES] });
    // The kubelet expands $(NODE_NAME) from the container's env, which the downward API fills.
    expect(container.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    const args = (container.args as string[]).map((a) => a.replace('$(NODE_NAME)', 'node-1'));
    expect(parseAgentOptions(args, {})).toMatchObject({ mode, nodeName: 'node-1', healthzBind: '0.0.0.0:10256', metricsBind: '0.0.0.0:10249' });
  });
});

/** What a connection to host:port echoes for "ping", or undefined when it is refused. */
function echoThrough(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => socket.end('ping'));
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (got += d));
    socket.once('end', () => resolve(got));
    socket.once('error', () => resolve(undefined));
    socket.setTimeout(2000, () => socket.destroy());
  });
}

/** Polls `probe` every 50 ms until it yields something, for at most `ms`. */
async function until<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
