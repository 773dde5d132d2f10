import { ConfigError, OwnershipError } from '../errors';
import type { ObservedLoadBalancer, ObservedState, ObservedTargetGroup } from '../model/observed';
import { ownedByService, TAG_CLUSTER, TAG_SERVICE } from '../model/tags';
import type { LoadBalancerModel, LoadBalancerSpec, Scheme, TargetGroupModel } from '../model/types';
import { Phase, type Action } from './actions';
import { targetDrift } from './diff';
import { planListeners } from './listeners';
import { planLoadBalancer } from './load-balancer';
import { planAdoption, type AdoptionSteps } from './adoption';
import { planDirectRules, planSecurityGroups } from './security-groups';
import { chooseSubnets, mapAddresses } from './subnets';
import { planTargetGroup, registrations } from './target-groups';

export interface PlanContext {
  cluster: string;
  /** `<namespace>/<name>` */
  service: string;
  /** `FERRY_VPC_ID`: the only VPC load balancers may be placed in. */
  vpcId?: string;
}

/**
 * Compares the desired model with what AWS holds and returns the actions that make AWS
 * match, ordered by phase. Pure. Modifies only on drift, so an observation that matches the
 * model plans nothing. Refuses (throws) before planning anything when a name it needs is
 * taken by a resource that is not this Service's.
 */
export function plan(model: LoadBalancerModel, observed: ObservedState, ctx: PlanContext): Action[] {
  return planWithProgress(model, observed, ctx).actions;
}

/** The plan, and what it cannot do yet (an adoption waiting for healthy targets). */
export function planWithProgress(model: LoadBalancerModel, observed: ObservedState, ctx: PlanContext): { actions: Action[]; pending: string[] } {
  const spec = model.loadBalancer;
  if (spec) assertNamesFree(spec, observed, ctx);
  const mine = {
    loadBalancers: observed.loadBalancers.filter((lb) => ownedByService(lb.tags, ctx.cluster, ctx.service)),
    targetGroups: observed.targetGroups.filter((tg) => ownedByService(tg.tags, ctx.cluster, ctx.service)),
  };
  const pending: string[] = [];
  const actions =
    observed.scope === 'targets'
      ? planTargetsOnly(spec, mine.targetGroups)
      : spec
        ? planEnsure(spec, observed, mine, model.deletionProtection, ctx, pending)
        : planDelete(observed, mine, model.deletionProtection);
  return { actions: actions.sort((a, b) => a.phase - b.phase), pending };
}

type Mine = { loadBalancers: ObservedLoadBalancer[]; targetGroups: ObservedTargetGroup[] };

function planEnsure(spec: LoadBalancerSpec, observed: ObservedState, mine: Mine, protect: boolean, ctx: PlanContext, pending: string[]): Action[] {
  const actions: Action[] = [];
  let current = mine.loadBalancers.find((lb) => lb.name === spec.name);
  let adoption: AdoptionSteps | undefined;
  if (spec.adopt) {
    current ??= observed.loadBalancers.find((lb) => lb.name === spec.name);
    if (!current) {
      throw new ConfigError(`annotation ferry.io/adopt-load-balancer names ${spec.name}, which does not exist in this account and Region; name an existing Network Load Balancer, or remove the annotation`);
    }
    adoption = planAdoption(spec, current, observed.targetGroups, { cluster: ctx.cluster, key: ctx.service });
    actions.push(...adoption.actions);
    pending.push(...adoption.pending);
  }
  // An adopted load balancer keeps its scheme unless the Service names one.
  const scheme = spec.adopt && !spec.adopt.schemeGiven && current ? (current.scheme as Scheme) : spec.scheme;
  if (current && current.scheme !== scheme) {
    throw new ConfigError(
      spec.adopt
        ? `load balancer ${spec.name} is ${current.scheme} but the Service asks for ${scheme}; AWS cannot change a scheme in place, so an adopted load balancer keeps its own: remove ferry.io/scheme`
        : `load balancer ${spec.name} is ${current.scheme} but the Service asks for ${scheme}; AWS cannot change a scheme in place and ferry.io/name pins the name, so change ferry.io/name together with ferry.io/scheme`,
    );
  }
  const effective = { ...spec, scheme };
  const { vpcId, subnets, chosen } = chooseSubnets(spec.subnets, observed.subnets ?? [], current?.vpcId, ctx.vpcId);
  const mappings = spec.addresses ? mapAddresses(spec.addresses, chosen) : undefined;
  // AWS cannot give security groups to an NLB created without them (as the cloud provider
  // creates them): the nodes then admit its clients and health checks directly.
  const groupless = current !== undefined && current.securityGroups.length === 0;
  const security = groupless
    ? { actions: planDirectRules(spec, observed.backend, chosen.map((s) => s.cidr), ctx), refs: [], currentIds: new Map<string, string>() }
    : planSecurityGroups(spec, observed.securityGroups, observed.backend, vpcId);
  actions.push(...security.actions);
  actions.push(...planLoadBalancer(effective, current, { subnets, ...(mappings ? { mappings } : {}) }, security.refs, security.currentIds, groupless));

  const tgByArn = new Map(observed.targetGroups.map((tg) => [tg.arn, tg.name]));
  for (const tg of spec.targetGroups) {
    actions.push(...planTargetGroup(tg, mine.targetGroups.find((g) => g.name === tg.name), vpcId));
  }
  actions.push(...planListeners(spec, current, tgByArn, adoption));

  // A target group a listener still forwards to is kept, whoever's it is, until the
  // listener has moved (an adoption may hold a listener on its old group for a while).
  const moving = new Set(actions.flatMap((a) => (a.op === 'ModifyListener' ? [a.listener.port] : a.op === 'DeleteListener' ? [a.port] : [])));
  const forwarding = new Set((current?.listeners ?? []).filter((l) => !moving.has(l.port)).map((l) => l.targetGroupArn));
  const wanted = new Set(spec.targetGroups.map((tg) => tg.name));
  actions.push(...retire(mine.loadBalancers.filter((lb) => lb !== current), protect));
  for (const tg of mine.targetGroups) {
    if (!wanted.has(tg.name) && !forwarding.has(tg.arn)) actions.push({ phase: Phase.DeleteTargetGroups, op: 'DeleteTargetGroup', targetGroup: tg.name });
  }
  return actions;
}

