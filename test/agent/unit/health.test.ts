import type { Server } from 'node:http';
import { nodeEligible, ProxyHealth, ServiceHealthServers, startHealthServer, TO_BE_DELETED_TAINT } from '../../../src/agent/health';
import { boundPort, closeServer } from '../../../src/agent/http';
import { newNode } from './fixtures';

describe('/healthz and /livez (kube-proxy semantics)', () => {
  let now = 1_000_000;
  let node = newNode();
  let informersSilent: string | undefined;
  const answers: string[] = [];
  const health = new ProxyHealth(60_000, () => now, () => informersSilent);
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = await startHealthServer('127.0.0.1', 0, health, () => node, (path, code) => answers.push(`${path} ${code}`));
    base = `http://127.0.0.1:${boundPort(server)}`;
  });
  afterAll(() => closeServer(server));
  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, type: res.headers.get('content-type'), nosniff: res.headers.get('x-content-type-options'), body: (await res.json()) as Record<string, unknown> };
  };

  test('healthy after a sync: 200 with kube-proxy\'s JSON; lastUpdated reads "now"', async () => {
    health.updated();
    now += 5000;
    const r = await get('/healthz');
    expect(r).toMatchObject({ status: 200, type: 'application/json', nosniff: 'nosniff' });
    expect(Object.keys(r.body)).toEqual(['lastUpdated', 'currentTime', 'nodeEligible', 'healthy', 'status']);
    expect(r.body).toMatchObject({ lastUpdated: new Date(now).toISOString(), currentTime: new Date(now).toISOString(), nodeEligible: true, healthy: true });
    expect((await get('/livez')).body).not.toHaveProperty('nodeEligible');
  });

  test('stale rules: an update queued longer than the timeout makes both 503; applying it heals', async () => {
    health.queuedUpdate();
    now += 59_000;
    expect((await get('/healthz')).status).toBe(200);
    now += 2000;
    expect((await get('/healthz')).status).toBe(503);
    expect((await get('/livez')).body).toMatchObject({ healthy: false });
    health.updated();
    expect((await get('/livez')).status).toBe(200);
  });

  test('stale rules say why in `reason`, after kube-proxy\'s fields', async () => {
    health.queuedUpdate();
    now += 61_000;
    const r = await get('/livez');
    expect(Object.keys(r.body)).toEqual(['lastUpdated', 'currentTime', 'healthy', 'status', 'reason']);
    expect(r.body.reason).toBe('an update queued 61s ago is not applied yet (limit 60s)');
    health.updated();
  });

  test('informers that heard nothing past their bound make /healthz 503 with their reason; /livez stays 200 (an API outage must not restart agents)', async () => {
    informersSilent = 'no word from the API server past 150s (no list, event or bookmark): services 151s';
    expect(await get('/healthz')).toMatchObject({ status: 503, body: { healthy: false, nodeEligible: true, reason: informersSilent } });
    expect(await get('/livez')).toMatchObject({ status: 200, body: { healthy: true } });
    informersSilent = undefined;
    expect((await get('/healthz')).status).toBe(200);
  });

  test('every answer is reported with its path and code (for kubeproxy_proxy_healthz_total / livez_total)', async () => {
    answers.length = 0;
    await get('/livez');
    informersSilent = 'silent';
    await get('/healthz');
    informersSilent = undefined;
    await fetch(`${base}/other`);
    expect(answers).toEqual(['/livez 200', '/healthz 503']);
  });

  test('a Node being deleted or tainted for deletion fails /healthz but not /livez', async () => {
    node = newNode('node1', (n) => (n.spec = { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] }));
    expect(await get('/healthz')).toMatchObject({ status: 503, body: { nodeEligible: false, healthy: true, reason: `the Node is tainted ${TO_BE_DELETED_TAINT}` } });
    expect((await get('/livez')).status).toBe(200);
    node = newNode('node1', (n) => (n.metadata!.deletionTimestamp = new Date()));
    expect(await get('/healthz')).toMatchObject({ status: 503, body: { reason: 'the Node is being deleted' } });
    node = newNode();
    expect((await get('/healthz')).status).toBe(200);
  });

  test('nodeEligible', () => {
    expect(nodeEligible(undefined)).toBe(false);
    expect(nodeEligible(newNode())).toBe(true);
  });
});

describe('healthCheckNodePort servers', () => {
  test('one server per Local Service: 200 with local endpoints, 503 without or when the proxy is unhealthy', async () => {
    let healthy = true;
    const servers = new ServiceHealthServers(() => ['127.0.0.1'], () => healthy);
    const probe = await startHealthServer('127.0.0.1', 0, new ProxyHealth(1), () => undefined);
    const port = boundPort(probe);
    await closeServer(probe); // a free port for the Service
    try {
      await servers.sync(new Map([['default/web', { namespace: 'default', name: 'web', port }]]), new Map([['default/web', 2]]));
      let res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-load-balancing-endpoint-weight')).toBe('2');
      expect(await res.text()).toBe('{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}');
      await servers.sync(new Map([['default/web', { namespace: 'default', name: 'web', port }]]), new Map());
      res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });
      healthy = false;
      await servers.sync(new Map([['default/web', { namespace: 'default', name: 'web', port }]]), new Map([['default/web', 1]]));
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).json()).toMatchObject({ localEndpoints: 1, serviceProxyHealthy: false });
      await servers.sync(new Map(), new Map());
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      await servers.close();
    }
  });
});
