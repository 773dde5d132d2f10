import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { describeError } from '../errors';

/**
 * A client-node list-then-watch cache that keeps going, with what client-node 1.x leaves to
 * the caller:
 *
 * - after 410 Gone it relists by itself; on any other error (API server down, a reset watch)
 *   it emits `error` and stops, so this restarts it with backoff — meanwhile whatever the
 *   caller derived from earlier events stays in force;
 * - `stop()` also surfaces as an error (the aborted request), hence the `stopping` flag; and
 *   a restart racing a stop must not open a new watch, hence the guarded Watch.
 *
 * `makeInformer` is `new ListWatch(path, new Watch(kc), list, false, labelSelector)`; this
 * builds the ListWatch itself for what makeInformer cannot take: a field selector and that
 * guarded Watch.
 */
export interface InformerHandlers<T> {
  /** The object's current version (add or update). */
  upsert(obj: T): void;
  remove(obj: T): void;
  /** The first list has been delivered. */
  synced?(): void;
}

export interface InformerOptions {
  /** For log lines: what is being watched. */
  name: string;
  log: (line: string) => void;
  labelSelector?: string;
  fieldSelector?: string;
  /** First restart delay after an error; doubles up to 30 s. */
  retryMs?: number;
}

const MAX_RETRY_MS = 30_000;

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private isSynced = false;

  constructor(
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly handlers: InformerHandlers<T>,
    private readonly options: InformerOptions,
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
    this.informer = new ListWatch<T>(path, guarded, listFn, false, options.labelSelector, options.fieldSelector);
    this.informer.on('add', (obj) => handlers.upsert(obj));
    this.informer.on('update', (obj) => handlers.upsert(obj));
    this.informer.on('delete', (obj) => handlers.remove(obj));
    this.informer.on('connect', () => (this.delay = options.retryMs ?? 1000));
    this.informer.on('error', (err: unknown) => this.failed(err));
  }

  start(): void {
    this.informer.start().catch((err: unknown) => this.failed(err));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await this.informer.stop();
  }

  private markSynced(): void {
    if (this.isSynced || this.stopping) return;
    this.isSynced = true;
    this.handlers.synced?.();
  }

  private failed(err: unknown): void {
    if (this.stopping) return;
    const message = err instanceof Error || typeof err !== 'object' || err === null ? describeError(err) : JSON.stringify(err);
    this.options.log(`${this.options.name} informer: ${message}; retrying in ${this.delay / 1000}s`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), this.delay);
    this.retryTimer.unref?.();
    this.delay = Math.min(this.delay * 2, MAX_RETRY_MS);
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
