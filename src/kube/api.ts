import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import { ConflictError } from '../errors';
import { hash } from '../util/hash';

/**
 * The narrow slice of the Kubernetes API the reconciler needs. One implementation speaks to
 * a real API server through `@kubernetes/client-node`; tests use the same one against the
 * embedded emulator.
 */
export interface KubeApi {
  /** undefined when the Service does not exist. */
  getService(namespace: string, name: string): Promise<V1Service | undefined>;
  listServices(): Promise<V1Service[]>;
  listNodes(): Promise<V1Node[]>;
  /**
   * Merge-patches metadata. With `resourceVersion` the patch is conditional (a list such as
   * finalizers is replaced whole, so it must not overwrite a concurrent writer): a stale
   * version throws a {@link ConflictError}.
   */
  patchServiceMetadata(service: V1Service, patch: MetadataPatch): Promise<V1Service>;
  patchServiceStatus(service: V1Service, status: V1Service['status']): Promise<V1Service>;
  recordEvent(service: V1Service, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export interface MetadataPatch {
  finalizers?: string[];
  /** null deletes the key. */
  annotations?: Record<string, string | null>;
  resourceVersion?: string;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class ClientNodeKubeApi implements KubeApi {
  private readonly core: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly component = 'ferry',
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async getService(namespace: string, name: string): Promise<V1Service | undefined> {
    try {
      return await this.core.readNamespacedService({ namespace, name });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  listServices(): Promise<V1Service[]> {
    return listAll((page) => this.core.listServiceForAllNamespaces(page));
  }

  listNodes(): Promise<V1Node[]> {
    return listAll((page) => this.core.listNode(page));
  }

  async patchServiceMetadata(service: V1Service, patch: MetadataPatch): Promise<V1Service> {
    const { namespace, name } = ids(service);
    try {
      return await this.core.patchNamespacedService({ namespace, name, body: { metadata: patch } }, mergePatch);
    } catch (err) {
      if (statusOf(err) === 409) {
        throw new ConflictError(`Service ${namespace}/${name} changed while ferry updated it`, { cause: err, retryAfterMs: 100 });
      }
      throw err;
    }
  }

  async patchServiceStatus(service: V1Service, status: V1Service['status']): Promise<V1Service> {
    const { namespace, name } = ids(service);
    return this.core.patchNamespacedServiceStatus({ namespace, name, body: { status } }, mergePatch);
  }

  /**
   * Like client-go's recorder, a repeated event (same reason and message) bumps the count of
   * the existing one instead of piling up new objects.
   */
  async recordEvent(service: V1Service, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const { namespace, name } = ids(service);
    const eventName = `${name}.${hash(service.metadata?.uid ?? '', reason, message)}`;
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { name: eventName, namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Service',
        namespace,
        name,
        uid: service.metadata?.uid,
        resourceVersion: service.metadata?.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
    };
    try {
      await this.core.createNamespacedEvent({ namespace, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      const existing = await this.core.readNamespacedEvent({ namespace, name: eventName });
      await this.core.patchNamespacedEvent(
        { namespace, name: eventName, body: { count: (existing.count ?? 1) + 1, lastTimestamp: now } },
        mergePatch,
      );
    }
  }
}

/** Every item of a list, following `continue` tokens in pages of 500. */
async function listAll<T>(
  list: (page: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await list({ limit: 500, ...(token ? { _continue: token } : {}) });
    items.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return items;
}

function ids(service: V1Service): { namespace: string; name: string } {
  return { namespace: service.metadata?.namespace ?? 'default', name: service.metadata?.name ?? '' };
}

/** The HTTP status of a client-node ApiException. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
