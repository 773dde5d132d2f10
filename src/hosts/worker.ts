import type { V1Service } from '@kubernetes/client-node';
import type { KubeApi } from '../kube/api';
import { isFerrysConcern, serviceRef, type ServiceClassConfig } from '../model/service';
import { isServiceKey, serviceMessage, type WorkMessage, type WorkQueue } from '../queue/messages';
import type { ReconcileReport, Reconciler } from '../reconcile/reconciler';
import type { ResyncReport } from '../reconcile/resync';
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
  | { kind: 'fanned-out'; services: number; backend: string[] }
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
  // After the fan-out, so registrations never wait on EC2; a failure retries both (the
  // Service messages deduplicate).
  const backend = await deps.reconciler.nodesChanged();
  return { kind: 'fanned-out', services: services.length, backend: backend.done };
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
      return { level: 'info', msg: 'fanned out', services: r.services, ...(r.backend.length > 0 ? { backend: r.backend } : {}) };
    case 'dropped':
      return { level: 'warn', msg: 'dropped a message that is not work', reason: r.reason };
  }
}

/** Services ferry serves or has something to clean up for. */
export function ferryServices(services: readonly V1Service[], config: ServiceClassConfig): V1Service[] {
  return services.filter((s) => isFerrysConcern(s, config));
}

/** Log entries for one resync: the summary, then each drift and each gc deletion or failure. */
export function describeResync(r: ResyncReport): LogEntry[] {
  return [
    {
      level: 'info',
      msg: 'resync',
      services: r.services,
      inSync: r.inSync,
      changed: r.changed.length,
      drifted: r.drifted.length,
      deepChecks: r.deep.queued,
      deepReads: r.deep.reads,
      windowSeconds: r.deep.windowSeconds,
      refused: r.refused,
      collected: r.gc.services.length,
    },
    ...r.drifted.map((d): LogEntry => ({ level: 'warn', msg: 'drift', service: d.service, difference: d.difference })),
    ...r.gc.services.map((s): LogEntry => ({ level: s.error ? 'warn' : 'info', msg: 'gc', ...s })),
    ...(r.gc.backend.skipped ? [{ level: 'warn' as const, msg: 'backend sweep skipped', reason: r.gc.backend.skipped }] : []),
  ];
}
