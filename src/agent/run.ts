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
import { loadKubeConfig } from '../kube/kubeconfig';
import { informerBounds } from '../kube/informer';
import type { Log, LogEntry } from '../util/log';
import { applyConntrackSettings, type SysctlAccess } from './conntrack-sysctls';
import { ProxyHealth, ServiceHealthServers, startHealthServer, type HealthCheckService } from './health';
import { parseHostPort } from '../util/net';
import { boundPort, closeServer } from './http';
import { startInformers, type InformerHandlers, type Informers, type InformerTuning } from './informers';
import { AgentMetrics, startMetricsServer } from './metrics';
import { createProxier } from './modes';
import type { AgentOptions } from './options';
import { localReadyCount } from './policy';
import { Snapshot } from './snapshot';
import { objectKey } from './state';
import { SyncLoop } from './sync-loop';
import type { Proxier, ProxyState } from './types';

/** The options a caller must give; the rest (kube-proxy's configuration) default to "not set". */
type RequiredStart = 'mode' | 'nodeName' | 'kubeconfig' | 'scheduler' | 'healthzBind' | 'metricsBind' | 'syncPeriodMs' | 'minSyncIntervalMs' | 'nodePortAddresses';

export interface StartOptions extends Pick<AgentOptions, RequiredStart>, Partial<Omit<AgentOptions, RequiredStart | 'cleanup'>> {
  /** Plain log lines; warnings come prefixed `warn: `, debug entries are dropped. Unused when `logger` is given. */
  log?: (line: string) => void;
  /** Structured log entries with their level (the CLI passes pino's): failures and staleness are `warn`. */
  logger?: Log;
  /** Informer timings (tests shorten them); the defaults are the README's. */
  informers?: InformerTuning;
  /**
   * The addresses NodePorts and healthCheckNodePorts answer on, in place of the Node's
   * InternalIPs (or `nodePortAddresses`). For several agents sharing one host, each on an
   * address of its own: `ferry local` runs node-0 on 127.10.0.4. Loopback is accepted here,
   * unlike `--nodeport-addresses`, because the caller chose it.
   */
  nodeAddresses?: readonly string[];
  /** Test seams. */
  kubeConfig?: KubeConfig;
  sysctl?: SysctlAccess;
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
  const emit: Log = options.logger ?? lines(options.log ?? ((line: string) => console.log(`${new Date().toISOString()} agent: ${line}`)));
  const info = (msg: string) => emit({ level: 'info', msg });
  const warn = (msg: string) => emit({ level: 'warn', msg });
  const proxier = options.proxier ?? (await createProxier(options.mode, { scheduler: options.scheduler, iptablesBackend: options.iptablesBackend, log: info }));
  // kube-proxy sets its conntrack sysctls before it starts proxying.
  await applyConntrackSettings(
    {
      maxPerCore: options.conntrackMaxPerCore,
      min: options.conntrackMin,
      tcpEstablishedTimeoutMs: options.conntrackTcpEstablishedTimeoutMs,
      tcpCloseWaitTimeoutMs: options.conntrackTcpCloseWaitTimeoutMs,
      tcpBeLiberal: options.conntrackTcpBeLiberal,
      udpTimeoutMs: options.conntrackUdpTimeoutMs,
      udpStreamTimeoutMs: options.conntrackUdpStreamTimeoutMs,
    },
    { info, warn },
    options.sysctl,
  );
  const snapshot = new Snapshot({
    nodeName: options.nodeName,
    nodePortAddresses: options.nodePortAddresses,
    primaryIP: options.bindAddress,
    detector: {
      mode: options.detectLocalMode,
      clusterCIDRs: options.clusterCIDRs ?? [],
      bridgeInterface: options.bridgeInterface,
      interfaceNamePrefix: options.interfaceNamePrefix,
    },
    masqueradeAll: options.masqueradeAll,
    nodeHints: options.featureGates?.PreferSameTrafficDistribution !== false,
    log: info,
  });
  let informers: Informers | undefined;
  // kube-proxy: stale when an update waited longer than twice the sync period; ferry also
  // when the informers have heard nothing from the API server past their bound.
  const health = new ProxyHealth(2 * options.syncPeriodMs, Date.now, (now) => informers?.staleness(now));
  const metrics = new AgentMetrics(options.mode);
  metrics.watchInformers(() => informers?.lastHeard() ?? new Map());
  const hostAddresses = options.hostAddresses ?? localAddresses;
  let latestNode: Parameters<typeof snapshot.node.record>[1];
  const servers: Server[] = [];
  const serviceHealth = new ServiceHealthServers(
    () => options.nodeAddresses ?? (options.nodePortAddresses.length > 0 ? (snapshot.current?.nodeIPs ?? []) : ['0.0.0.0']),
    () => health.report().healthy,
    warn,
  );

