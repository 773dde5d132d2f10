import type { ObservedLoadBalancer, ObservedTargetGroup } from '../model/observed';
import { TAG_CLUSTER, ownershipTags, serviceKey } from '../model/tags';
import type { ListenerModel, LoadBalancerSpec } from '../model/types';
import { Phase, type Action } from './actions';

/**
 * Taking over an NLB another controller made (`ferry.io/adopt-load-balancer`), keeping its DNS
 * name and addresses. Level-based like the rest: each reconcile does what the observation
 * allows and says what it waits for.
 *
 * 1. The NLB and the target groups its listeners use get ferry's ownership tags, first of
 *    all (they are ferry's from then on: the old groups are deleted once nothing uses them).
 * 2. ferry's own target groups are created and warmed up on spare listeners (health checks
 *    run only for target groups a listener uses).
 * 3. A listener is repointed in place only once its new target group has a healthy target,
 *    so traffic never meets a target group that has none; then the spare listener goes.
 */
export interface AdoptionSteps {
  /** Ownership tags, in the first phase. */
  actions: Action[];
  /** Ports whose listener keeps its old target group for now. */
  hold: Set<number>;
  /** Spare listeners warming up ferry's target groups. */
  warmups: ListenerModel[];
  /** What the adoption still waits for, one sentence each. */
  pending: string[];
}

export function planAdoption(
  spec: LoadBalancerSpec,
  lb: ObservedLoadBalancer,
  targetGroups: readonly ObservedTargetGroup[],
  service: { cluster: string; key: string },
): AdoptionSteps {
  const actions: Action[] = [];
  const ref = { namespace: service.key.split('/')[0] ?? '', name: service.key.split('/')[1] ?? '', uid: '' };
  if (lb.tags[TAG_CLUSTER] === undefined) {
    actions.push({ phase: Phase.SecurityGroup, op: 'AddTags', kind: 'loadBalancer', resource: lb.name, tags: ownershipTags(service.cluster, ref, 'LoadBalancer') });
  }
  // Its listeners too: ferry's IAM policy lets it change only listeners that carry its tag.
  for (const l of lb.listeners) {
    if (l.tags?.[TAG_CLUSTER] === undefined) {
      actions.push({ phase: Phase.SecurityGroup, op: 'AddTags', kind: 'listener', resource: `${lb.name}:${l.port}`, tags: ownershipTags(service.cluster, ref, `${serviceKey(ref)}:${l.port}`) });
    }
  }
  const used = new Set(lb.listeners.map((l) => l.targetGroupArn));
  for (const tg of targetGroups) {
    if (used.has(tg.arn) && tg.tags[TAG_CLUSTER] === undefined) {
      actions.push({ phase: Phase.SecurityGroup, op: 'AddTags', kind: 'targetGroup', resource: tg.name, tags: ownershipTags(service.cluster, ref, `${serviceKey(ref)}:adopted`) });
    }
  }

  const byName = new Map(targetGroups.map((tg) => [tg.name, tg]));
  const nameOf = new Map(targetGroups.map((tg) => [tg.arn, tg.name]));
  const spare = sparePorts(spec);
  const hold = new Set<number>();
  const warmups: ListenerModel[] = [];
  const pending: string[] = [];
  spec.listeners.forEach((listener, i) => {
    const current = lb.listeners.find((l) => l.port === listener.port);
    if (!current || nameOf.get(current.targetGroupArn ?? '') === listener.targetGroup) return;
    const ready = (byName.get(listener.targetGroup)?.healthy ?? 0) > 0;
    if (ready) return;
    hold.add(listener.port);
    const port = spare[i]!;
    warmups.push({ ...listener, port });
    pending.push(`listener ${listener.port} keeps its old target group until ${listener.targetGroup} has a healthy target (warming up on listener ${port})`);
  });
  return { actions, hold, warmups, pending };
}

/** The highest ports the Service does not use, one per listener, the same on every reconcile. */
function sparePorts(spec: LoadBalancerSpec): number[] {
  const taken = new Set(spec.listeners.map((l) => l.port));
  const ports: number[] = [];
  for (let p = 65535; ports.length < spec.listeners.length; p--) if (!taken.has(p)) ports.push(p);
  return ports;
}
