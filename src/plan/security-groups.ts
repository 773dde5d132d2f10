import type { ObservedRule, ObservedSecurityGroup } from '../model/observed';
import type { IngressRule, LoadBalancerSpec } from '../model/types';
import { Phase, type Action, type SecurityGroupRef } from './actions';

/**
 * The NLB's security groups: ferry's managed group (created, its rules kept exactly to
 * loadBalancerSourceRanges × listener ports) or the user's own. Managed groups the model no
 * longer uses are deleted last, after the NLB has let go of them.
 */
export function planSecurityGroups(
  spec: LoadBalancerSpec,
  observed: readonly ObservedSecurityGroup[],
  vpcId: string,
): { actions: Action[]; refs: SecurityGroupRef[]; currentIds: Map<string, string> } {
  const actions: Action[] = [];
  const currentIds = new Map<string, string>();
  let keep: ObservedSecurityGroup | undefined;
  let refs: SecurityGroupRef[];

  if ('managed' in spec.securityGroups) {
    const group = spec.securityGroups.managed;
    refs = [{ managed: group.name }];
    keep = observed.find((g) => g.name === group.name && g.vpcId === vpcId);
    if (!keep) {
      const { ingress, ...rest } = group;
      actions.push({ phase: Phase.SecurityGroup, op: 'CreateSecurityGroup', group: rest, vpcId });
      if (ingress.length > 0) {
        actions.push({ phase: Phase.Create, op: 'AuthorizeSecurityGroupIngress', group: group.name, rules: ingress });
      }
    } else {
      currentIds.set(group.name, keep.id);
      const want = new Map(group.ingress.map((r) => [ruleKey(asObserved(r)), r]));
      const have = new Map(keep.ingress.map((r) => [ruleKey(r), r]));
      const add = [...want].filter(([k]) => !have.has(k)).map(([, r]) => r);
      const revoke = [...have].filter(([k]) => !want.has(k)).map(([, r]) => r);
      if (add.length > 0) actions.push({ phase: Phase.Create, op: 'AuthorizeSecurityGroupIngress', group: group.name, rules: add });
      // Revoked after the new rules are in, so a changed range never leaves a gap.
      if (revoke.length > 0) {
        actions.push({ phase: Phase.Configure, op: 'RevokeSecurityGroupIngress', groupId: keep.id, group: keep.name, rules: revoke });
      }
    }
  } else {
    refs = spec.securityGroups.ids.map((id) => ({ id }));
  }

  for (const g of observed) {
    if (g !== keep) actions.push({ phase: Phase.DeleteSecurityGroups, op: 'DeleteSecurityGroup', groupId: g.id, group: g.name });
  }
  return { actions, refs, currentIds };
}

function asObserved(r: IngressRule): ObservedRule {
  return { protocol: r.protocol, fromPort: r.port, toPort: r.port, cidr: r.cidr };
}

function ruleKey(r: ObservedRule): string {
  return `${r.protocol}:${r.fromPort}:${r.toPort}:${r.cidr}`;
}
