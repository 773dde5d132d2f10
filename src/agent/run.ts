/**
 * `startAgent`: the node agent wired together. Informer handlers record changes in the
 * snapshot's trackers and ask the loop for a sync; the loop (and only the loop) builds the
 * state and hands it to the mode's proxier. Nothing syncs before Services, EndpointSlices
 * and the Node have been listed once — a sync from a partial snapshot would delete the
 * rules a restarted agent's predecessor left for live traffic.
 */
import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { describeError } from '../errors';
import { loadKubeConfig } from '../kube/api';
import { ProxyHealth, ServiceHealthServers, startHealthServer, type HealthCheckService } from './health';
import { parseHostPort } from '../util/net';
import { boundPort, closeServer } from './http';
import { startInformers, type InformerHandlers, type Informers } from './informers';
import { AgentMetrics, startMetricsServer } from './metrics';
import { createProxier } from './modes';
import type { AgentOptions } from './options';
import { localReadyCount } from './policy';
import { Snapshot } from './snapshot';
import { objectKey } from './state';
import { SyncLoop, type SyncKind } from './sync-loop';
import type { Proxier, ProxyState } from './types';

export interface StartOptions extends Omit<AgentOptions, 'cleanup' | 'iptablesBackend'>, Partial<Pick<AgentOptions, 'iptablesBackend'>> {
  log?: (line: string) => void;
  /** Test seams. */
  kubeConfig?: KubeConfig;
  proxier?: Proxier;
  hostAddresses?: () => string[];
}

export interface AgentHandle {
  readonly proxier: Proxier;
  /** Bound ports (useful with port 0); undefined when the server is disabled. */
  readonly healthzPort: number | undefined;
  readonly metricsPort: number | undefined;
  /** Resolves after the first successful sync. */
  readonly firstSync: Promise<void>;
  /** Stops watching and serving; the data path stays as it is (a restart must not break connections). */
  stop(): Promise<void>;
}

export async function startAgent(options: StartOptions): Promise<AgentHandle> {
  const log = options.log ?? ((line: string) => console.log(`${new Date().toISOString()} agent: ${line}`));
  const proxier = options.proxier ?? (await createProxier(options.mode, { scheduler: options.scheduler, iptablesBackend: options.iptablesBackend, log }));
  const snapshot = new Snapshot({ nodeName: options.nodeName, nodePortAddresses: options.nodePortAddresses, log });
  // kube-proxy: stale when an update waited longer than twice the sync period.
  const health = new ProxyHealth(2 * options.syncPeriodMs);
  const metrics = new AgentMetrics(options.mode);
  const hostAddresses = options.hostAddresses ?? localAddresses;
  let latestNode: Parameters<typeof snapshot.node.record>[1];
  const servers: Server[] = [];
  const serviceHealth = new ServiceHealthServers(
    () => (options.nodePortAddresses.length > 0 ? (snapshot.current?.nodeIPs ?? []) : ['0.0.0.0']),
    () => health.report().healthy,
    log,
  );

  let resolveFirst!: () => void;
  const firstSync = new Promise<void>((resolve) => (resolveFirst = resolve));
  const loop = new SyncLoop({
    minSyncIntervalMs: options.minSyncIntervalMs,
    syncPeriodMs: options.syncPeriodMs,
    run: async (kind: SyncKind) => {
      const startedAt = Date.now();
      const { state, changed } = snapshot.update(kind === 'full', options.nodePortAddresses.length > 0 ? hostAddresses() : undefined);
      if (changed !== undefined && changed.size === 0) {
        health.updated(startedAt);
        return;
      }
      if (state.nodeIPs.length === 0) log(`node ${options.nodeName} has no address for NodePorts yet; only ClusterIPs are served`);
      const result = await proxier.sync(state, changed);
      metrics.observeSync(changed === undefined ? 'full' : 'partial', (Date.now() - startedAt) / 1000, { ...result, servicePorts: state.services.size });
      health.updated(startedAt);
      await serviceHealth.sync(...healthChecks(state));
      resolveFirst();
    },
    onError: (err, kind) => {
      metrics.syncFailed(kind);
      log(`${kind} sync failed, the next one is full: ${describeError(err)}`);
    },
  });

  const synced = new Set<string>();
  const handlers = <T extends { metadata?: { namespace?: string; name?: string } }>(
    name: string,
    record: (key: string, obj: T | undefined) => void,
    key: (obj: T) => string = objectKey,
  ): InformerHandlers<T> => ({
    upsert: (obj) => changed(() => record(key(obj), obj)),
    remove: (obj) => changed(() => record(key(obj), undefined)),
    synced: () => {
      synced.add(name);
      if (synced.size === 3) {
        log(`listed Services, EndpointSlices and Node ${options.nodeName}; syncing (${options.mode} mode)`);
        health.updated();
        loop.start();
      }
    },
  });
  const changed = (record: () => void) => {
    record();
    health.queuedUpdate();
    loop.request();
  };

  let informers: Informers | undefined;
  try {
    if (options.healthzBind) {
      const { host, port } = parseHostPort(options.healthzBind, { ipOnly: true })!;
      servers.push(await startHealthServer(host, port, health, () => latestNode));
    }
    if (options.metricsBind) {
      const { host, port } = parseHostPort(options.metricsBind, { ipOnly: true })!;
      servers.push(await startMetricsServer(host, port, metrics));
    }
    informers = startInformers(options.kubeConfig ?? loadKubeConfig(options.kubeconfig), {
      log,
      nodeName: options.nodeName,
      services: handlers('services', (k, o) => snapshot.services.record(k, o)),
      endpointSlices: handlers('endpointslices', (k, o) => snapshot.slices.record(k, o)),
      node: handlers('node', (k, o) => {
        latestNode = o;
        snapshot.node.record(k, o);
      }, (n) => n.metadata?.name ?? ''),
    });
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }
  const [healthzServer, metricsServer] = [options.healthzBind ? servers[0] : undefined, options.metricsBind ? servers[servers.length - 1] : undefined];
  return {
    proxier,
    healthzPort: healthzServer && boundPort(healthzServer),
    metricsPort: metricsServer && boundPort(metricsServer),
    firstSync,
    async stop() {
      await informers?.stop();
      await loop.stop();
      // Free the health and metrics ports first: the proxier's close may drain connections
      // for a while, and the agent replacing this one must be able to bind them meanwhile.
      await serviceHealth.close();
      await Promise.all(servers.map(closeServer));
      await proxier.close();
    },
  };
}

/** healthCheckNodePort per `namespace/name`, and local ready endpoints summed over the Service's ports (kube-proxy's count). */
function healthChecks(state: ProxyState): [Map<string, HealthCheckService>, Map<string, number>] {
  const services = new Map<string, HealthCheckService>();
  const counts = new Map<string, number>();
  for (const port of state.services.values()) {
    const key = `${port.namespace}/${port.name}`;
    if (port.healthCheckNodePort) services.set(key, { namespace: port.namespace, name: port.name, port: port.healthCheckNodePort });
    counts.set(key, (counts.get(key) ?? 0) + localReadyCount(port));
  }
  return [services, counts];
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}
