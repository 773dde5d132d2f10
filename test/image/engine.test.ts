import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run image` (scripts/image.ts) picks the first container engine that is installed and
 * answering, and says what it found when none is. The engines here are stand-in scripts on a
 * PATH of their own, so no engine is needed.
 */
const ROOT = join(__dirname, '../..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
let bin: string;

beforeEach(() => {
  bin = mkdtempSync(join(tmpdir(), 'ferry-engines-'));
  symlinkSync(process.execPath, join(bin, 'node'));
});
afterEach(() => rmSync(bin, { recursive: true, force: true }));

/** A stand-in engine: `info` answers as told; every other call is appended to calls.log. */
function engine(name: string, info: { code: number; stderr?: string }): void {
  const script = `#!/bin/sh
if [ "$1" = info ]; then echo '${info.stderr ?? ''}' >&2; exit ${info.code}; fi
echo "${name} $*" >> '${join(bin, 'calls.log')}'
`;
  writeFileSync(join(bin, name), script);
  chmodSync(join(bin, name), 0o755);
}

function image(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/image.ts'), ...args], {
    cwd: ROOT,
    // Only the stand-ins: this machine's own docker client must not be found.
    env: { PATH: bin, HOME: process.env.HOME ?? '/root' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  let calls = '';
  try {
    calls = readFileSync(join(bin, 'calls.log'), 'utf8');
  } catch {
    // no engine was called
  }
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

test('no engine installed: says so for each and exits 1', () => {
  const run = image();
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^npm run image: no usable container engine:\n {2}docker: not installed\n {2}podman: not installed\n {2}buildah: not installed\n {2}nerdctl: not installed\n/);
}, 60_000);

test('a docker client without a reachable daemon does not count', () => {
  engine('docker', { code: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' });
  const run = image();
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(
    '  docker: installed, but its engine is not reachable (`docker info`: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)',
  );
  expect(run.calls).toBe('');
}, 60_000);

test("the first engine that answers builds the Containerfile, tagged with the package's version; --tag and --push", () => {
  engine('docker', { code: 1, stderr: 'Cannot connect to the Docker daemon' });
  engine('podman', { code: 0 });
  engine('buildah', { code: 0 });
  expect(image()).toMatchObject({ code: 0, calls: `podman build --file Containerfile --tag ghcr.io/ferry-io/ferry:${version} .\n` });
  rmSync(join(bin, 'calls.log'));
  expect(image('--engine', 'buildah', '--tag', 'registry.example.com/ferry:dev', '--push')).toMatchObject({
    code: 0,
    calls: 'buildah build --file Containerfile --tag registry.example.com/ferry:dev .\nbuildah push registry.example.com/ferry:dev\n',
  });
}, 60_000);
