/**
 * Health as kube-proxy reports it (pkg/proxy/healthcheck/proxy_health.go, service_health.go).
 *
 * `/livez` and `/healthz` answer JSON; they are 503 when an update was queued more than
 * `healthTimeout` (2 × the sync period, kube-proxy's choice) ago and not yet applied — the
 * rules are stale. `/healthz` is also 503, beyond kube-proxy, when the informers have heard
 * nothing from the API server past their bound (`staleness`): a watch that died silently
 * leaves the rules "fresh" while the cluster moves on. `/livez` keeps kube-proxy's meaning:
 * an API server outage must not make kubelet restart every agent (a restarted agent cannot
 * list, and in userspace mode its listeners go with it). `/healthz` is also 503 when the
 * Node is being deleted or is tainted `ToBeDeletedByClusterAutoscaler`, so a load balancer
 * health-checking port 10256 takes a draining node out before it goes. An unhealthy answer
 * says why in `reason` (not in kube-proxy's JSON; added last so its readers are unaffected).
 *
 * Each externalTrafficPolicy Local LoadBalancer Service gets a server on its
 * healthCheckNodePort answering `{"service":{…},"localEndpoints":N,"serviceProxyHealthy":…}`
 * with 200 when this node has a local ready endpoint and the proxy is healthy, else 503.
 *
 * Both accept an optional PROXY protocol (v1 or v2) header before the request: an NLB
 * target group with proxy protocol v2 sends one on its health checks too, and kube-proxy's
 * plain servers fail every such check (proxy-protocol.ts).
 */
import type { Server } from 'node:http';
import type { V1Node } from '@kubernetes/client-node';
import { closeServer, listen, sendJson } from './http';

export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface ProxyHealthReport {
  lastUpdated: string;
  currentTime: string;
  nodeEligible?: boolean;
  healthy: boolean;
  status?: Record<string, { lastUpdated: string; healthy: boolean }>;
  /** Why it is unhealthy. */
  reason?: string;
}

export class ProxyHealth {
  private lastUpdated: number | undefined;
  private oldestQueued: number | undefined;

  constructor(
    private readonly healthTimeoutMs: number,
    private readonly now: () => number = Date.now,
    /** Why the agent's view of the cluster is stale, if it is (the informers' bound). */
    private readonly staleness: (now: number) => string | undefined = () => undefined,
  ) {}

  /** A change arrived that the data path does not reflect yet. */
  queuedUpdate(): void {
    this.oldestQueued ??= this.now();
  }

  /** The data path reflects every change queued before `since` (a sync's start; default now). */
  updated(since = this.now()): void {
    if (this.oldestQueued !== undefined && this.oldestQueued <= since) this.oldestQueued = undefined;
    this.lastUpdated = this.now();
  }

  report(): ProxyHealthReport {
    const now = this.now();
    const rulesStale = this.lastUpdated !== undefined && this.oldestQueued !== undefined && now - this.oldestQueued >= this.healthTimeoutMs;
    const reason = rulesStale
      ? `an update queued ${Math.round((now - this.oldestQueued!) / 1000)}s ago is not applied yet (limit ${this.healthTimeoutMs / 1000}s)`
      : undefined;
    const healthy = reason === undefined;
    const lastUpdated = iso(this.lastUpdated ?? 0);
    const report: ProxyHealthReport = { lastUpdated, currentTime: iso(now), healthy };
    if (this.lastUpdated !== undefined) report.status = { IPv4: { lastUpdated, healthy }, IPv6: { lastUpdated, healthy } };
    if (reason !== undefined) report.reason = reason;
    return report;
  }

  /** Why the agent's view of the cluster is stale (its informers' bound), if it is. */
  stale(): string | undefined {
    return this.staleness(this.now());
  }
}

/** Not being deleted and not tainted for deletion by the cluster autoscaler. */
export function nodeEligible(node: V1Node | undefined): boolean {
  return ineligibility(node) === undefined;
}

/** Why a Node is not eligible, or undefined. */
function ineligibility(node: V1Node | undefined): string | undefined {
  if (!node) return 'the Node is not known yet';
  if (node.metadata?.deletionTimestamp) return 'the Node is being deleted';
  if ((node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT)) return `the Node is tainted ${TO_BE_DELETED_TAINT}`;
  return undefined;
}

