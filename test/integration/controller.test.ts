import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { CoreV1Api, loadYaml } from '@kubernetes/client-node';
import { connect } from '../../src/wiring/connect';
import { loadConfig } from '../../src/config/env';
import { startController, type Controller } from '../../src/hosts/controller/controller';
import { loadOrGenerateTls, type TlsPair } from '../../src/hosts/tls';
import { startSandbox, type Sandbox } from '../../src/local/sandbox';
import { clusterManifests } from '../../src/manifests/cluster';
import { agentManifestsYaml } from '../../src/manifests/files';
import { review } from '../support/admission';
import { EMBEDDED } from '../support/world';

const TOKEN = 'controller-test-token-0123456789';

function post(url: string, ca: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ferry controller', () => {
  let sandbox: Sandbox;
  let tls: TlsPair;
  let core: CoreV1Api;
  const controllers: Controller[] = [];
  const hostname = async (name: string) =>
    (await core.readNamespacedService({ namespace: 'default', name })).status?.loadBalancer?.ingress?.[0]?.hostname;

  async function start(watch: boolean): Promise<Controller> {
    const config = loadConfig({
      FERRY_CLUSTER_NAME: sandbox.cluster,
      AWS_ENDPOINT_URL: sandbox.awsEmulator?.endpoint ?? process.env.AWS_ENDPOINT_URL,
      AWS_REGION: sandbox.region,
      FERRY_VPC_ID: sandbox.seeded.vpcId,
    });
    const c = await startController(connect(config, sandbox.kc), sandbox.kc, {
      listen: { host: '127.0.0.1', port: 0 },
      tls,
      token: TOKEN,
      workers: 2,
      resyncIntervalMs: 3_600_000,
      watch,
      log: () => undefined,
    });
    controllers.push(c);
    return c;
  }

  beforeAll(async () => {
    sandbox = await startSandbox({
      cluster: `ctl-${process.pid}`,
      ...(EMBEDDED ? {} : { awsEndpoint: process.env.AWS_ENDPOINT_URL! }),
      seed: { instances: 2 },
    });
    core = sandbox.kc.makeApiClient(CoreV1Api);
    tls = await loadOrGenerateTls({ names: ['localhost', '127.0.0.1'] });
  }, 30_000);
  afterAll(async () => {
    for (const c of controllers) await c.stop();
    await sandbox.close();
  });

  test('serves the webhook over HTTPS with its generated certificate, and reconciles what it admits', async () => {
    const controller = await start(false);
    const created = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'hooked' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] } },
    });
    await controller.queue.idle();
    expect(await hostname('hooked')).toBeUndefined();
    const res = await post(controller.url, tls.ca, `/admit/${TOKEN}`, review('Service', 'CREATE', created));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).response.allowed).toBe(true);
    expect(await until('the hostname', () => hostname('hooked'))).toMatch(/\.elb\./);
    expect((await post(controller.url, tls.ca, '/admit/wrong', {})).status).toBe(401);
    await controller.stop();
  });

  test('with --watch, a Service is served without any webhook', async () => {
    await start(true);
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'watched' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] } },
    });
    expect(await until('the hostname', () => hostname('watched'))).toMatch(/\.elb\./);
    await core.deleteNamespacedService({ namespace: 'default', name: 'watched' });
    await until('the Service to go', () =>
      core.readNamespacedService({ namespace: 'default', name: 'watched' }).then(
        () => undefined,
        () => true,
      ),
    );
  });
});

describe('ferry manifests', () => {
  test('the webhook configuration never blocks the cluster, and the role holds only what ferry uses', () => {
    const objects = clusterManifests({ webhookUrl: 'https://abc.lambda-url.us-east-1.on.aws/', token: 't/k' }) as Array<Record<string, any>>;
    const vwc = objects.find((o) => o.kind === 'ValidatingWebhookConfiguration')!;
    expect(vwc.webhooks.map((w: any) => [w.rules[0].resources[0], w.failurePolicy, w.sideEffects, w.timeoutSeconds, w.clientConfig.url])).toEqual([
      ['services', 'Ignore', 'NoneOnDryRun', 3, 'https://abc.lambda-url.us-east-1.on.aws/admit/t%2Fk'],
      ['nodes', 'Ignore', 'NoneOnDryRun', 3, 'https://abc.lambda-url.us-east-1.on.aws/admit/t%2Fk'],
    ]);
    const role = objects.find((o) => o.kind === 'ClusterRole')!;
    const grants = role.rules.flatMap((r: any) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${res}:${v}`))).sort();
    expect(grants).toEqual([
      'endpointslices:get', 'endpointslices:list', 'endpointslices:watch',
      'events:create', 'events:get', 'events:patch',
      'nodes:get', 'nodes:list', 'nodes:watch',
      'services/status:patch',
      'services:get', 'services:list', 'services:patch', 'services:watch',
    ]);
    // Round-trips through YAML as kubectl would read it.
    expect(loadYaml(JSON.stringify(vwc))).toEqual(vwc);
  });
});

describe('manifests/agent.yaml', () => {
  test('is what `ferry manifests` prints for the agent (run `npm run docs` after changing it)', () => {
    expect(readFileSync(`${__dirname}/../../manifests/agent.yaml`, 'utf8')).toBe(agentManifestsYaml());
  });
});
