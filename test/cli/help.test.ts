import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `ferry` as a user runs it: `node bin/ferry.js …` in a fresh process, from a directory
 * outside the checkout, with no ferry configuration in the environment. Help and
 * --version exit 0; a usage or configuration error exits 2 and names what is wrong; a
 * failure while running exits 1.
 */
const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'bin/ferry.js');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
// Only what a shell always has: no FERRY_*, AWS_*, KUBECONFIG or NODE_NAME.
const BARE_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ferry(args: string[], options: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], { cwd: tmpdir(), env: { ...BARE_ENV, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const RECONCILER_ENV = ['FERRY_CLUSTER_NAME', 'KUBECONFIG', 'AWS_REGION', 'AWS_ENDPOINT_URL', 'FERRY_CLAIM_UNCLASSED', 'FERRY_VPC_ID', 'FERRY_AWS_CONCURRENCY', 'FERRY_NODE_HEALTH_PORT'];

const COMMANDS: Array<[command: string, flags: string[], environment: string[]]> = [
  ['reconcile', ['<service>', '--full'], RECONCILER_ENV],
  ['gc', [], RECONCILER_ENV],
  ['local', ['--keep', '--kernel'], ['FERRY_CLUSTER_NAME', 'KUBECONFIG', 'AWS_ENDPOINT_URL']],
  [
    'controller',
    ['--listen', '--tls-cert', '--tls-key', '--tls-san', '--token', '--workers', '--resync', '--read-budget', '--watch'],
    [...RECONCILER_ENV, 'FERRY_READ_BUDGET', 'FERRY_WEBHOOK_TOKEN', 'FERRY_CONTROLLER_USERNAMES', 'FERRY_LOG_LEVEL'],
  ],
  ['migrate', ['--file', '--class', '--adopt'], ['KUBECONFIG']],
  ['manifests', ['--webhook-url', '--token', '--ca-bundle', '--namespace', '--image', '--agent-image', '--agent-mode', '--no-agent'], []],
  [
    'agent',
    [
      '--mode', '--node-name', '--kubeconfig', '--scheduler', '--healthz-bind', '--metrics-bind', '--sync-period', '--min-sync-interval', '--nodeport-addresses', '--iptables-backend', '--cleanup',
      '--config', '--bind-address', '--cluster-cidr', '--detect-local-mode', '--pod-bridge-interface', '--pod-interface-name-prefix', '--masquerade-all',
      '--conntrack-max-per-core', '--conntrack-min', '--conntrack-tcp-timeout-established', '--conntrack-tcp-timeout-close-wait', '--conntrack-tcp-be-liberal', '--conntrack-udp-timeout', '--conntrack-udp-timeout-stream',
      '--feature-gates', '--v', '--proxy-mode', '--hostname-override', '--healthz-bind-address', '--metrics-bind-address', '--iptables-sync-period', '--iptables-min-sync-period', '--ipvs-sync-period', '--ipvs-min-sync-period', '--ipvs-scheduler',
    ],
    ['NODE_NAME', 'KUBECONFIG', 'FERRY_LOG_LEVEL'],
  ],
];

describe('ferry --help, --version and exit codes (spawned, as a user runs them)', () => {
  test.each(COMMANDS)('ferry %s --help exits 0 without any configuration and lists its flags and environment', async (command, flags, environment) => {
    const run = await ferry([command, '--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^Usage: ferry ${command} `));
    for (const flag of [...flags, '--help']) expect(run.stdout).toContain(flag);
    const listed = run.stdout.split(/^Environment variables:$/m)[1] ?? '';
    for (const variable of environment) expect(listed).toMatch(new RegExp(`^ {2}${variable} `, 'm'));
  }, 60_000);

  test('ferry --help lists every command; ferry help <command> is its --help', async () => {
    const [top, help] = await Promise.all([ferry(['--help']), ferry(['help', 'gc'])]);
    expect(top.code).toBe(0);
    for (const [command] of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ferry gc /);
  }, 60_000);

  test('ferry --version and -V print the version of package.json', async () => {
    const runs = await Promise.all([ferry(['--version']), ferry(['-V'])]);
    for (const run of runs) expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  }, 60_000);

  test.each([
    [['gc', '--frob'], "ferry gc: unknown option '--frob'"],
    [['frobnicate'], "ferry: unknown command 'frobnicate'"],
    [['reconcile'], "ferry reconcile: missing required argument 'service'"],
    [['controller', '--workers', '0'], 'ferry controller: --workers "0" is invalid; accepted: a whole number from 1 to 64'],
    [['manifests', '--token', 't'], "ferry manifests: required option '--webhook-url <url>' not specified"],
    [['agent', '--mode', 'ebpf'], 'ferry agent: --mode "ebpf" is not supported: expected one of nftables, iptables, ipvs, userspace'],
    [['agent', '--node-name'], "ferry agent: option '--node-name <name>' argument missing"],
    [['agent', '--proxy-mode', 'ebpf'], 'ferry agent: --proxy-mode "ebpf" is not supported: expected one of nftables, iptables, ipvs, userspace'],
    [['agent', '--config', '/nonexistent/config.conf'], "ferry agent: --config \"/nonexistent/config.conf\": cannot read it: ENOENT: no such file or directory, open '/nonexistent/config.conf'"],
    [['agent', '--init-only'], 'ferry agent: --init-only is not supported: the agent has no separate privileged initialisation (run it with NET_ADMIN, as kube-proxy after --init-only)'],
  ])('usage error: ferry %j exits 2 and says %s', async (args, message) => {
    const run = await ferry(args);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(message);
    expect(run.stdout).toBe('');
  }, 60_000);

  test('bad configuration exits 2 naming the variable, the value and what is accepted', async () => {
    const run = await ferry(['gc'], { env: { FERRY_CLUSTER_NAME: 'dev', AWS_REGION: 'eu-west-1', FERRY_AWS_CONCURRENCY: '0' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('ferry gc: invalid configuration:\n  FERRY_AWS_CONCURRENCY="0" is invalid; accepted: a whole number from 1 to 32\n');
  }, 60_000);

  test('a failure while running exits 1', async () => {
    const run = await ferry(['manifests', '--webhook-url', 'https://example.com', '--token', 't', '--ca-bundle', '/nonexistent/ca.pem']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ferry manifests: ENOENT: no such file or directory, open '\/nonexistent\/ca\.pem'/);
  }, 60_000);

  test('ferry agent loads nothing of the controller, the AWS SDK or the emulators', async () => {
    // The agent runs as far as reading its kubeconfig: by then its whole module graph is loaded.
    const dir = mkdtempSync(join(tmpdir(), 'ferry-modules-'));
    const hook = join(dir, 'hook.js');
    const list = join(dir, 'modules.json');
    writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(Object.keys(require.cache))));`);
    const run = await ferry(['agent', '--mode', 'userspace', '--node-name', 'n', '--kubeconfig', join(dir, 'missing'), '--healthz-bind', '', '--metrics-bind', ''], {
      nodeArgs: ['--require', hook],
    });
    expect(run.stderr).toMatch(/^ferry agent: ENOENT: .*missing/);
    expect(run.code).toBe(1);
    const modules = (JSON.parse(readFileSync(list, 'utf8')) as string[]).map((m) => m.slice(ROOT.length));
    expect(modules).toContainEqual(expect.stringMatching(/^\/(src|dist)\/agent\/run\.(ts|js)$/));
    expect(modules.filter((m) => /@aws-sdk|@smithy|packages\/emulators|\/(src|dist)\/(reconcile|aws|plan|wiring|hosts|local|cli\/(?!main))\//.test(m))).toEqual([]);
  }, 60_000);
});
