import type { V1Service } from '@kubernetes/client-node';
import { apply, type ApplyResult } from '../aws/apply';
import { awsErrorCode, isThrottling } from '../aws/errors';
import type { AwsClients } from '../aws/clients';
import { observe, observeTargets } from '../aws/observe';
import type { NodeGroupsRequest } from '../aws/observe-backend';
import type { ObservedState } from '../model/observed';
import { ConfigError, ConflictError, DeadlineError, InProgressError, OwnershipError, ThrottledError, describeError } from '../errors';
import type { KubeApi } from '../kube/api';
import { buildModel, type ClusterConfig } from '../model/build';
import { checkpointOf, formatCheckpoint, type Checkpoint } from '../model/checkpoint';
import { REGISTERED_ANNOTATION, formatRegistered, observedFromRecord, readRegistered } from '../model/registered';
import { aliasWarnings } from '../model/alias-resolution';
import { FINALIZER, hasFinalizer, isFerrysClass, isFerrysConcern, servedByAnother } from '../model/service';
import { serviceKey } from '../model/tags';
import type { LoadBalancerModel, LoadBalancerSpec } from '../model/types';
import type { Action } from '../plan/actions';
import { planWithProgress } from '../plan/plan';
import { heldAfter } from '../plan/target-groups';
import { grantBackend, sweepBackend, type BackendSweepReport } from './backend';
import {
  CHECKPOINT_ANNOTATION,
  RESOURCES_ANNOTATION,
  formatResources,
  hasRecord,
  readRecord,
  unionNames,
  type ResourceNames,
  type ServiceRecord,
} from '../model/record';

const MAX_CONFLICT_ATTEMPTS = 3;

/** What a registration answers when the record of a target group no longer matches AWS. */
const STALE_RECORD = new Set(['TargetGroupNotFound', 'InvalidTarget', 'ValidationError']);

export interface ReconcilerOptions extends ClusterConfig {
  /** Limits subnet discovery to one VPC. */
  vpcId?: string;
  /** AWS calls in flight at once within one reconcile. */
  awsConcurrency: number;
  /** The longest one reconcile may take; a host may give an earlier deadline per call. */
  reconcileTimeoutMs?: number;
}

/** One reconcile of a large Service takes seconds; a minute means something is stuck. */
export const DEFAULT_RECONCILE_TIMEOUT_MS = 60_000;

export interface ReconcileOptions {
  /** Compare everything with AWS, ignoring the checkpoint. */
  full?: boolean;
  /** Epoch milliseconds by which the reconcile must be over (e.g. Lambda's remaining time). */
  deadline?: number;
}

export type Outcome =
  /** The Service does not exist (its finalizer had been removed); `ferry gc` handles leftovers. */
  | 'absent'
  /** Not ferry's, and ferry made nothing for it. */
  | 'ignored'
  /** Same checkpoint as the last successful reconcile: no AWS call was made. */
  | 'unchanged'
  /** AWS already matched the model. */
  | 'in-sync'
  | 'ensured'
  | 'deleted'
  /** The Service asks for something ferry cannot do; an Event says what to change. */
  | 'refused';

export interface ReconcileReport {
  service: string;
  outcome: Outcome;
  actions: Action[];
  hostname?: string;
  message?: string;
}

/**
 * Reconciles one Service: read it and the Nodes, build the desired model, observe AWS,
 * plan, apply, then write status, checkpoint and finalizer. Level-based and idempotent:
 * running it again, at any time, converges to the same state.
 *
 * Errors the user must fix ({@link ConfigError}, {@link OwnershipError}) become a
 * `SyncLoadBalancerFailed` Event and the `refused` outcome; anything else is reported the
 * same way and rethrown for the host to retry.
 */
export class Reconciler {
  constructor(
    private readonly kube: KubeApi,
    private readonly aws: AwsClients,
    private readonly options: ReconcilerOptions,
  ) {}

