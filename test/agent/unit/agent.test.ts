/**
 * The agent core against the Kubernetes emulator with a recording proxier (no root): when
 * it syncs, what it hands the proxier, and what it does when the API server goes away.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeEmulator } from '@ferry/emulators';
import { startAgent, type AgentHandle } from '../../../src/agent/run';
import type { Proxier, ProxyState } from '../../../src/agent/types';
import type { LogEntry } from '../../../src/util/log';
import { waitUntil } from '../datapath/topology';

class RecordingProxier implements Proxier {
  readonly mode = 'nftables' as const;
  readonly syncs: Array<{ state: ProxyState; changed: string[] | undefined }> = [];
  async sync(state: ProxyState, changed: ReadonlySet<string> | undefined) {
    this.syncs.push({ state, changed: changed && [...changed].sort() });
    return { rules: state.services.size, endpoints: 0 };
  }
  async cleanup() {}
  async close() {}
  last() {
    return this.syncs[this.syncs.length - 1]!;
  }
}

const ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
const slice = (service: string, ips: string[]) => ({
  metadata: { name: `${service}-1`, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'node1', conditions: { ready: true } })),
});

describe('agent core', () => {
  jest.setTimeout(20_000);
  let kube: KubeEmulator;
  let agent: AgentHandle | undefined;
  let proxier: RecordingProxier;
  let core: CoreV1Api;
  let discovery: DiscoveryV1Api;
  const lines: string[] = [];

  beforeEach(async () => {
    kube = await KubeEmulator.start();
    core = kube.kubeConfig().makeApiClient(CoreV1Api);
    discovery = kube.kubeConfig().makeApiClient(DiscoveryV1Api);
    await core.createNode({ body: { metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } } });
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { ports } } });
    await discovery.createNamespacedEndpointSlice({ namespace: 'default', body: slice('web', ['10.244.1.2']) });
    proxier = new RecordingProxier();
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await kube.close();
  });

  const start = (syncPeriodMs = 30_000, kubeConfig = kube.kubeConfig()) =>
    startAgent({
      mode: 'nftables', nodeName: 'node1', kubeconfig: undefined, scheduler: 'rr', healthzBind: '127.0.0.1:0', metricsBind: '127.0.0.1:0',
      syncPeriodMs, minSyncIntervalMs: 50, nodePortAddresses: [], kubeConfig, proxier, log: (l) => lines.push(l),
    });

  test('first a full sync of everything listed, then partial syncs of what changed; healthz and metrics answer', async () => {
    agent = await start();
    await agent.firstSync;
    expect(proxier.syncs[0]!.changed).toBeUndefined();
    expect([...proxier.syncs[0]!.state.services.keys()]).toEqual(['default/kubernetes:https/TCP', 'default/web:http/TCP']);
    expect(proxier.syncs[0]!.state.nodeIPs).toEqual(['192.168.1.10']);

    await discovery.replaceNamespacedEndpointSlice({ namespace: 'default', name: 'web-1', body: slice('web', ['10.244.1.2', '10.244.1.3']) });
    await waitUntil('a partial sync', 5000, async () => proxier.last().changed !== undefined);
    expect(proxier.last().changed).toEqual(['default/web:http/TCP']);
    expect(proxier.last().state.services.get('default/web:http/TCP')?.endpoints).toHaveLength(2);

    const healthz = await fetch(`http://127.0.0.1:${agent.healthzPort}/healthz`);
    expect(healthz.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^kubeproxy_sync_partial_proxy_rules_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_endpoint_changes_total [2-9]/m);
    expect(metrics).toContain('kubeproxy_proxy_healthz_total{code="200"} 1');
  });

  test('after 410 Gone (watch history compacted) the informers relist and keep delivering changes', async () => {
    agent = await start();
    await agent.firstSync;
    kube.compact();
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'late' }, spec: { ports } } });
    await waitUntil('the Service created after the 410', 10_000, async () => proxier.last().state.services.has('default/late:http/TCP'));
  });

  test('while the API server is unreachable the last rules stay (periodic syncs reapply them); it catches up when it returns', async () => {
    // The agent talks to the API server through a link the test can cut.
    const link = new CuttableLink(Number(new URL(kube.url).port));
    const port = await link.open();
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfigYaml().replace(kube.url, `http://127.0.0.1:${port}`));
    agent = await start(300, kc);
    await agent.firstSync;
    await link.cut();
    const before = proxier.syncs.length;
    await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await waitUntil('periodic syncs while the API is unreachable', 5000, async () => proxier.syncs.length >= before + 3);
    for (const sync of proxier.syncs.slice(before)) expect(sync.state.services.has('default/web:http/TCP')).toBe(true);
    await waitUntil('the informers to report the outage', 5000, async () => lines.some((l) => /^warn: services informer: .*retrying with backoff/.test(l)));
    await link.open(port);
    await waitUntil('the agent to catch up', 15_000, async () => !proxier.last().state.services.has('default/web:http/TCP'));
    await link.cut();
  });
});

describe('agent core logging', () => {
  test('a sync failing again and again is logged once at warn when it starts and once when it ends, retries at debug', async () => {
    const kube = await KubeEmulator.start();
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } } });
    const proxier = new RecordingProxier();
    let failures = 3;
    const sync = proxier.sync.bind(proxier);
    proxier.sync = async (state, changed) => {
      if (failures-- > 0) throw new Error('nft: Could not process rule');
      return sync(state, changed);
    };
    const entries: LogEntry[] = [];
    const agent = await startAgent({
      mode: 'nftables', nodeName: 'node1', kubeconfig: undefined, scheduler: 'rr', healthzBind: '', metricsBind: '',
      syncPeriodMs: 200, minSyncIntervalMs: 50, nodePortAddresses: [], kubeConfig: kube.kubeConfig(), proxier, logger: (e) => entries.push(e),
    });
    try {
      await agent.firstSync;
      const at = (level: string, pattern: RegExp) => entries.filter((e) => e.level === level && pattern.test(e.msg ?? ''));
      expect(at('warn', /sync failed/)).toEqual([{ level: 'warn', msg: 'full sync failed: nft: Could not process rule; retrying with full syncs and backoff (the last applied rules stay)' }]);
      expect(at('debug', /sync failed/)).toHaveLength(2);
      expect(at('info', /syncing again/)).toEqual([{ level: 'info', msg: 'syncing again after 3 failed syncs' }]);
    } finally {
      await agent.stop();
      await kube.close();
    }
  });
});

/** A TCP forwarder to the API server that can be cut (resets every connection, refuses new ones) and reopened. */
class CuttableLink {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly target: number) {}

  open(port = 0): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
