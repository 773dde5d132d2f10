import type { ObservedBackend, ObservedRule, ObservedSecurityGroup } from '../model/observed';
import { backendKey } from '../model/security';
import type { BackendModel, IngressRule, LoadBalancerSpec } from '../model/types';
import { ConfigError } from '../errors';
import { Phase, type Action, type SecurityGroupRef } from './actions';

/**
 * The NLB's security groups: ferry's managed group (created, its rules kept exactly to
 * loadBalancerSourceRanges × listener ports) or the user's own, plus the cluster's backend
 * group (see {@link planBackend}). Managed groups the model no longer uses are deleted last,
 * after the NLB has let go of them.
 */
export function planSecurityGroups(
  spec: LoadBalancerSpec,
  observed: readonly ObservedSecurityGroup[],
  backend: ObservedBackend | undefined,
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

  if (spec.backend) {
    const planned = planBackend(spec.backend, backend, vpcId);
    actions.push(...planned.actions);
    refs.push(planned.ref);
  }

  for (const g of observed) {
    if (g !== keep) actions.push({ phase: Phase.DeleteSecurityGroups, op: 'DeleteSecurityGroup', groupId: g.id, group: g.name });
  }
  return { actions, refs, currentIds };
}

/**
 * The cluster's backend group in the NLB's VPC (created by the first Service that needs it)
 * and the rules the Service needs on the nodes' groups, sourced from it. Only added here:
 * another Service may need a rule this one does not, so removal is the sweep's, which sees
 * every Service (`ferry gc`).
 */
export function planBackend(model: BackendModel, seen: ObservedBackend | undefined, vpcId: string): { actions: Action[]; ref: SecurityGroupRef } {
  const observed = seen ?? { groups: [], nodeGroups: [], untaggedNodes: [] };
  if (observed.untaggedNodes.length > 0) {
    const shown = observed.untaggedNodes.slice(0, 5).join(', ') + (observed.untaggedNodes.length > 5 ? ` and ${observed.untaggedNodes.length - 5} more` : '');
    throw new ConfigError(
      `no security group of node ${shown} is tagged ${model.nodeGroupTag}, so ferry may open none of them to the load balancer: tag the nodes' security group ${model.nodeGroupTag}=owned (or shared), or set ferry.io/manage-backend-security-group-rules=false and open the NodePorts yourself`,
    );
  }
  const actions: Action[] = [];
  const current = observed.groups.find((g) => g.vpcId === vpcId && g.name === model.group.name);
  if (!current) actions.push({ phase: Phase.SecurityGroup, op: 'CreateSecurityGroup', group: model.group, vpcId });
  const ref: SecurityGroupRef = current ? { id: current.id } : { managed: model.group.name };
  for (const node of observed.nodeGroups) {
    // A group elsewhere cannot name ferry's backend group as a source.
    if (node.vpcId !== vpcId) continue;
    const have = new Set(node.ingress.filter((r) => current && r.sourceGroup === current.id).map((r) => backendKey(r)));
    const add = model.rules.filter((r) => !have.has(backendKey(r)));
    if (add.length > 0) {
      actions.push({ phase: Phase.Create, op: 'AuthorizeBackendIngress', groupId: node.id, group: node.name, backend: ref, rules: add });
    }
  }
  return { actions, ref };
}

function asObserved(r: IngressRule): ObservedRule {
  return { protocol: r.protocol, fromPort: r.port, toPort: r.port, cidr: r.cidr };
}

function ruleKey(r: ObservedRule): string {
  return `${r.protocol}:${r.fromPort}:${r.toPort}:${r.cidr ?? `sg:${r.sourceGroup}`}`;
}