/** The empty model: everything made for the Service goes, load balancers first. */
function planDelete(observed: ObservedState, mine: Mine, protect: boolean): Action[] {
  return [
    ...retire(mine.loadBalancers, protect),
    ...mine.targetGroups.map((tg): Action => ({ phase: Phase.DeleteTargetGroups, op: 'DeleteTargetGroup', targetGroup: tg.name })),
    ...observed.securityGroups.map((sg): Action => ({
      phase: Phase.DeleteSecurityGroups,
      op: 'DeleteSecurityGroup',
      groupId: sg.id,
      group: sg.name,
    })),
  ];
}

/**
 * Deletes load balancers the model no longer wants. Deletion protection is the user's
 * brake: while `ferry.io/deletion-protection` is true ferry refuses; once it is removed,
 * ferry lifts the protection itself and deletes.
 */
function retire(loadBalancers: readonly ObservedLoadBalancer[], protect: boolean): Action[] {
  const actions: Action[] = [];
  for (const lb of loadBalancers) {
    if (lb.attributes?.['deletion_protection.enabled'] === 'true') {
      if (protect) {
        throw new ConfigError(
          `load balancer ${lb.name} has deletion protection (ferry.io/deletion-protection=true); set it to false or remove it to let ferry delete the load balancer`,
        );
      }
      actions.push({
        phase: Phase.Unprotect,
        op: 'ModifyLoadBalancerAttributes',
        loadBalancer: lb.name,
        attributes: { 'deletion_protection.enabled': 'false' },
      });
    }
    actions.push({ phase: Phase.DeleteLoadBalancers, op: 'DeleteLoadBalancer', loadBalancer: lb.name });
  }
  return actions;
}

/** Only registrations changed since the last reconcile (the checkpoint says so). */
function planTargetsOnly(spec: LoadBalancerSpec | null, groups: readonly ObservedTargetGroup[]): Action[] {
  if (!spec) return [];
  return spec.targetGroups.flatMap((tg: TargetGroupModel) => {
    const current = groups.find((g) => g.name === tg.name);
    if (!current?.targets) return [];
    const drift = targetDrift(tg.targets, current.targets);
    return registrations(tg.name, drift);
  });
}

function assertNamesFree(spec: LoadBalancerSpec, observed: ObservedState, ctx: PlanContext): void {
  const taken = (tags: Record<string, string>) => !ownedByService(tags, ctx.cluster, ctx.service);
  const lb = observed.loadBalancers.find((l) => l.name === spec.name);
  // An NLB no ferry has claimed may be adopted; one another ferry Service or cluster owns may not.
  const adoptable = spec.adopt !== undefined && lb !== undefined && lb.tags[TAG_CLUSTER] === undefined;
  if (lb && taken(lb.tags) && !adoptable) {
    const via = spec.explicitName ? `annotation ferry.io/name=${JSON.stringify(spec.name)}: ` : '';
    throw new OwnershipError(`${via}load balancer ${spec.name} ${ownerOf(lb.tags, ctx.cluster)}; ferry does not touch it`);
  }
  for (const tg of spec.targetGroups) {
    const found = observed.targetGroups.find((g) => g.name === tg.name);
    if (found && taken(found.tags)) {
      throw new OwnershipError(`target group ${tg.name} ${ownerOf(found.tags, ctx.cluster)}; ferry does not touch it`);
    }
  }
}

function ownerOf(tags: Record<string, string>, cluster: string): string {
  if (tags[TAG_CLUSTER] !== cluster) return `is not tagged ${TAG_CLUSTER}=${cluster}`;
  return `belongs to Service ${tags[TAG_SERVICE] ?? '(untagged)'}`;
}
