/**
 * The agent's three informers (Services, EndpointSlices, its own Node by a field selector),
 * each a {@link ResilientInformer}: when the API server is unreachable they retry with
 * backoff, and the snapshot, and so the data path, stays as last applied.
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import { ResilientInformer, type InformerHandlers } from '../kube/informer';

export type { InformerHandlers };

/** kube-proxy's informer selector: not for another proxy, not a headless Service's slices. */
export const PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export interface Informers {
  stop(): Promise<void>;
}

interface Options {
  log: (line: string) => void;
  services: InformerHandlers<V1Service>;
  endpointSlices: InformerHandlers<V1EndpointSlice>;
  node: InformerHandlers<V1Node>;
  nodeName: string;
  /** First restart delay after an error; doubles up to 30 s. */
  retryMs?: number;
}

export function startInformers(kc: KubeConfig, options: Options): Informers {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const nodeSelector = `metadata.name=${options.nodeName}`;
  const common = { log: (line: string) => options.log(`${line} (the data path keeps its last rules)`), ...(options.retryMs ? { retryMs: options.retryMs } : {}) };
  const all = [
    new ResilientInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces({ labelSelector: PROXY_LABEL_SELECTOR }), options.services, {
      ...common,
      name: 'services',
      labelSelector: PROXY_LABEL_SELECTOR,
    }),
    new ResilientInformer<V1EndpointSlice>(
      kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: PROXY_LABEL_SELECTOR }),
      options.endpointSlices,
      { ...common, name: 'endpointslices', labelSelector: PROXY_LABEL_SELECTOR },
    ),
    new ResilientInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode({ fieldSelector: nodeSelector }), options.node, {
      ...common,
      name: 'node',
      fieldSelector: nodeSelector,
    }),
  ];
  for (const informer of all) informer.start();
  return { stop: async () => void (await Promise.all(all.map((r) => r.stop()))) };
}
