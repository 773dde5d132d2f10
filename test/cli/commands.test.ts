import { CoreV1Api } from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { runLocal } from '../../src/local/playground';
import { startSandbox, type Sandbox } from '../../src/local/sandbox';
import { EMBEDDED } from '../support/world';

/** The `ferry` command as a user runs it: environment in, text out. */
describe('ferry CLI', () => {
  let sandbox: Sandbox;
  let output: string[];
  const env = process.env;

  beforeAll(async () => {
    sandbox = await startSandbox({ cluster: 'cli', seed: { instances: 2 } });
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'ferry-')), 'kubeconfig');
    await sandbox.kubeEmulator!.writeKubeconfig(kubeconfig);
    process.env = { ...env, FERRY_CLUSTER_NAME: 'cli', KUBECONFIG: kubeconfig, AWS_ENDPOINT_URL: sandbox.awsEmulator!.endpoint, FERRY_VPC_ID: sandbox.seeded.vpcId };
    await sandbox.kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] } },
    });
  }, 30_000);
  afterAll(async () => {
    process.env = env;
    await sandbox.close();
  });
  beforeEach(() => {
    output = [];
    jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void output.push(args.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void output.push(args.join(' ')));
  });
  afterEach(() => jest.restoreAllMocks());

  test('ferry reconcile prints the actions and the AWS calls by operation', async () => {
    expect(await main(['reconcile', 'default/web'])).toBe(0);
    const text = output.join('\n');
    expect(text).toMatch(/^default\/web: ensured\n/);
    expect(text).toMatch(/create internal load balancer k8s-default-web-[0-9a-f]{10} in subnet-/);
    expect(text).toMatch(/hostname: k8s-default-web-.*\.elb\.us-east-1\.amazonaws\.com/);
    expect(text).toMatch(/AWS calls: \d+\n(.|\n)*CreateLoadBalancer\s+1/);
  });

  test('a second ferry reconcile makes no AWS call; --full reads only', async () => {
    expect(await main(['reconcile', 'default/web'])).toBe(0);
    expect(output.join('\n')).toMatch(/^default\/web: unchanged\n {2}hostname: \S+\.elb\.us-east-1\.amazonaws\.com\nAWS calls: none$/);
    output = [];
    expect(await main(['reconcile', 'default/web', '--full'])).toBe(0);
    expect(output.join('\n')).toMatch(/^default\/web: in-sync/);
    expect(output.join('\n')).not.toMatch(/^\s+(Create|Modify|Delete|Register)/m);
  });

  test('ferry gc finds nothing to collect while the Service lives', async () => {
    expect(await main(['gc'])).toBe(0);
    expect(output[0]).toBe('no orphaned resources');
  });

  test('bad arguments and configuration are refused with what is accepted, exit code 2', async () => {
    expect(await main(['reconcile', 'web'])).toBe(2);
    expect(output.pop()).toBe('ferry reconcile: <service> "web" is invalid; accepted: <namespace>/<name> such as default/web');
    process.env = { ...process.env, FERRY_CLUSTER_NAME: '' };
    expect(await main(['reconcile', 'default/web'])).toBe(2);
    expect(output.pop()).toMatch(/^ferry reconcile: invalid configuration:\n {2}FERRY_CLUSTER_NAME is required/);
    process.env = { ...process.env, FERRY_CLUSTER_NAME: 'cli', FERRY_AWS_CONCURRENCY: '0' };
    expect(await main(['gc'])).toBe(2);
    expect(output.pop()).toMatch(/^ferry gc: invalid configuration:\n {2}FERRY_AWS_CONCURRENCY="0" is invalid; accepted: a whole number from 1 to 32$/);
    delete process.env.FERRY_AWS_CONCURRENCY;
  });

  test('ferry manifests --image sets the agent DaemonSet\'s image (--agent-image too); the default is this release\'s', async () => {
    const image = async (...flags: string[]) => {
      let yaml = '';
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((yaml += String(chunk)), true));
      expect(await main(['manifests', '--webhook-url', 'https://hooks.example.com', '--token', 't', ...flags])).toBe(0);
      return [...yaml.matchAll(/^ {10}image: (.*)$/gm)].map((m) => m[1]);
    };
    expect(await image('--image', 'registry.example.com/ferry:dev')).toEqual(['registry.example.com/ferry:dev']);
    expect(await image('--agent-image', 'registry.example.com/ferry:old')).toEqual(['registry.example.com/ferry:old']);
    expect(await image()).toEqual([`ghcr.io/ferry-io/ferry:${(require('../../package.json') as { version: string }).version}`]);
    expect(await image('--no-agent')).toEqual([]);
  });

  test('ferry local (npm start) shows a Service become a load balancer and go again', async () => {
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'ferry-local-')));
    try {
      expect(await runLocal(EMBEDDED ? {} : { AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL })).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    const text = output.join('\n');
    expect(text).toMatch(/default\/ferry-example: ensured/);
    expect(text).toMatch(/listener TCP:80 → k8s-default-ferryexa-/);
    expect(text).toMatch(/targets: {9}i-[0-9a-f]+:3\d{4}, i-/);
    expect(text).toMatch(/Service status.loadBalancer: \{"ingress":\[\{"hostname":"k8s-default-ferryexa-/);
    expect(text).toMatch(/default\/ferry-example: deleted/);
    expect(text).toMatch(/== after the delete\n\(no resources\)\nService default\/ferry-example: gone/);
  });
});
