import type { ObservedState, ObservedTargetGroup } from '../model/observed';
import { compareTargets } from '../model/targets';
import type { HealthCheck, Target, TargetGroupModel } from '../model/types';
import { chunk } from '../util/limit';
import { Phase, type Action } from './actions';
import { TARGET_GROUP_ATTRIBUTES, attributeDefaults, attributeDrift } from '../model/attributes';
import { TARGETS_PER_CALL } from './defaults';
import { isEmpty, tagDrift, targetDrift } from './diff';

/**
 * One target group: create it with everything it needs, or bring an existing one in line.
 * Its name hashes every field AWS cannot modify, so an existing group of that name only ever
 * needs in-place changes.
 */
export function planTargetGroup(tg: TargetGroupModel, current: ObservedTargetGroup | undefined, vpcId: string): Action[] {
  if (!current) {
    const { targets, attributes, ...group } = tg;
    const actions: Action[] = [{ phase: Phase.Create, op: 'CreateTargetGroup', group, vpcId }];
    const nonDefault = attributeDrift(attributes, {}, defaultsOf(tg));
    if (!isEmpty(nonDefault)) {
      actions.push({ phase: Phase.Configure, op: 'ModifyTargetGroupAttributes', targetGroup: tg.name, attributes: nonDefault });
    }
    return [...actions, ...registrations(tg.name, { register: targets, deregister: [] })];
  }

  const actions: Action[] = [];
  if (!sameHealthCheck(tg.healthCheck, current.healthCheck)) {
    actions.push({ phase: Phase.Configure, op: 'ModifyTargetGroup', targetGroup: tg.name, healthCheck: tg.healthCheck });
  }
  if (current.attributes) {
    const drift = attributeDrift(tg.attributes, current.attributes, defaultsOf(tg));
    if (!isEmpty(drift)) {
      actions.push({ phase: Phase.Configure, op: 'ModifyTargetGroupAttributes', targetGroup: tg.name, attributes: drift });
    }
  }
  const tags = tagDrift(tg.tags, current.tags);
  if (!isEmpty(tags.set)) actions.push({ phase: Phase.Configure, op: 'AddTags', kind: 'targetGroup', resource: tg.name, tags: tags.set });
  if (tags.remove.length > 0) {
    actions.push({ phase: Phase.Configure, op: 'RemoveTags', kind: 'targetGroup', resource: tg.name, keys: tags.remove });
  }
  if (current.targets) actions.push(...registrations(tg.name, targetDrift(tg.targets, current.targets)));
  return actions;
}

/** Register and deregister calls in chunks; one node added or removed is one call per group. */
export function registrations(targetGroup: string, drift: { register: Target[]; deregister: Target[] }): Action[] {
  return [
    ...chunk(drift.register, TARGETS_PER_CALL).map(
      (targets): Action => ({ phase: Phase.Configure, op: 'RegisterTargets', targetGroup, targets }),
    ),
    ...chunk(drift.deregister, TARGETS_PER_CALL).map(
      (targets): Action => ({ phase: Phase.Configure, op: 'DeregisterTargets', targetGroup, targets }),
    ),
  ];
}

/**
 * What each observed target group holds once the registrations among `done` have run: the
 * progress of an apply that failed part way, so that its retry sends only what is left.
 */
export function heldAfter(observed: ObservedState, done: readonly Action[]): Map<string, Target[]> {
  const key = (t: Target) => `${t.id}:${t.port}`;
  const held = new Map(observed.targetGroups.map((tg) => [tg.name, new Map((tg.targets ?? []).map((t) => [key(t), t]))]));
  for (const action of done) {
    if (action.op !== 'RegisterTargets' && action.op !== 'DeregisterTargets') continue;
    const group = held.get(action.targetGroup);
    for (const t of action.targets) {
      if (action.op === 'RegisterTargets') group?.set(key(t), t);
      else group?.delete(key(t));
    }
  }
  return new Map([...held].map(([name, targets]) => [name, [...targets.values()].sort(compareTargets)]));
}

function defaultsOf(tg: TargetGroupModel): Record<string, string> {
  return attributeDefaults(TARGET_GROUP_ATTRIBUTES, { protocol: tg.protocol, targetType: tg.targetType });
}

export function sameHealthCheck(a: HealthCheck, b: HealthCheck): boolean {
  return (
    a.protocol === b.protocol &&
    String(a.port) === String(b.port) &&
    a.intervalSeconds === b.intervalSeconds &&
    a.timeoutSeconds === b.timeoutSeconds &&
    a.healthyThreshold === b.healthyThreshold &&
    a.unhealthyThreshold === b.unhealthyThreshold &&
    (a.protocol === 'TCP' || (a.path === b.path && a.successCodes === b.successCodes))
  );
}
