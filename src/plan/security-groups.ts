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
  assertNodesTagged(model, observed);
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

/**
 * For an NLB created without security groups (adopted from the cloud provider): the nodes'
 * groups admit this Service's clients (its source ranges) on its NodePorts and the NLB's
 * subnets on its health-check port, as the cloud provider does. These rules grow with the
 * Services, which is why ferry's own NLBs always have groups; each carries a description
 * naming its Service, how ferry finds exactly its own again.
 */
export function planDirectRules(spec: LoadBalancerSpec, seen: ObservedBackend | undefined, subnetCidrs: readonly string[], ctx: { cluster: string; service: string }): Action[] {
  if (!spec.backend || !seen) return [];
  assertNodesTagged(spec.backend, seen);
  const marker = directRuleMarker(ctx.cluster, ctx.service);
  const sources = 'managed' in spec.securityGroups ? [...new Set(spec.securityGroups.managed.ingress.map((r) => r.cidr))] : ['0.0.0.0/0'];
  const desired = new Map<string, ObservedRule>();
  const add = (rule: ObservedRule) => desired.set(ruleKey(rule), { ...rule, description: marker });
  for (const tg of spec.targetGroups) {
    for (const protocol of tg.protocol === 'TCP_UDP' ? ['tcp', 'udp'] : tg.protocol === 'UDP' ? ['udp'] : ['tcp']) {
      for (const cidr of sources) add({ protocol, fromPort: tg.port, toPort: tg.port, cidr });
    }
    const hc = tg.healthCheck.port === 'traffic-port' ? tg.port : tg.healthCheck.port;
    for (const cidr of subnetCidrs) add({ protocol: 'tcp', fromPort: hc, toPort: hc, cidr });
  }
  const actions: Action[] = [];
  for (const node of seen.nodeGroups) {
    const have = new Map(node.ingress.filter((r) => r.description === marker).map((r) => [ruleKey(r), r]));
    const missing = [...desired].filter(([k]) => !have.has(k)).map(([, r]) => r);
    const extra = [...have].filter(([k]) => !desired.has(k)).map(([, r]) => r);
    if (missing.length > 0) actions.push({ phase: Phase.Create, op: 'AuthorizeDirectIngress', groupId: node.id, group: node.name, rules: missing });
    if (extra.length > 0) actions.push({ phase: Phase.Configure, op: 'RevokeSecurityGroupIngress', groupId: node.id, group: node.name, rules: extra });
  }
  return actions;
}

/** ferry may open only node groups tagged for the cluster (its IAM policy allows no other). */
function assertNodesTagged(model: BackendModel, observed: ObservedBackend): void {
  if (observed.untaggedNodes.length === 0) return;
  const shown = observed.untaggedNodes.slice(0, 5).join(', ') + (observed.untaggedNodes.length > 5 ? ` and ${observed.untaggedNodes.length - 5} more` : '');
  throw new ConfigError(
    `no security group of node ${shown} is tagged ${model.nodeGroupTag}, so ferry may open none of them to the load balancer: tag the nodes' security group ${model.nodeGroupTag}=owned (or shared), or set ferry.io/manage-backend-security-group-rules=false and open the NodePorts yourself`,
  );
}

/** The description of the rules ferry adds to node groups for one Service's groupless NLB. */
export function directRuleMarker(cluster: string, service: string): string {
  return `ferry.io/cluster=${cluster} ferry.io/service=${service}`;
}

export function asObserved(r: IngressRule): ObservedRule {
  return { protocol: r.protocol, fromPort: r.port, toPort: r.port, cidr: r.cidr };
}

export function ruleKey(r: ObservedRule): string {
  return `${r.protocol}:${r.fromPort}:${r.toPort}:${r.cidr ?? `sg:${r.sourceGroup}`}`;
}
