/**
 * `ferry local` as a user meets it: `npm start` finishing on its own with requests answered
 * through the NLB; `--keep` printing a curl line that works and stopping when told; and
 * with AWS_ENDPOINT_URL (LocalStack, or anything that is not the embedded emulator) the
 * control plane only, saying why no traffic is routed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AwsEmulator } from '@ferry/emulators';
import { startLoopbackAgent } from '../../src/agent/userspace/loopback';
import { runLocal } from '../../src/local/playground';

const REPO = resolve(__dirname, '../..');
const MAIN = join(REPO, 'src/cli/main.ts');
const NOBODY = 65534;

/** Whether the playground can run as nobody here (the checkout readable by others): then it does, as a user without root would. */
function asNobody(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(MAIN)}, require('fs').constants.R_OK)`], { uid: NOBODY, gid: NOBODY });
  return probe.status === 0;
}

describe('ferry local (npm start)', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-playground-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const nobody = asNobody();
  test(`finishes on its own within 60 s, ending with requests answered through the NLB by pods (run ${nobody ? 'as nobody' : `as uid ${process.getuid?.()}`})`, async () => {
    const cwd = scratch();
    spawnSync('chmod', ['777', cwd]);
    // What `npm start` runs (tsx src/cli/main.ts local), from a directory of its own.
    const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, MAIN, 'local'], {
      cwd,
      // Nothing configured, as on a fresh clone (a LocalStack CI job's AWS_ENDPOINT_URL included).
      // tsx finds tsconfig.json (the emulators' source path) from npm start's working directory, the repository; named here.
      env: { ...process.env, HOME: cwd, FERRY_CLUSTER_NAME: '', AWS_ENDPOINT_URL: '', KUBECONFIG: '', TSX_TSCONFIG_PATH: join(REPO, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(nobody ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    clearTimeout(timer);
    expect({ code, tail: output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(output).toMatch(/== the data plane: real traffic through the NLB \(its clock runs 20× faster/);
    expect(output).toMatch(/== kubectl delete pod ferry-example-\S+ \(on node-0\)[\s\S]*got no new connection/);
    expect(output).toMatch(/== kubectl patch service: externalTrafficPolicy Local[\s\S]*node-2 unhealthy \(Target\.ResponseCodeMismatch/);
    expect(output).toMatch(/== kubectl drain node-1[\s\S]*node-1 draining/);
    expect(output).toMatch(/== after the delete\n\(no resources\)\nService default\/ferry-example: gone/);
    const [, answered, sent] = /Through the NLB: (\d+) of (\d+) requests answered by a pod, the first: TCP:80 GET \/ via 127\.\d+\.128\.\d+ .* → ferry-example-\S+ on node-\d, saw 127\./.exec(output) ?? [];
    expect(Number(answered)).toBeGreaterThan(0);
    expect(answered).toBe(sent);
  }, 70_000);

  test('--keep prints a curl line that reaches a pod through the NLB, and stops when told', async () => {
    const cwd = process.cwd();
    process.chdir(scratch());
    const lines: string[] = [];
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let curlLine: string | undefined;
    const out = (line: string) => {
      lines.push(line);
      curlLine ??= /^\s*(curl --resolve .*)$/.exec(line)?.[1];
    };
    try {
      const done = runLocal({}, { keep: true, startLoopbackAgent, out, until });
      const deadline = Date.now() + 50_000;
      while (!curlLine && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(curlLine).toBeDefined();
      const [, host, port, address] = /--resolve ([^:]+):(\d+):(\S+) http:\/\/\1:\2\/$/.exec(curlLine!) ?? [];
      expect(address).toMatch(/^127\.\d+\.128\.\d+$/);
      const body = await get(address!, Number(port), host!);
      expect(body).toMatch(/^ferry-example-\S+ on node-\d saw 127\.0\.0\.1:\d+$/m);
      expect(lines.join('\n')).toMatch(/export KUBECONFIG=.*\.ferry\/kubeconfig/);
      stop();
      expect(await done).toBe(0);
    } finally {
      stop();
      process.chdir(cwd);
    }
  }, 60_000);

  test('with AWS_ENDPOINT_URL (LocalStack or any endpoint but the embedded one) the control plane runs and no traffic is routed, saying why', async () => {
    const cwd = process.cwd();
    process.chdir(scratch());
    const aws = await AwsEmulator.start();
    const lines: string[] = [];
    try {
      expect(await runLocal({ AWS_ENDPOINT_URL: aws.endpoint }, { startLoopbackAgent, out: (l) => lines.push(l) })).toBe(0);
    } finally {
      process.chdir(cwd);
      await aws.close();
    }
    const text = lines.join('\n');
    expect(text).toMatch(/default\/ferry-example: ensured/);
    expect(text).toMatch(/listener TCP:80 → k8s-default-ferryexa-/);
    expect(text).toMatch(/No traffic is routed: AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ is not ferry's embedded emulator/);
    expect(text).toMatch(/LocalStack's community edition has no ELBv2 at all; its Pro edition .* does not route an NLB's traffic at layer 4 \(localstack\/localstack issue 12928\)/);
    expect(text).not.toMatch(/== the data plane/);
    expect(text).toMatch(/Service default\/ferry-example: gone/);
  }, 30_000);
});

/** `curl --resolve host:port:address http://host:port/`, without needing curl. */
function get(address: string, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path: '/', headers: { Host: `${host}:${port}` }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
