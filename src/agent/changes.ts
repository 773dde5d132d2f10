/**
 * kube-proxy's change trackers (pkg/proxy/servicechangetracker.go, endpointschangetracker.go):
 * informer handlers only record `{previous, current}` per object key, merging repeated
 * changes so `previous` is the object as of the last sync and `current` the latest. The sync
 * loop drains them; nothing here renders or touches the kernel.
 */
import { isDeepStrictEqual } from 'node:util';

export interface Change<T> {
  key: string;
  /** As of the last drain; undefined if the object was new. */
  previous: T | undefined;
  /** Now; undefined if the object was deleted. */
  current: T | undefined;
}

export class ChangeTracker<T> {
  /** The objects as of the last drain. */
  private readonly known = new Map<string, T>();
  private readonly pending = new Map<string, Change<T>>();

  /** Records the object's current version (undefined: deleted). Returns whether a change is now pending. */
  record(key: string, current: T | undefined): boolean {
    const previous = this.pending.has(key) ? this.pending.get(key)!.previous : this.known.get(key);
    // Back where it was (an add undone, or a relist that changed nothing): nothing to do.
    if (isDeepStrictEqual(withoutVersion(previous), withoutVersion(current))) this.pending.delete(key);
    else this.pending.set(key, { key, previous, current });
    return this.pending.size > 0;
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** The pending changes, oldest key first; `known` moves to their current versions. */
  drain(): Change<T>[] {
    const out = [...this.pending.values()];
    this.pending.clear();
    for (const change of out) {
      if (change.current === undefined) this.known.delete(change.key);
      else this.known.set(change.key, change.current);
    }
    return out;
  }

  /** Every object as of the last drain. */
  values(): IterableIterator<T> {
    return this.known.values();
  }

  get(key: string): T | undefined {
    return this.known.get(key);
  }
}

/** resourceVersion and managedFields change on every write; they say nothing about proxying. */
function withoutVersion<T>(obj: T): unknown {
  if (obj === undefined || obj === null || typeof obj !== 'object') return obj;
  const meta = (obj as { metadata?: Record<string, unknown> }).metadata;
  if (!meta) return obj;
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...rest } = meta;
  return { ...obj, metadata: rest };
}
