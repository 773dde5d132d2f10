import type { V1Service } from '@kubernetes/client-node';
import type { KubeApi } from '../kube/api';
import { isFerrysConcern, serviceRef, type ServiceClassConfig } from '../model/service';
import { serviceMessage, type WorkMessage, type WorkQueue } from '../queue/messages';
import type { ReconcileReport, Reconciler } from '../reconcile/reconciler';

/** What a queue consumer needs, whichever host it runs in. */
export interface WorkerDeps {
  kube: KubeApi;
  reconciler: Reconciler;
  queue: WorkQueue;
  config: ServiceClassConfig;
}

export type WorkResult = { kind: 'reconciled'; report: ReconcileReport } | { kind: 'fanned-out'; services: number };

/**
 * Runs one queue message. A Service message reconciles that Service; a fan-out message
 * (a Node changed) becomes one Service message per load balancer Service, each in its own
 * message group, so node changes never race a Service's own reconcile.
 */
export async function processWork(message: WorkMessage, messageId: string, deps: WorkerDeps): Promise<WorkResult> {
  if (message.kind === 'service') {
    const report = await deps.reconciler.reconcile(message.namespace, message.name, { full: message.full ?? false });
    return { kind: 'reconciled', report };
  }
  const services = ferryServices(await deps.kube.listServices(), deps.config);
  await deps.queue.send(
    services.map((s) => {
      const { namespace, name } = serviceRef(s);
      return serviceMessage(namespace, name, `fanout-${messageId}-${namespace}/${name}`);
    }),
  );
  return { kind: 'fanned-out', services: services.length };
}

/** Services ferry serves or has something to clean up for. */
export function ferryServices(services: readonly V1Service[], config: ServiceClassConfig): V1Service[] {
  return services.filter((s) => isFerrysConcern(s, config));
}

/**
 * The periodic resync: every ferry Service gets a full drift check. The dedup id carries the
 * interval's bucket, so two resyncs of one interval (a retried schedule) queue it once.
 */
export async function enqueueResync(deps: Pick<WorkerDeps, 'kube' | 'queue' | 'config'>, now: number, intervalMs: number): Promise<number> {
  const bucket = Math.floor(now / intervalMs);
  const services = ferryServices(await deps.kube.listServices(), deps.config);
  await deps.queue.send(
    services.map((s) => {
      const { namespace, name } = serviceRef(s);
      return serviceMessage(namespace, name, `resync-${bucket}-${namespace}/${name}`, true);
    }),
  );
  return services.length;
}
