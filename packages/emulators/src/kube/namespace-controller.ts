/**
 * The part of kube-controller-manager's namespace controller the emulator needs: when a
 * namespace is Terminating, delete everything in it (objects with finalizers stay until
 * their finalizers are removed) and, once it is empty, remove the "kubernetes" finalizer
 * through /finalize, which deletes the namespace. Like the real controller it runs
 * asynchronously, shortly after the change that triggered it.
 */
import { isStatusError, type Registry } from './registry';
import { isTerminating, namespaces } from './resources/namespaces';
import { type ResourceType, resourceId } from './resources/types';

export class NamespaceController {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Immediate | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly types: readonly ResourceType[],
  ) {
    const store = registry.store;
    this.unsubscribe.push(
      store.subscribe(resourceId(namespaces), (event) => {
        if (event.type === 'MODIFIED' && isTerminating(event.object)) this.enqueue(event.object.metadata.name ?? '');
      }),
    );
    for (const rt of types.filter((t) => t.namespaced)) {
      this.unsubscribe.push(
        store.subscribe(resourceId(rt), (event) => {
          if (event.type !== 'DELETED') return;
          const ns = event.object.metadata.namespace ?? '';
          if (isTerminating(store.get(resourceId(namespaces), ns))) this.enqueue(ns);
        }),
      );
    }
  }

  stop(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    this.pending.clear();
    for (const off of this.unsubscribe) off();
  }

  private enqueue(name: string): void {
    this.pending.add(name);
    this.timer ??= setImmediate(() => {
      this.timer = undefined;
      const names = [...this.pending];
      this.pending.clear();
      for (const ns of names) {
        try {
          this.sync(ns);
        } catch {
          // The real controller requeues; here the next change in the namespace retries.
        }
      }
    });
  }

  private sync(name: string): void {
    const ns = this.registry.store.get(resourceId(namespaces), name);
    if (!ns || !isTerminating(ns)) return;
    const namespaced = this.types.filter((t) => t.namespaced);
    for (const rt of namespaced) {
      for (const obj of this.registry.store.list(resourceId(rt), `${name}/`)) {
        if (!obj.metadata.deletionTimestamp) this.ignoreApiErrors(() => this.registry.delete(rt, name, obj.metadata.name ?? ''));
      }
    }
    const remaining = namespaced.reduce((n, rt) => n + this.registry.store.list(resourceId(rt), `${name}/`).length, 0);
    const spec = (ns.spec ?? {}) as { finalizers?: string[] };
    if (remaining > 0 || !spec.finalizers?.includes('kubernetes')) return;
    const finalized = structuredClone(ns) as typeof ns;
    finalized.spec = { ...spec, finalizers: spec.finalizers.filter((f) => f !== 'kubernetes') };
    this.ignoreApiErrors(() => this.registry.update(namespaces, '', name, finalized, { subresource: 'finalize' }));
  }

  private ignoreApiErrors(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      // The real controller logs and retries; here the next triggering change retries.
      if (!isStatusError(err)) throw err;
    }
  }
}
