/**
 * The agent's three informers (Services, EndpointSlices, its own Node by a field selector),
 * each a {@link ResilientInformer}: when the API server is unreachable, or a watch has gone
 * silent, they retry with backoff, and the snapshot, and so the data path, stays as last
 * applied. `staleness` says which of them has heard nothing for too long (for /healthz).
 */
import type { KubeConfig, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { informerBounds, ResilientInformer, type InformerHandlers } from '../kube/informer';
import type { Log } from '../util/log';

export type { InformerHandlers };

/** kube-proxy's informer selector: not for another proxy, not a headless Service's slices. */
export const PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export interface Informers {
  /** Why the agent's view of the cluster is stale (an informer heard nothing past the bound), or undefined. */
  staleness(now?: number): string | undefined;
  /** When each informer last heard from the API server (ms since the epoch). */
  lastHeard(): Map<string, number>;
  stop(): Promise<void>;
}

export interface InformerTuning {
  /** First restart delay after a failure; doubles up to 30 s. */
  retryMs?: number;
  /** The shortest watch, in seconds (default 300); the silence and staleness bounds follow from it. */
  watchTimeoutSeconds?: number;
  /** How long a list or a watch's response headers may take (default 60 s). */
  requestTimeoutMs?: number;
}

interface Options extends InformerTuning {
  log: Log;
  services: InformerHandlers<V1Service>;
  endpointSlices: InformerHandlers<V1EndpointSlice>;
  node: InformerHandlers<V1Node>;
  nodeName: string;
}

export function startInformers(kc: KubeConfig, options: Options): Informers {
  const nodeSelector = `metadata.name=${options.nodeName}`;
  const log: Log = (entry) =>
    options.log(entry.level === 'warn' ? { ...entry, msg: `${entry.msg} (the data path keeps its last rules)` } : entry);
  const common = { log, retryMs: options.retryMs, watchTimeoutSeconds: options.watchTimeoutSeconds, requestTimeoutMs: options.requestTimeoutMs };
  const all = {
    services: new ResilientInformer<V1Service>(kc, '/api/v1/services', options.services, {
      ...common,
      name: 'services informer',
      labelSelector: PROXY_LABEL_SELECTOR,
    }),
    endpointslices: new ResilientInformer<V1EndpointSlice>(kc, '/apis/discovery.k8s.io/v1/endpointslices', options.endpointSlices, {
      ...common,
      name: 'endpointslices informer',
      labelSelector: PROXY_LABEL_SELECTOR,
    }),
    node: new ResilientInformer<V1Node>(kc, '/api/v1/nodes', options.node, { ...common, name: 'node informer', fieldSelector: nodeSelector }),
  };
  const { staleAfterMs } = informerBounds(options.watchTimeoutSeconds);
  for (const informer of Object.values(all)) informer.start();
  return {
    staleness(now = Date.now()) {
      const silent = Object.entries(all)
        .filter(([, informer]) => now - informer.lastHeardAt > staleAfterMs)
        .map(([name, informer]) => `${name} ${Math.round((now - informer.lastHeardAt) / 1000)}s`);
      if (silent.length === 0) return undefined;
      return `no word from the API server past ${staleAfterMs / 1000}s (no list, event or bookmark): ${silent.join(', ')}`;
    },
    lastHeard: () => new Map(Object.entries(all).map(([name, informer]) => [name, informer.lastHeardAt])),
    stop: async () => void (await Promise.all(Object.values(all).map((r) => r.stop()))),
  };
}
