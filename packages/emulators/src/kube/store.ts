/**
 * The emulator's etcd plus watch cache: one store for every resource, keyed by resource
 * and `namespace/name` (or `name` for cluster-scoped kinds), with one global, monotonically
 * increasing resourceVersion (etcd's revision).
 *
 * Each resource keeps a bounded event history like the apiserver's per-resource watch
 * cache, so a busy resource (Events) cannot push another resource's history out. A watch
 * or a paged list from a resourceVersion older than what a resource still remembers is
 * "expired" and answered with 410 by the callers. Stored objects are deep-frozen: callers
 * clone before they change anything.
 */
import type { KubeObject } from './json';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: EventType;
  readonly resource: string;
  readonly key: string;
  /** The new state; for DELETED the last state, carrying the deletion's resourceVersion. */
  readonly object: KubeObject;
  /** The state before this event (absent for ADDED). */
  readonly prev?: KubeObject;
  readonly rv: number;
}

export type Listener = (event: StoreEvent) => void;

interface History {
  events: StoreEvent[];
  /** Every event with rv > floor is still in `events`: watches from rv >= floor are servable. */
  floor: number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function withResourceVersion(obj: KubeObject, rv: number): KubeObject {
  return deepFreeze({ ...structuredClone(obj), metadata: { ...structuredClone(obj.metadata), resourceVersion: String(rv) } });
}

export class ObjectStore {
  private rv = 0;
  private compactedAt = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly histories = new Map<string, History>();
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly historyLimit: number) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get(resource: string, key: string): KubeObject | undefined {
    return this.objects.get(resource)?.get(key);
  }

  /** Current objects of a resource, sorted by key like an etcd range read; `prefix` limits to a namespace. */
  list(resource: string, prefix?: string): KubeObject[] {
    return sortedValues(this.objects.get(resource) ?? new Map(), prefix);
  }

  /**
   * The objects of a resource as they were at `rv`, rebuilt by undoing newer events:
   * what etcd serves for a paged list's continue token. Undefined when that history is gone.
   */
  listAt(resource: string, rv: number, prefix?: string): KubeObject[] | undefined {
    const history = this.history(resource);
    if (rv < history.floor) return undefined;
    const state = new Map(this.objects.get(resource) ?? []);
    for (let i = history.events.length - 1; i >= 0; i--) {
      const event = history.events[i];
      if (!event || event.rv <= rv) break;
      if (event.type === 'ADDED') state.delete(event.key);
      else if (event.prev) state.set(event.key, event.prev);
    }
    return sortedValues(state, prefix);
  }

  /** Events of a resource after `rv`, or the floor when they are no longer known. */
  eventsSince(resource: string, rv: number): StoreEvent[] | { expired: number } {
    const history = this.history(resource);
    if (rv < history.floor) return { expired: history.floor };
    return history.events.filter((e) => e.rv > rv);
  }

  create(resource: string, key: string, obj: KubeObject): KubeObject {
    const stored = withResourceVersion(obj, ++this.rv);
    this.bucket(resource).set(key, stored);
    this.record({ type: 'ADDED', resource, key, object: stored, rv: this.rv });
    return stored;
  }

  update(resource: string, key: string, obj: KubeObject): KubeObject {
    const prev = this.get(resource, key);
    const stored = withResourceVersion(obj, ++this.rv);
    this.bucket(resource).set(key, stored);
    this.record({ type: 'MODIFIED', resource, key, object: stored, prev, rv: this.rv });
    return stored;
  }

  delete(resource: string, key: string): KubeObject | undefined {
    const prev = this.get(resource, key);
    if (!prev) return undefined;
    const last = withResourceVersion(prev, ++this.rv);
    this.bucket(resource).delete(key);
    this.record({ type: 'DELETED', resource, key, object: last, prev, rv: this.rv });
    return last;
  }

  subscribe(resource: string, listener: Listener): () => void {
    let set = this.listeners.get(resource);
    if (!set) this.listeners.set(resource, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Forget all history, as an etcd compaction followed by a watch-cache restart would. */
  compact(): void {
    this.compactedAt = this.rv;
    for (const history of this.histories.values()) {
      history.events = [];
      history.floor = this.rv;
    }
  }

  private bucket(resource: string): Map<string, KubeObject> {
    let bucket = this.objects.get(resource);
    if (!bucket) this.objects.set(resource, (bucket = new Map()));
    return bucket;
  }

  private history(resource: string): History {
    let history = this.histories.get(resource);
    if (!history) this.histories.set(resource, (history = { events: [], floor: this.compactedAt }));
    return history;
  }

  private record(event: StoreEvent): void {
    const history = this.history(event.resource);
    history.events.push(event);
    while (history.events.length > this.historyLimit) {
      const evicted = history.events.shift();
      if (evicted) history.floor = evicted.rv;
    }
    for (const listener of [...(this.listeners.get(event.resource) ?? [])]) listener(event);
  }
}

function sortedValues(map: ReadonlyMap<string, KubeObject>, prefix: string | undefined): KubeObject[] {
  return [...map.entries()]
    .filter(([key]) => prefix === undefined || key.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, obj]) => obj);
}