export type HealthPath = '/healthz' | '/livez';

/** The `/healthz` + `/livez` server; `answered` sees each answer's status code (for the metrics). */
export function startHealthServer(
  host: string,
  port: number,
  health: ProxyHealth,
  node: () => V1Node | undefined,
  answered: (path: HealthPath, code: number) => void = () => {},
): Promise<Server> {
  // A load balancer may put a PROXY header before its health check (http.ts, proxy-protocol.ts).
  return listen(host, port, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/healthz' && path !== '/livez') return sendJson(res, 404, '{"error":"not found"}');
    const report = health.report();
    let ok = report.healthy;
    if (path === '/healthz') {
      const notEligible = ineligibility(node());
      report.nodeEligible = notEligible === undefined;
      const stale = ok ? health.stale() : undefined;
      ok = ok && report.nodeEligible && stale === undefined;
      report.reason ??= stale ?? notEligible;
      if (stale !== undefined) report.healthy = false;
    }
    // As kube-proxy: a healthy answer carries "now" as lastUpdated, for older consumers.
    if (ok) report.lastUpdated = report.currentTime;
    const code = ok ? 200 : 503;
    answered(path, code);
    sendJson(res, code, JSON.stringify(order(report)));
  }, { proxyProtocol: true });
}

/** Keys in kube-proxy's order (Go marshals struct fields in declaration order), ferry's `reason` last. */
function order(r: ProxyHealthReport): ProxyHealthReport {
  return {
    lastUpdated: r.lastUpdated,
    currentTime: r.currentTime,
    ...(r.nodeEligible === undefined ? {} : { nodeEligible: r.nodeEligible }),
    healthy: r.healthy,
    ...(r.status ? { status: r.status } : {}),
    ...(r.reason === undefined ? {} : { reason: r.reason }),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface HealthCheckService {
  namespace: string;
  name: string;
  port: number;
}

/** One HTTP server per healthCheckNodePort (kube-proxy's ServiceHealthServer). */
export class ServiceHealthServers {
  private readonly servers = new Map<string, { port: number; servers: Server[]; localEndpoints: number }>();

  constructor(
    private readonly addresses: () => readonly string[],
    private readonly proxyHealthy: () => boolean,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Opens servers for new Services, closes them for gone ones; `endpoints` counts local ready endpoints by `namespace/name`. */
  async sync(services: ReadonlyMap<string, HealthCheckService>, endpoints: ReadonlyMap<string, number>): Promise<void> {
    for (const [key, entry] of this.servers) {
      if (services.get(key)?.port !== entry.port) {
        this.servers.delete(key);
        await Promise.all(entry.servers.map(closeServer));
      }
    }
    for (const [key, svc] of services) {
      if (!this.servers.has(key)) {
        const entry = { port: svc.port, servers: [] as Server[], localEndpoints: 0 };
        try {
          for (const address of this.addresses()) {
            entry.servers.push(await listen(address, svc.port, (_req, res) => this.answer(res, svc, entry.localEndpoints), { proxyProtocol: true }));
          }
          this.servers.set(key, entry);
        } catch (err) {
          // kube-proxy records an Event and carries on; the next sync retries.
          await Promise.all(entry.servers.map(closeServer));
          this.log(`healthcheck for ${key} on port ${svc.port}: ${(err as Error).message}`);
        }
      }
    }
    for (const [key, entry] of this.servers) entry.localEndpoints = endpoints.get(key) ?? 0;
  }

  private answer(res: Parameters<Parameters<typeof listen>[2]>[1], svc: HealthCheckService, count: number): void {
    const healthy = this.proxyHealthy();
    const body = JSON.stringify({ service: { namespace: svc.namespace, name: svc.name }, localEndpoints: count, serviceProxyHealthy: healthy }, null, '\t');
    sendJson(res, count > 0 && healthy ? 200 : 503, body, { 'X-Load-Balancing-Endpoint-Weight': String(count) });
  }

  ports(): Map<string, number> {
    return new Map([...this.servers].map(([key, entry]) => [key, entry.port]));
  }

  async close(): Promise<void> {
    const all = [...this.servers.values()].flatMap((e) => e.servers);
    this.servers.clear();
    await Promise.all(all.map(closeServer));
  }
}
