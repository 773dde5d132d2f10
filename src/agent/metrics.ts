/**
 * The agent's Prometheus metrics (text exposition format 0.0.4), named after kube-proxy's
 * `kubeproxy_sync_proxy_rules_*` family so existing dashboards translate directly.
 */
import type { Server } from 'node:http';
import { listen } from './http';

/** kube-proxy's buckets: 1 ms doubling 15 times (to ~16 s). */
const BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

export class AgentMetrics {
  private readonly syncDuration = new Map<string, HistogramSeries>();
  private readonly syncErrors = new Map<string, Series>();
  private rules = 0;
  private endpoints = 0;
  private servicePorts = 0;
  private lastSync = 0;

  constructor(readonly mode: string) {}

  observeSync(kind: 'full' | 'partial', seconds: number, result: { rules: number; endpoints: number; servicePorts: number }): void {
    const series = this.syncDuration.get(kind) ?? { labels: { kind }, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) series.counts[i]! += 1;
    });
    series.sum += seconds;
    series.count += 1;
    this.syncDuration.set(kind, series);
    this.rules = result.rules;
    this.endpoints = result.endpoints;
    this.servicePorts = result.servicePorts;
    this.lastSync = Date.now() / 1000;
  }

  syncFailed(kind: 'full' | 'partial'): void {
    const series = this.syncErrors.get(kind) ?? { labels: { kind }, value: 0 };
    series.value += 1;
    this.syncErrors.set(kind, series);
  }

  render(): string {
    const mode = { mode: this.mode };
    const out: string[] = [];
    out.push('# HELP ferry_agent_sync_proxy_rules_duration_seconds Time a sync of the data path took (render and apply).');
    out.push('# TYPE ferry_agent_sync_proxy_rules_duration_seconds histogram');
    for (const kind of ['full', 'partial']) {
      const s = this.syncDuration.get(kind) ?? { labels: { kind }, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      const labels = { ...mode, ...s.labels };
      BUCKETS.forEach((bound, i) => out.push(`ferry_agent_sync_proxy_rules_duration_seconds_bucket${fmt({ ...labels, le: String(bound) })} ${s.counts[i]}`));
      out.push(`ferry_agent_sync_proxy_rules_duration_seconds_bucket${fmt({ ...labels, le: '+Inf' })} ${s.count}`);
      out.push(`ferry_agent_sync_proxy_rules_duration_seconds_sum${fmt(labels)} ${s.sum}`);
      out.push(`ferry_agent_sync_proxy_rules_duration_seconds_count${fmt(labels)} ${s.count}`);
    }
    out.push('# HELP ferry_agent_sync_proxy_rules_errors_total Syncs that failed (the next one is a full sync).');
    out.push('# TYPE ferry_agent_sync_proxy_rules_errors_total counter');
    for (const kind of ['full', 'partial']) out.push(`ferry_agent_sync_proxy_rules_errors_total${fmt({ ...mode, kind })} ${this.syncErrors.get(kind)?.value ?? 0}`);
    gauge(out, 'ferry_agent_sync_proxy_rules_last_timestamp_seconds', 'When the last successful sync ended (Unix seconds).', mode, this.lastSync);
    gauge(out, 'ferry_agent_rules', 'Rules, map elements or listeners the mode has programmed.', mode, this.rules);
    gauge(out, 'ferry_agent_endpoints', 'Endpoints this node can send Service traffic to.', mode, this.endpoints);
    gauge(out, 'ferry_agent_service_ports', 'Service ports in the snapshot.', mode, this.servicePorts);
    return `${out.join('\n')}\n`;
  }
}

function gauge(out: string[], name: string, help: string, labels: Labels, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${fmt(labels)} ${value}`);
}

function fmt(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function startMetricsServer(host: string, port: number, metrics: AgentMetrics): Promise<Server> {
  return listen(host, port, (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(metrics.render());
  });
}
