import type { V1Service } from '@kubernetes/client-node';
import type { KubeApi } from '../kube/api';
import { isFerrysConcern, serviceRef, type ServiceClassConfig } from '../model/service';
import { isServiceKey, serviceMessage, type WorkMessage, type WorkQueue } from '../queue/messages';
import type { ReconcileReport, Reconciler } from '../reconcile/reconciler';
import type { LogEntry } from '../util/log';

/** What a queue consumer needs, whichever host it runs in. */
export interface WorkerDeps {
  kube: KubeApi;
  reconciler: Reconciler;
  queue: WorkQueue;
  config: ServiceClassConfig;
}

export type WorkResult =
  | { kind: 'reconciled'; report: ReconcileReport }
  | { kind: 'fanned-out'; services: number }
  /** Not work ferry can do (a key no Service can have); dropped, not retried. */
  | { kind: 'dropped'; reason: string };

/**
 * Runs one queue message. A Service message reconciles that Service; a fan-out message
 * (a Node changed) becomes one Service message per load balancer Service, each in its own
 * message group, so node changes never race a Service's own reconcile.
 */
export async function processWork(message: WorkMessage, messageId: string, deps: WorkerDeps, deadline?: number): Promise<WorkResult> {
  if (message.kind === 'service') {
    if (!isServiceKey(message.namespace, message.name)) {
      return { kind: 'dropped', reason: `${JSON.stringify(`${message.namespace}/${message.name}`.slice(0, 80))} cannot name a Service` };
    }
    const report = await deps.reconciler.reconcile(message.namespace, message.name, { full: message.full ?? false, ...(deadline ? { deadline } : {}) });
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

/** A log entry for a finished message, the same in every host. */
export function describeResult(r: WorkResult): LogEntry {
  switch (r.kind) {
    case 'reconciled':
      return {
        level: r.report.outcome === 'refused' ? 'warn' : 'info',
        msg: 'reconciled',
        service: r.report.service,
        outcome: r.report.outcome,
        actions: r.report.actions.length,
        ...(r.report.message ? { message: r.report.message } : {}),
      };
    case 'fanned-out':
      return { level: 'info', msg: 'fanned out', services: r.services };
    case 'dropped':
      return { level: 'warn', msg: 'dropped a message that is not work', reason: r.reason };
  }
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
