/**
 * The agent's three informers (Services, EndpointSlices, its own Node) over client-node's
 * list-then-watch cache, with what client-node 1.x leaves to the caller (TOOLING.md):
 *
 * - after 410 Gone the informer relists by itself; on any other error (API server down, a
 *   reset watch) it emits `error` and stops, so we restart it with backoff — meanwhile the
 *   snapshot, and so the data path, stays as last applied;
 * - `stop()` also surfaces as an error (the aborted request), hence the `stopping` flag;
 *   and a restart racing a stop must not open a new watch, hence the guarded Watch.
 *
 * `makeInformer` is `new ListWatch(path, new Watch(kc), list, false, labelSelector)`; ferry
 * builds the ListWatch itself for the two things makeInformer cannot take: a field selector
 * (the Node by name) and that guarded Watch.
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';

/** kube-proxy's informer selector: not for another proxy, not a headless Service's slices. */
export const PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export interface InformerHandlers<T> {
  /** The object's current version (add or update). */
  upsert(obj: T): void;
  remove(obj: T): void;
  /** The first list has been delivered. */
  synced(): void;
}

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

const MAX_RETRY_MS = 30_000;

export function startInformers(kc: KubeConfig, options: Options): Informers {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const nodeSelector = `metadata.name=${options.nodeName}`;
  const all = [
    new Resource<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces({ labelSelector: PROXY_LABEL_SELECTOR }), { label: PROXY_LABEL_SELECTOR }, options.services, 'services', options),
    new Resource<V1EndpointSlice>(
      kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: PROXY_LABEL_SELECTOR }),
      { label: PROXY_LABEL_SELECTOR },
      options.endpointSlices,
      'endpointslices',
      options,
    ),
    new Resource<V1Node>(kc, '/api/v1/nodes', () => core.listNode({ fieldSelector: nodeSelector }), { field: nodeSelector }, options.node, 'node', options),
  ];
  for (const resource of all) resource.start();
  return { stop: async () => void (await Promise.all(all.map((r) => r.stop()))) };
}

class Resource<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private isSynced = false;

  constructor(
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    selectors: { label?: string; field?: string },
    private readonly handlers: InformerHandlers<T>,
    private readonly name: string,
    private readonly options: Options,
  ) {
    this.delay = options.retryMs ?? 1000;
    const guarded = new GuardedWatch(kc, () => this.stopping);
    const listFn = async () => {
      if (this.stopping) throw new Error('informer stopping');
      const result = await list();
      // ListWatch applies the list (add/update/delete callbacks) synchronously once this
      // promise settles; a macrotask runs after that.
      setImmediate(() => this.markSynced());
      return result;
    };
    this.informer = new ListWatch<T>(path, guarded, listFn, false, selectors.label, selectors.field);
    this.informer.on('add', (obj) => handlers.upsert(obj));
    this.informer.on('update', (obj) => handlers.upsert(obj));
    this.informer.on('delete', (obj) => handlers.remove(obj));
    this.informer.on('connect', () => (this.delay = options.retryMs ?? 1000));
    this.informer.on('error', (err: unknown) => this.failed(err));
  }

  start(): void {
    this.informer.start().catch((err: unknown) => this.failed(err));
  }

  private markSynced(): void {
    if (this.isSynced || this.stopping) return;
    this.isSynced = true;
    this.handlers.synced();
  }

  private failed(err: unknown): void {
    if (this.stopping) return;
    this.options.log(`${this.name} informer: ${describe(err)}; retrying in ${this.delay / 1000}s (the data path keeps its last rules)`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_RETRY_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await this.informer.stop();
  }
}

/** A Watch that opens nothing once its informer is stopping (a stop can race a restart). */
class GuardedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly stopping: () => boolean,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    if (this.stopping()) {
      const controller = new AbortController();
      controller.abort();
      return controller;
    }
    return super.watch(path, query, callback, done);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null) return JSON.stringify(err);
  return String(err);
}
