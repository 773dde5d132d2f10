import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { AwsClients } from '../aws/clients';
import { inventory, type OwnershipSource } from '../aws/inventory';
import { describeError } from '../errors';
import type { KubeApi } from '../kube/api';
import { buildModel, type ClusterConfig } from '../model/build';
import { checkpointOf } from '../model/checkpoint';
import { hasRecord, readRecord } from '../model/record';
import { hasFinalizer, isFerrysConcern, serviceRef, wantsLoadBalancer } from '../model/service';
import type { LoadBalancerModel } from '../model/types';
import { deepCheckReads, scheduleDeepChecks } from '../plan/budget';
import { findDrift, type FleetService } from '../plan/drift';
import { MAX_DELAY_SECONDS, serviceMessage, type QueuedMessage, type WorkQueue } from '../queue/messages';
import { collectGarbage, type GcReport } from './gc';

export interface ResyncOptions extends ClusterConfig {
  awsConcurrency: number;
  /** ELBv2 reads per second the deep checks may average (see DEFAULT_READ_BUDGET). */
  readBudget: number;
  intervalSeconds: number;
  /** Epoch milliseconds of this run (the schedule's time): picks the interval's deep checks. */
  now: number;
  ownership?: OwnershipSource;
}

export interface ResyncReport {
  /** Services ferry serves or cleans up after. */
  services: number;
  /** Converged and, as far as the sweep shows, as they should be: no AWS call for them. */
  inSync: number;
  /** Changed since their last reconcile (a missed webhook, a node change): a quick reconcile each. */
  changed: string[];
  /** Their AWS side differs from their model: a full reconcile each, with the first difference. */
  drifted: Array<{ service: string; difference: string }>;
  /** Deep checks queued this interval, paced over it, and the ELBv2 reads they will cost. */
  deep: { queued: number; reads: number; windowSeconds: number };
  /** Services whose model cannot be built (their reconcile said why in an Event). */
  refused: number;
  gc: GcReport;
}

/**
 * The periodic resync, for any number of Services within the account's API budget:
 *
 * 1. one sweep of the Region finds everything this cluster owns in a few hundred calls
 *    (inventory), before the Services are listed, so that anything created after it is
 *    already claimed by a record in the list;
 * 2. a Service whose inputs still match its checkpoint needs no AWS call to prove it; one
 *    that changed (a missed webhook) is queued;
 * 3. a converged Service whose resources the sweep shows otherwise (deleted, changed by
 *    hand) is queued for a full reconcile;
 * 4. the interval's share of deep checks is queued, each delayed so that the fleet's reads
 *    average at most the budget (scheduleDeepChecks);
 * 5. orphans and strays go (gc), from the same sweep.
 */
export async function resync(kube: KubeApi, aws: AwsClients, queue: WorkQueue, options: ResyncOptions): Promise<ResyncReport> {
  const scoped = aws.scoped({ concurrency: options.awsConcurrency });
  const owned = await inventory(scoped, options.clusterName, { ownership: options.ownership ?? 'auto' });
  const [all, nodes] = await Promise.all([kube.listServices(), kube.listNodes()]);
  const services = all.filter((s) => isFerrysConcern(s, options));
  const assessed = assess(services, nodes, options);
  const drift = findDrift(assessed.converged, owned);
  const interval = Math.floor(options.now / (options.intervalSeconds * 1000));
  const schedule = scheduleDeepChecks({
    services: assessed.converged.filter((s) => !drift.drifted.has(s.key)).map((s) => ({ key: s.key, reads: deepCheckReads(s.spec) })),
    budget: options.readBudget,
    intervalSeconds: options.intervalSeconds,
    interval,
    maxDelaySeconds: MAX_DELAY_SECONDS,
  });

  const message = (key: string, kind: string, full: boolean, delaySeconds = 0): QueuedMessage => {
    const [namespace = '', name = ''] = key.split('/');
    return serviceMessage(namespace, name, `resync-${interval}-${kind}-${key}`, full, delaySeconds);
  };
  await queue.send([
    ...assessed.changed.map((key) => message(key, 'changed', false)),
    ...[...drift.drifted.keys()].map((key) => message(key, 'drift', true)),
    ...schedule.due.map((d) => message(d.key, 'deep', true, d.delaySeconds)),
  ]);

  let gc: GcReport;
  try {
    gc = await collectGarbage(kube, aws, options, { owned, services: all, strays: drift.strays });
  } catch (err) {
    gc = { services: [], backend: { done: [], skipped: describeError(err) } };
  }
  return {
    services: services.length,
    inSync: assessed.converged.length - drift.drifted.size,
    changed: assessed.changed,
    drifted: [...drift.drifted].map(([service, difference]) => ({ service, difference })),
    deep: { queued: schedule.due.length, reads: schedule.reads, windowSeconds: schedule.windowSeconds },
    refused: assessed.refused,
    gc,
  };
}

/** Which Services changed since their checkpoint, and the models of those that did not. Pure. */
export function assess(services: readonly V1Service[], nodes: readonly V1Node[], config: ClusterConfig): { converged: FleetService[]; changed: string[]; refused: number } {
  const converged: FleetService[] = [];
  const changed: string[] = [];
  let refused = 0;
  for (const service of services) {
    const ref = serviceRef(service);
    const key = `${ref.namespace}/${ref.name}`;
    if (!wantsLoadBalancer(service, config)) {
      // Going away, or no longer a load balancer: the reconcile cleans up and lets it go.
      if (hasFinalizer(service) || hasRecord(service)) changed.push(key);
      continue;
    }
    let model: LoadBalancerModel;
    try {
      model = buildModel(service, nodes, config);
    } catch {
      refused++;
      continue;
    }
    const checkpoint = checkpointOf(model);
    const record = readRecord(service);
    if (model.loadBalancer && checkpoint && record.checkpoint?.spec === checkpoint.spec && record.checkpoint.targets === checkpoint.targets) {
      converged.push({ key, spec: model.loadBalancer, recorded: record.resources });
    } else {
      changed.push(key);
    }
  }
  return { converged, changed, refused };
}