  // Conditions that can last are logged when they start and when they end, not on every retry.
  let failedSyncs = 0;
  let noNodeAddress = false;
  let resolveFirst!: () => void;
  const firstSync = new Promise<void>((resolve) => (resolveFirst = resolve));
  const loop = new SyncLoop({
    minSyncIntervalMs: options.minSyncIntervalMs,
    syncPeriodMs: options.syncPeriodMs,
    run: async (kind) => {
      const startedAt = Date.now();
      const update = snapshot.update(kind === 'full', options.nodePortAddresses.length > 0 ? hostAddresses() : undefined);
      const { changed } = update;
      const state = options.nodeAddresses ? { ...update.state, nodeIPs: [...options.nodeAddresses] } : update.state;
      const drained = metrics.drained();
      // The snapshot rebuilds everything when the node's addresses changed, whatever was asked.
      const applied = changed === undefined ? 'full' : 'partial';
      const seconds = () => (Date.now() - startedAt) / 1000;
      try {
        if (changed !== undefined && changed.size === 0) {
          metrics.synced(drained, applied, seconds(), state);
        } else {
          if (state.nodeIPs.length === 0 && !noNodeAddress) warn(`node ${options.nodeName} has no address for NodePorts yet; only ClusterIPs are served`);
          noNodeAddress = state.nodeIPs.length === 0;
          const result = await proxier.sync(state, changed);
          metrics.synced(drained, applied, seconds(), state, result);
          await serviceHealth.sync(...healthChecks(state));
          resolveFirst();
        }
      } catch (err) {
        metrics.syncFailed(drained, applied, seconds());
        throw err;
      }
      health.updated(startedAt);
      if (failedSyncs > 0) info(`syncing again after ${failedSyncs} failed sync${failedSyncs === 1 ? '' : 's'}`);
      failedSyncs = 0;
    },
    onError: (err, kind) => {
      failedSyncs += 1;
      const msg = `${kind} sync failed: ${describeError(err)}`;
      if (failedSyncs === 1) warn(`${msg}; retrying with full syncs and backoff (the last applied rules stay)`);
      else emit({ level: 'debug', msg: `${msg} (failure ${failedSyncs})` });
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
        info(`listed Services, EndpointSlices and Node ${options.nodeName}; syncing (${options.mode} mode)`);
        health.updated();
        loop.start();
      }
    },
  });
  const changed = (record: () => void) => {
    record();
    health.queuedUpdate();
    metrics.syncQueued();
    loop.request();
  };

  // Staleness is found by asking, so something has to ask for it to be logged.
  const { staleAfterMs } = informerBounds(options.informers?.watchTimeoutSeconds);
  let unhealthy: string | undefined;
  const watchHealth = setInterval(() => {
    const reason = health.report().reason ?? health.stale();
    if (reason !== undefined && unhealthy === undefined) warn(`unhealthy (/healthz answers 503): ${reason}`);
    if (reason === undefined && unhealthy !== undefined) info('healthy again');
    unhealthy = reason;
  }, Math.min(5000, Math.max(100, staleAfterMs / 4)));
  watchHealth.unref();

  try {
    if (options.healthzBind) {
      const { host, port } = parseHostPort(options.healthzBind, { ipOnly: true })!;
      servers.push(await startHealthServer(host, port, health, () => latestNode, (path, code) => metrics.healthAnswered(path, code)));
    }
    if (options.metricsBind) {
      const { host, port } = parseHostPort(options.metricsBind, { ipOnly: true })!;
      servers.push(await startMetricsServer(host, port, metrics));
    }
    informers = startInformers(options.kubeConfig ?? loadKubeConfig(options.kubeconfig), {
      ...options.informers,
      log: emit,
      nodeName: options.nodeName,
      services: handlers('services', (k, o) => {
        metrics.serviceChanged(k);
        snapshot.services.record(k, o);
      }),
      endpointSlices: handlers('endpointslices', (k, o) => {
        metrics.endpointSliceChanged(k, o);
        snapshot.slices.record(k, o);
      }),
      node: handlers('node', (k, o) => {
        latestNode = o;
        snapshot.node.record(k, o);
      }, (n) => n.metadata?.name ?? ''),
    });
  } catch (err) {
    clearInterval(watchHealth);
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
      clearInterval(watchHealth);
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

/** A {@link Log} onto plain lines: the level shows unless it is info; debug is left out. */
function lines(line: (text: string) => void): Log {
  return ({ level, msg, ...fields }: LogEntry) => {
    if (level === 'debug') return;
    const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    line(`${level === 'info' ? '' : `${level}: `}${msg ?? ''}${extra}`);
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
