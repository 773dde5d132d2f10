import type { Server } from 'node:http';
import { nodeEligible, ProxyHealth, ServiceHealthServers, startHealthServer, TO_BE_DELETED_TAINT } from '../../../src/agent/health';
import { boundPort, closeServer } from '../../../src/agent/http';
import { AgentMetrics, startMetricsServer } from '../../../src/agent/metrics';
import { newNode } from './fixtures';

describe('/healthz and /livez (kube-proxy semantics)', () => {
  let now = 1_000_000;
  let node = newNode();
  const health = new ProxyHealth(60_000, () => now);
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = await startHealthServer('127.0.0.1', 0, health, () => node);
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

  test('a Node being deleted or tainted for deletion fails /healthz but not /livez', async () => {
    node = newNode('node1', (n) => (n.spec = { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] }));
    expect(await get('/healthz')).toMatchObject({ status: 503, body: { nodeEligible: false, healthy: true } });
    expect((await get('/livez')).status).toBe(200);
    node = newNode('node1', (n) => (n.metadata!.deletionTimestamp = new Date()));
    expect((await get('/healthz')).status).toBe(503);
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

describe('/metrics', () => {
  test('Prometheus text: sync duration histogram, rules, endpoints, errors', async () => {
    const metrics = new AgentMetrics('nftables');
    metrics.observeSync('full', 0.003, { rules: 120, endpoints: 10, servicePorts: 4 });
    metrics.observeSync('partial', 0.0005, { rules: 121, endpoints: 11, servicePorts: 4 });
    metrics.syncFailed('partial');
    const server = await startMetricsServer('127.0.0.1', 0, metrics);
    try {
      const res = await fetch(`http://127.0.0.1:${boundPort(server)}/metrics`);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(text).toContain('# TYPE ferry_agent_sync_proxy_rules_duration_seconds histogram');
      expect(text).toContain('ferry_agent_sync_proxy_rules_duration_seconds_bucket{mode="nftables",kind="full",le="0.004"} 1');
      expect(text).toContain('ferry_agent_sync_proxy_rules_duration_seconds_bucket{mode="nftables",kind="full",le="0.002"} 0');
      expect(text).toContain('ferry_agent_sync_proxy_rules_duration_seconds_count{mode="nftables",kind="partial"} 1');
      expect(text).toContain('ferry_agent_sync_proxy_rules_errors_total{mode="nftables",kind="partial"} 1');
      expect(text).toContain('ferry_agent_rules{mode="nftables"} 121');
      expect(text).toContain('ferry_agent_endpoints{mode="nftables"} 11');
      expect((await fetch(`http://127.0.0.1:${boundPort(server)}/other`)).status).toBe(404);
    } finally {
      await closeServer(server);
    }
  });
});
