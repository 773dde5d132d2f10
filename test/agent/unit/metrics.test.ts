/**
 * The agent's /metrics as a Prometheus server scrapes it: kube-proxy's names, help texts and
 * buckets where the meaning is kube-proxy's, the process metrics, and one registry per agent.
 */
import { AgentMetrics, LAST_CHANGE_TRIGGER_TIME, startMetricsServer } from '../../../src/agent/metrics';
import { boundPort, closeServer } from '../../../src/agent/http';
import type { ProxyState } from '../../../src/agent/types';
import { newSlice, NODE, representativeState } from './fixtures';

const empty: ProxyState = { nodeName: NODE, nodeIPs: [], services: new Map() };

/** The value of one sample line, e.g. `kubeproxy_proxy_healthz_total{code="200"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  test('served with the Prometheus text content type; other paths are 404', async () => {
    const metrics = new AgentMetrics('nftables');
    const server = await startMetricsServer('127.0.0.1', 0, metrics);
    try {
      const res = await fetch(`http://127.0.0.1:${boundPort(server)}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(text).toContain('# HELP kubeproxy_sync_proxy_rules_duration_seconds SyncProxyRules latency in seconds');
      // Process and event-loop metrics, as prom-client's defaults name them.
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
        expect(text).toMatch(new RegExp(`^# HELP ${name} .+`, 'm'));
      }
      expect((await fetch(`http://127.0.0.1:${boundPort(server)}/other`)).status).toBe(404);
    } finally {
      await closeServer(server);
    }
  });

  test('every series has a HELP line and a TYPE', async () => {
    const text = await new AgentMetrics('ipvs').render();
    const names = new Set([...text.matchAll(/^([a-z_]+?)(?:_bucket|_sum|_count)?(?:\{.*\})? \S+$/gm)].map((m) => m[1]!));
    for (const name of names) {
      const base = text.includes(`# TYPE ${name} `) ? name : name.replace(/_(bucket|sum|count)$/, '');
      expect(text).toMatch(new RegExp(`^# HELP ${base} \\S`, 'm'));
      expect(text).toMatch(new RegExp(`^# TYPE ${base} (counter|gauge|histogram|summary)$`, 'm'));
    }
  });

  test("sync durations in kube-proxy's buckets, overall and by full / partial; the last sync's time", async () => {
    let now = 1_700_000_000_000;
    const metrics = new AgentMetrics('nftables', { now: () => now });
    metrics.synced(metrics.drained(), 'full', 0.003, empty, { rules: 120, endpoints: 10 });
    now += 1000;
    metrics.synced(metrics.drained(), 'partial', 0.0005, empty, { rules: 121, endpoints: 11 });
    const text = await metrics.render();
    expect(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001"}')).toBe(1);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004"}')).toBe(2);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="16.384"}')).toBe(2);
    expect(sample(text, 'kubeproxy_sync_full_proxy_rules_duration_seconds_bucket{le="0.002"}')).toBe(0);
    expect(sample(text, 'kubeproxy_sync_full_proxy_rules_duration_seconds_count')).toBe(1);
    expect(sample(text, 'kubeproxy_sync_partial_proxy_rules_duration_seconds_count')).toBe(1);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')).toBe(now / 1000);
    expect(sample(text, 'ferry_agent_rules')).toBe(121);
    expect(sample(text, 'ferry_agent_endpoints')).toBe(11);
  });

  test('failed syncs count under the mode\'s kube-proxy name; ipvs and userspace, which kube-proxy has no counter for, under ferry\'s', async () => {
    const nft = new AgentMetrics('nftables');
    nft.syncFailed(nft.drained(), 'partial', 0.01);
    nft.syncFailed(nft.drained(), 'full', 0.01);
    expect(sample(await nft.render(), 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total')).toBe(2);

    const ipt = new AgentMetrics('iptables');
    ipt.syncFailed(ipt.drained(), 'partial', 0.01);
    const iptText = await ipt.render();
    expect(sample(iptText, 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total')).toBe(1);
    expect(sample(iptText, 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total')).toBe(0);

    const user = new AgentMetrics('userspace');
    user.syncFailed(user.drained(), 'full', 0.01);
    const userText = await user.render();
    expect(sample(userText, 'ferry_agent_sync_proxy_rules_failures_total{kind="full"}')).toBe(1);
    expect(userText).not.toContain('kubeproxy_sync_proxy_rules_nftables');
  });

  test('Service and endpoint changes: totals, and pending until a sync drains them', async () => {
    const metrics = new AgentMetrics('nftables');
    metrics.serviceChanged('default/web');
    metrics.serviceChanged('default/web');
    metrics.endpointSliceChanged('default/web-abc', newSlice('web', [['10.244.1.2']]));
    let text = await metrics.render();
    expect(sample(text, 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(2);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_service_changes_pending')).toBe(1);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending')).toBe(1);
    metrics.drained();
    text = await metrics.render();
    expect(sample(text, 'kubeproxy_sync_proxy_rules_service_changes_pending')).toBe(0);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBe(1);
  });

  test('network programming latency: from the slice\'s last-change-trigger-time to the sync that applied it, not for changes from before the agent started', async () => {
    let now = Date.parse('2030-01-01T00:00:10Z');
    const metrics = new AgentMetrics('nftables', { now: () => now });
    const sliceChangedAt = (iso: string) => {
      const slice = newSlice('web', [['10.244.1.2']]);
      slice.metadata!.annotations = { [LAST_CHANGE_TRIGGER_TIME]: iso };
      return slice;
    };
    metrics.endpointSliceChanged('default/old', sliceChangedAt('2030-01-01T00:00:00Z'));
    metrics.endpointSliceChanged('default/web-abc', sliceChangedAt('2030-01-01T00:00:11Z'));
    now = Date.parse('2030-01-01T00:00:12Z');
    // A failed sync measures nothing; the next successful one measures the whole wait.
    metrics.syncFailed(metrics.drained(), 'partial', 0.01);
    now = Date.parse('2030-01-01T00:00:14.5Z');
    metrics.synced(metrics.drained(), 'full', 0.01, empty);
    const text = await metrics.render();
    expect(sample(text, 'kubeproxy_network_programming_duration_seconds_count')).toBe(1);
    expect(sample(text, 'kubeproxy_network_programming_duration_seconds_sum')).toBe(3.5);
    expect(sample(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="3"}')).toBe(0);
    expect(sample(text, 'kubeproxy_network_programming_duration_seconds_bucket{le="4"}')).toBe(1);
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="0.25"} 0');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="115"} 1');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="300"} 1');
  });

  test('Services with a Local policy and no local endpoint, by traffic policy', async () => {
    const metrics = new AgentMetrics('nftables');
    // `local-without`: externalTrafficPolicy Local, its only endpoint on another node.
    metrics.synced(metrics.drained(), 'full', 0.01, representativeState());
    const text = await metrics.render();
    expect(sample(text, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="external"}')).toBe(1);
    expect(sample(text, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"}')).toBe(0);
  });

  test('healthz and livez answers by code; informers\' last word', async () => {
    const metrics = new AgentMetrics('userspace');
    metrics.healthAnswered('/healthz', 200);
    metrics.healthAnswered('/healthz', 503);
    metrics.healthAnswered('/healthz', 503);
    metrics.watchInformers(() => new Map([['services', 1_700_000_000_000]]));
    const text = await metrics.render();
    expect(sample(text, 'kubeproxy_proxy_healthz_total{code="503"}')).toBe(2);
    expect(sample(text, 'kubeproxy_proxy_livez_total{code="200"}')).toBe(0);
    expect(sample(text, 'ferry_agent_informer_last_heard_timestamp_seconds{informer="services"}')).toBe(1_700_000_000);
  });

  test('each agent has its own registry: one agent\'s counts never show in another\'s', async () => {
    const a = new AgentMetrics('nftables');
    const b = new AgentMetrics('nftables');
    a.serviceChanged('default/web');
    expect(sample(await a.render(), 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(1);
    expect(sample(await b.render(), 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(0);
  });
});
