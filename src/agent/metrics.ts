/**
 * The agent's Prometheus metrics, with prom-client. Where the meaning is kube-proxy's, so
 * are the name, help text and buckets (pkg/proxy/metrics/metrics.go), and a kube-proxy
 * dashboard or alert reads them as they are; ferry's own names (`ferry_agent_*`) only where
 * kube-proxy has nothing equivalent. No `ip_family` label: one sync programs both families.
 *
 * Each agent has its own registry (tests run several agents in one process). The Node.js
 * process and event-loop metrics are the process's, so they are collected once per
 * process and appended to every agent's answer.
 */
import type { Server } from 'node:http';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { listen } from './http';
import { trafficPlan } from './policy';
import type { SyncKind } from './sync-loop';
import type { ProxyMode, ProxyState, SyncResult } from './types';

/** kube-proxy's sync buckets: 1 ms doubling 15 times (to ~16 s). */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** kube-proxy's network programming buckets: 0.25 s, 0.5 s, 1–59 s, 60–115 s by 5, 2–5 min by 30 s. */
const NETWORK_PROGRAMMING_BUCKETS = [
  0.25, 0.5,
  ...Array.from({ length: 59 }, (_, i) => 1 + i),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

/** Set by the EndpointSlice controller: when the Pod or Service change behind this slice version happened. */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

/** What a sync drained, observed once it has been applied. */
export interface DrainedChanges {
  triggerTimes: number[];
}

let processRegistry: Registry | undefined;

/** The process and event-loop metrics, started once: each collector keeps a monitor running for good. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;
  /** Trigger times older than the agent describe changes its first list brought, not ones it programmed. */
  private readonly startedAt: number;
  private readonly pendingServices = new Set<string>();
  private readonly pendingSlices = new Set<string>();
  private triggerTimes: number[] = [];

  private readonly syncDuration: Histogram;
  private readonly syncDurationByKind: Record<SyncKind, Histogram>;
  private readonly lastSynced: Gauge;
  private readonly lastQueued: Gauge;
  private readonly networkProgramming: Histogram;
  private readonly endpointChangesPending: Gauge;
  private readonly endpointChangesTotal: Counter;
  private readonly serviceChangesPending: Gauge;
  private readonly serviceChangesTotal: Counter;
  private readonly noLocalEndpoints: Gauge<'traffic_policy'>;
  private readonly healthz: Counter<'code'>;
  private readonly livez: Counter<'code'>;
  private readonly failures: Partial<Record<SyncKind, Counter>> | Counter<'kind'>;
  private readonly rules: Gauge;
  private readonly endpoints: Gauge;
  private readonly servicePorts: Gauge;
  private readonly lastHeard: Gauge<'informer'>;
  private informers: () => ReadonlyMap<string, number> = () => new Map();

  constructor(
    readonly mode: ProxyMode,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    const registers = [this.registry];
    const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, buckets, registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });

    this.syncDuration = histogram('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', SYNC_BUCKETS);
    this.syncDurationByKind = {
      full: histogram('kubeproxy_sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', SYNC_BUCKETS),
      partial: histogram('kubeproxy_sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', SYNC_BUCKETS),
    };
    this.lastSynced = gauge('kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced');
    this.lastQueued = gauge('kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued');
    this.networkProgramming = histogram('kubeproxy_network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', NETWORK_PROGRAMMING_BUCKETS);
    this.endpointChangesPending = gauge('kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes');
    this.endpointChangesTotal = counter('kubeproxy_sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes');
    this.serviceChangesPending = gauge('kubeproxy_sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes');
    this.serviceChangesTotal = counter('kubeproxy_sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes');
    this.noLocalEndpoints = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'],
      registers,
    });
    this.healthz = new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'], registers });
    this.livez = new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Cumulative proxy livez HTTP status', labelNames: ['code'], registers });
    // kube-proxy counts failed applies under its modes' names; ipvs mode here applies with
    // ipvsadm-restore and userspace mode opens listeners, which kube-proxy has no counter for.
    if (mode === 'nftables') {
      const failed = counter('kubeproxy_sync_proxy_rules_nftables_sync_failures_total', 'Cumulative proxy nftables sync failures');
      this.failures = { full: failed, partial: failed };
    } else if (mode === 'iptables') {
      this.failures = {
        full: counter('kubeproxy_sync_proxy_rules_iptables_restore_failures_total', 'Cumulative proxy iptables restore failures'),
        partial: counter(
          'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
          'Cumulative proxy iptables partial restore failures',
        ),
      };
    } else {
      this.failures = new Counter({
        name: 'ferry_agent_sync_proxy_rules_failures_total',
        help: `Syncs of the ${mode} data path that failed, by kind (the next sync is full)`,
        labelNames: ['kind'],
        registers,
      });
    }
    this.rules = gauge('ferry_agent_rules', `Rules, map elements or listeners the ${mode} mode has programmed, as of the last sync`);
    this.endpoints = gauge('ferry_agent_endpoints', 'Endpoints this node sends Service traffic to, as of the last sync');
    this.servicePorts = gauge('ferry_agent_service_ports', 'Service ports in the agent\'s snapshot, as of the last sync');
    const informers = () => this.informers();
    this.lastHeard = new Gauge({
      name: 'ferry_agent_informer_last_heard_timestamp_seconds',
      help: 'When each informer last heard from the API server (a list, a watch event or a bookmark)',
      labelNames: ['informer'],
      registers,
      collect() {
        for (const [informer, at] of informers()) this.set({ informer }, at / 1000);
      },
    });
    for (const code of ['200', '503']) {
      this.healthz.inc({ code }, 0);
      this.livez.inc({ code }, 0);
    }
    for (const policy of ['internal', 'external']) this.noLocalEndpoints.set({ traffic_policy: policy }, 0);
    if (this.failures instanceof Counter) for (const kind of ['full', 'partial']) this.failures.inc({ kind }, 0);
  }

  /** Where the informers' last-heard times come from. */
  watchInformers(lastHeard: () => ReadonlyMap<string, number>): void {
    this.informers = lastHeard;
  }

  serviceChanged(key: string): void {
    this.serviceChangesTotal.inc();
    this.pendingServices.add(key);
    this.serviceChangesPending.set(this.pendingServices.size);
  }

  endpointSliceChanged(key: string, slice: V1EndpointSlice | undefined): void {
    this.endpointChangesTotal.inc();
    this.pendingSlices.add(key);
    this.endpointChangesPending.set(this.pendingSlices.size);
    // As kube-proxy: a deletion has no trigger time worth measuring, and one from before the
    // agent started measures how long the agent was away.
    const trigger = Date.parse(slice?.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME] ?? '');
    if (Number.isFinite(trigger) && trigger > this.startedAt) this.triggerTimes.push(trigger);
  }

  syncQueued(): void {
    this.lastQueued.set(this.now() / 1000);
  }

  /** A sync drained the pending changes. */
  drained(): DrainedChanges {
    this.pendingServices.clear();
    this.pendingSlices.clear();
    this.serviceChangesPending.set(0);
    this.endpointChangesPending.set(0);
    const triggerTimes = this.triggerTimes;
    this.triggerTimes = [];
    return { triggerTimes };
  }

  /** The sync applied what it drained (`result` undefined: there was nothing to apply). */
  synced(drained: DrainedChanges, kind: SyncKind, seconds: number, state: ProxyState, result?: SyncResult): void {
    this.observeDuration(kind, seconds);
    const now = this.now();
    this.lastSynced.set(now / 1000);
    for (const at of drained.triggerTimes) this.networkProgramming.observe(Math.max(0, now - at) / 1000);
    if (result) {
      this.rules.set(result.rules);
      this.endpoints.set(result.endpoints);
    }
    this.servicePorts.set(state.services.size);
    let internal = 0;
    let external = 0;
    for (const port of state.services.values()) {
      const plan = trafficPlan(port);
      if (plan.internal === 'drop') internal += 1;
      if (plan.external === 'drop') external += 1;
    }
    this.noLocalEndpoints.set({ traffic_policy: 'internal' }, internal);
    this.noLocalEndpoints.set({ traffic_policy: 'external' }, external);
  }

  /** The sync failed: its changes are applied by a later one, and measured then. */
  syncFailed(drained: DrainedChanges, kind: SyncKind, seconds: number): void {
    this.observeDuration(kind, seconds);
    this.triggerTimes.unshift(...drained.triggerTimes);
    if (this.failures instanceof Counter) this.failures.inc({ kind });
    else this.failures[kind]?.inc();
  }

  healthAnswered(path: '/healthz' | '/livez', code: number): void {
    (path === '/healthz' ? this.healthz : this.livez).inc({ code: String(code) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }

  private observeDuration(kind: SyncKind, seconds: number): void {
    this.syncDuration.observe(seconds);
    this.syncDurationByKind[kind].observe(seconds);
  }
}

export function startMetricsServer(host: string, port: number, metrics: AgentMetrics): Promise<Server> {
  return listen(host, port, (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`collecting metrics failed: ${(err as Error).message}\n`);
      },
    );
  });
}