  /**
   * Every reconcile has a deadline: past it, AWS calls in flight are aborted, none start,
   * and the reconcile fails with a {@link DeadlineError} for the host to retry, so a stuck
   * call can never hold a worker (or a Lambda invocation) forever.
   */
  async reconcile(namespace: string, name: string, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
    const key = `${namespace}/${name}`;
    const budget = this.options.reconcileTimeoutMs ?? DEFAULT_RECONCILE_TIMEOUT_MS;
    const ms = Math.max(0, Math.min(budget, (opts.deadline ?? Infinity) - Date.now()));
    const deadline = new AbortController();
    const throttledBefore = this.aws.calls.throttledAttempts;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new DeadlineError(`reconcile of ${key} did not finish within ${(ms / 1000).toFixed(1)}s; what it did stays done and the next attempt continues`);
        deadline.abort(err);
        reject(err);
      }, ms);
    });
    expired.catch(() => undefined);
    try {
      const aws = this.aws.scoped({ concurrency: this.options.awsConcurrency, signal: deadline.signal });
      return await Promise.race([this.attempt(namespace, name, key, aws, opts.full ?? false), expired]);
    } catch (err) {
      const cause = deadline.signal.aborted ? deadline.signal.reason : err;
      // Throttled reads (observe) surface as raw SDK errors, and a reconcile that spent its
      // time in throttling backoff runs out of it: both are the account's rate, not the work.
      const throttled = isThrottling(cause) || (cause instanceof DeadlineError && this.aws.calls.throttledAttempts > throttledBefore);
      if (throttled && !(cause instanceof ThrottledError)) {
        throw new ThrottledError(`reconcile of ${key}: AWS throttled it past the SDK's retries: ${describeError(cause)}`, { cause, retryAfterMs: 10_000 });
      }
      throw cause;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A node joined or left: the nodes' security groups get what every Service needs, once for
   * the cluster (each Service's own reconcile of the change then only registers).
   */
  async nodesChanged(): Promise<BackendSweepReport> {
    return grantBackend(this.kube, this.aws.scoped({ concurrency: this.options.awsConcurrency }), this.options);
  }

  private async attempt(namespace: string, name: string, key: string, aws: AwsClients, full: boolean): Promise<ReconcileReport> {
    for (let attempt = 1; ; attempt++) {
      const service = await this.kube.getService(namespace, name);
      if (!service) return { service: key, outcome: 'absent', actions: [] };
      if (!isFerrysConcern(service, this.options)) {
        const other = servedByAnother(service);
        if (other) {
          await this.event(service, 'Normal', 'ServedByAnotherController', `ferry leaves this Service alone: ${other}; add ferry.io/adopt-load-balancer to take over its load balancer (docs/migration.md)`);
        }
        return { service: key, outcome: 'ignored', actions: [] };
      }
      try {
        return await this.converge(service, key, aws, full);
      } catch (err) {
        // A concurrent write to the Service: read it again and converge from there.
        if (err instanceof ConflictError && attempt < MAX_CONFLICT_ATTEMPTS) continue;
        const message = describeError(err);
        if (err instanceof InProgressError) {
          await this.event(service, 'Normal', 'EnsuringLoadBalancer', message);
          throw err;
        }
        await this.event(service, 'Warning', 'SyncLoadBalancerFailed', `Error syncing load balancer: ${message}`);
        if (err instanceof ConfigError || err instanceof OwnershipError) {
          return { service: key, outcome: 'refused', actions: [], message };
        }
        throw err;
      }
    }
  }

  private async converge(service: V1Service, key: string, aws: AwsClients, full: boolean, useRecord = true): Promise<ReconcileReport> {
    const nodes = isFerrysClass(service, this.options) ? await this.kube.listNodes() : [];
    const model = buildModel(service, nodes, this.options);
    const spec = model.loadBalancer;
    const record = readRecord(service);
    const checkpoint = checkpointOf(model);
    if (spec && checkpoint && !full && sameCheckpoint(record.checkpoint, checkpoint)) {
      return { service: key, outcome: 'unchanged', actions: [], hostname: currentHostname(service) };
    }

    const desired = desiredNames(spec);
    // Only the registrations can differ when the rest of the model is as last applied: the
    // record of what is registered then replaces every read.
    const onlyTargets = !full && checkpoint !== undefined && record.checkpoint?.spec === checkpoint.spec;
    const recorded = onlyTargets && spec && useRecord ? observedFromRecord(spec, readRegistered(service)) : undefined;
    const observed = recorded ?? (await this.observe(aws, model, record, desired, checkpoint, full, onlyTargets));
    const { actions, pending } = planWithProgress(model, observed, { cluster: this.options.clusterName, service: key, ...(this.options.vpcId ? { vpcId: this.options.vpcId } : {}) });

    if (actions.length > 0) {
      // Before any create: the finalizer (so a deletion waits for cleanup) and every name the
      // apply may create (so an interrupted apply is found again).
      service = await this.prepare(service, spec !== null, unionNames(record.resources, desired), record.resources);
      await this.event(service, 'Normal', spec ? 'EnsuringLoadBalancer' : 'DeletingLoadBalancer', spec ? 'Ensuring load balancer' : 'Deleting load balancer');
      // Said when ferry acts on the Service, not on every look at it.
      const unsupported = spec ? aliasWarnings(service) : [];
      if (unsupported.length > 0) await this.event(service, 'Warning', 'UnsupportedAnnotation', `Annotations ferry does not honour as written: ${unsupported.join('; ')}`);
    }
    let result: ApplyResult;
    const done: Action[] = [];
    try {
      result = await apply(aws, actions, observed, done);
    } catch (err) {
      // A group deleted or changed behind ferry's back: the record was stale, so read AWS.
      if (recorded && STALE_RECORD.has(awsErrorCode((err as Error).cause) ?? '')) return this.converge(service, key, aws, full, false);
      if (onlyTargets && spec) await this.recordProgress(service, spec, observed, done);
      throw err;
    }

    if (!spec) {
      // The last Service that needed the nodes' backend rules takes them along, before it is
      // let go, so that an interrupted sweep is finished by the next reconcile.
      if (hasFinalizer(service) || hasRecord(service)) await sweepBackend(this.kube, aws, this.options);
      await this.finishDeletion(service, actions.length > 0);
      return { service: key, outcome: actions.length > 0 || hasFinalizer(service) ? 'deleted' : 'in-sync', actions };
    }
    const hostname = result.dnsNames.get(spec.name) ?? currentHostname(service);
    if (pending.length > 0) {
      // The adopted NLB serves already: its name goes into status now. No checkpoint yet: the
      // next reconcile must look again and take the next step.
      if (hostname && currentHostname(service) !== hostname) await this.kube.patchServiceStatus(service, { loadBalancer: { ingress: [{ hostname }] } });
      const interval = spec.targetGroups[0]?.healthCheck.intervalSeconds ?? 10;
      throw new InProgressError(`Adopting load balancer ${spec.name}: ${pending.join('; ')}`, { retryAfterMs: interval * 1000 });
    }
    service = await this.finishEnsure(service, hostname, checkpoint!, desired, formatRegistered(spec, result.targetGroupArns));
    if (actions.length > 0) {
      const onlyTargets = actions.every((a) => a.op === 'RegisterTargets' || a.op === 'DeregisterTargets');
      await this.event(
        service,
        'Normal',
        onlyTargets ? 'UpdatedLoadBalancer' : 'EnsuredLoadBalancer',
        onlyTargets ? 'Updated load balancer with new hosts' : 'Ensured load balancer',
      );
    }
    return { service: key, outcome: actions.length > 0 ? 'ensured' : 'in-sync', actions, ...(hostname ? { hostname } : {}) };
  }

  private async observe(
    aws: AwsClients,
    model: LoadBalancerModel,
    record: ServiceRecord,
    desired: ResourceNames,
    checkpoint: Checkpoint | undefined,
    full: boolean,
    onlyTargets: boolean,
  ): Promise<ObservedState> {
    const spec = model.loadBalancer;
    const request = {
      cluster: this.options.clusterName,
      service: serviceKey(model.service),
      loadBalancerNames: [...desired.loadBalancers, ...record.resources.loadBalancers],
      targetGroupNames: [...desired.targetGroups, ...record.resources.targetGroups],
      ...(spec ? { subnets: { selector: spec.subnets, ...(this.options.vpcId ? { vpcId: this.options.vpcId } : {}) } } : {}),
      // An adoption repoints listeners only once their new target groups are healthy.
      readTargets: spec !== null && (full || !checkpoint || record.checkpoint?.targets !== checkpoint.targets || spec.adopt !== undefined),
      details: spec !== null,
      ...(spec ? { listenerAttributes: spec.listeners.filter((l) => Object.keys(l.attributes).length > 0).map((l) => l.port) } : {}),
      ...(spec?.backend ? { backend: { ...nodeGroupsRequest(spec), ...(full ? {} : { unlessGranted: spec.backend.rules }) } } : {}),
      ...(spec?.adopt ? { adopting: true } : {}),
    };
    if (onlyTargets) {
      const narrow = await observeTargets(aws, { ...request, targetGroupNames: desired.targetGroups });
      if (narrow) return narrow;
    }
    return observe(aws, request);
  }

  /**
   * A node change that failed part way (throttled past the SDK's retries, say) records the
   * groups it did update, so that its retry writes only the rest: P writes per change, not
   * P per attempt. Best effort: without it the retry re-sends calls AWS takes as no-ops.
   */
  private async recordProgress(service: V1Service, spec: LoadBalancerSpec, observed: ObservedState, done: readonly Action[]): Promise<void> {
    if (!done.some((a) => a.op === 'RegisterTargets' || a.op === 'DeregisterTargets')) return;
    const read = new Set(observed.targetGroups.filter((tg) => tg.targets).map((tg) => tg.name));
    if (!spec.targetGroups.every((tg) => read.has(tg.name))) return;
    const held = heldAfter(observed, done);
    const now = { ...spec, targetGroups: spec.targetGroups.map((tg) => ({ ...tg, targets: held.get(tg.name) ?? tg.targets })) };
    const registered = formatRegistered(now, new Map(observed.targetGroups.map((tg) => [tg.name, tg.arn])));
    if (!registered) return;
    await this.kube.patchServiceMetadata(service, { annotations: { [REGISTERED_ANNOTATION]: registered } }).catch(() => undefined);
  }

  private async prepare(service: V1Service, wants: boolean, names: ResourceNames, recorded: ResourceNames): Promise<V1Service> {
    const addFinalizer = wants && !hasFinalizer(service);
    const newNames = formatResources(names) !== formatResources(recorded);
    if (!addFinalizer && !newNames) return service;
    return this.kube.patchServiceMetadata(service, {
      ...(addFinalizer ? { finalizers: [...(service.metadata?.finalizers ?? []), FINALIZER], resourceVersion: service.metadata?.resourceVersion } : {}),
      ...(newNames ? { annotations: { [RESOURCES_ANNOTATION]: formatResources(names) } } : {}),
    });
  }

  /** Status first, checkpoint last: a crash in between leaves no checkpoint, so the next reconcile re-checks. */
  private async finishEnsure(
    service: V1Service,
    hostname: string | undefined,
    checkpoint: Checkpoint,
    names: ResourceNames,
    registered: string | undefined,
  ): Promise<V1Service> {
    if (hostname && currentHostname(service) !== hostname) {
      service = await this.kube.patchServiceStatus(service, { loadBalancer: { ingress: [{ hostname }] } });
    }
    const annotations = {
      [CHECKPOINT_ANNOTATION]: formatCheckpoint(checkpoint),
      [RESOURCES_ANNOTATION]: formatResources(names),
      [REGISTERED_ANNOTATION]: registered ?? null,
    };
    const current = service.metadata?.annotations ?? {};
    if (Object.entries(annotations).every(([k, v]) => (current[k] ?? null) === v)) return service;
    return this.kube.patchServiceMetadata(service, { annotations });
  }

  private async finishDeletion(service: V1Service, didDelete: boolean): Promise<void> {
    if ((service.status?.loadBalancer?.ingress?.length ?? 0) > 0) {
      service = await this.kube.patchServiceStatus(service, { loadBalancer: { ingress: null as unknown as [] } });
    }
    if (hasFinalizer(service) || hasRecord(service)) {
      await this.kube.patchServiceMetadata(service, {
        finalizers: (service.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER),
        resourceVersion: service.metadata?.resourceVersion,
        annotations: { [CHECKPOINT_ANNOTATION]: null, [RESOURCES_ANNOTATION]: null, [REGISTERED_ANNOTATION]: null },
      });
    }
    if (didDelete) await this.event(service, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
  }

  /** Events are best effort: failing to record one must not fail the reconcile it describes. */
  private async event(service: V1Service, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    try {
      await this.kube.recordEvent(service, type, reason, message);
    } catch {
      // The outcome is still returned to the host and logged there.
    }
  }
}

/** The target nodes whose security groups must admit the backend group. */
function nodeGroupsRequest(spec: LoadBalancerSpec): NodeGroupsRequest {
  const first = spec.targetGroups[0];
  return {
    targetType: first?.targetType ?? 'instance',
    targets: [...new Set(spec.targetGroups.flatMap((tg) => tg.targets.map((t) => t.id)))].sort(),
    nodeGroupTag: spec.backend!.nodeGroupTag,
  };
}

function desiredNames(spec: LoadBalancerSpec | null): ResourceNames {
  return {
    loadBalancers: spec ? [spec.name] : [],
    targetGroups: spec ? spec.targetGroups.map((tg) => tg.name) : [],
  };
}

function sameCheckpoint(a: Checkpoint | undefined, b: Checkpoint): boolean {
  return a !== undefined && a.spec === b.spec && a.targets === b.targets;
}

function currentHostname(service: V1Service): string | undefined {
  return service.status?.loadBalancer?.ingress?.[0]?.hostname;
}
