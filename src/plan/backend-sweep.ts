import type { ObservedLoadBalancer, ObservedRule, ObservedSecurityGroup } from '../model/observed';
import type { BackendRule } from '../model/types';
import { Phase, type Action } from './actions';
import { GRANTED_TAG, backendKey, formatGranted } from '../model/security';
import { directRuleMarker } from './security-groups';

export interface BackendSweepInput {
  /** The rules the nodes must keep for every Service that wants them; empty when none does. */
  needed: readonly BackendRule[];
  /** ferry's backend groups of this cluster. */
  backendGroups: readonly ObservedSecurityGroup[];
  /** The security groups ferry may open (tagged for the cluster), with their rules. */
  nodeGroups: readonly ObservedSecurityGroup[];
  /** This cluster's load balancers: a backend group still attached to one stays. */
  loadBalancers: readonly ObservedLoadBalancer[];
  cluster: string;
  /** Services that want a load balancer: their direct rules (groupless NLBs) stay. */
  liveServices: ReadonlySet<string>;
}

/**
 * The cluster-wide half of the backend rules, which a per-Service reconcile cannot do: drop
 * node rules no Service needs any more (only rules sourced from ferry's own backend groups,
 * and the described rules of a gone Service's groupless NLB; nothing else on a node group is
 * touched), and once no Service needs any, delete the backend groups no load balancer holds.
 */
export function planBackendSweep(input: BackendSweepInput): Action[] {
  const backendIds = new Set(input.backendGroups.map((g) => g.id));
  const keep = new Set(input.needed.map(backendKey));
  const actions: Action[] = [];
  const direct = `${directRuleMarker(input.cluster, '')}`;
  const goneService = (r: ObservedRule) => r.description?.startsWith(direct) === true && !input.liveServices.has(r.description.slice(direct.length));
  for (const node of input.nodeGroups) {
    const stale = node.ingress.filter(
      (r) => (r.sourceGroup !== undefined && backendIds.has(r.sourceGroup) && !keep.has(backendKey(r))) || goneService(r),
    );
    if (stale.length > 0) actions.push({ phase: Phase.Configure, op: 'RevokeSecurityGroupIngress', groupId: node.id, group: node.name, rules: stale });
  }
  if (input.needed.length === 0) {
    const held = new Set(input.loadBalancers.flatMap((lb) => lb.securityGroups));
    for (const g of input.backendGroups) {
      if (!held.has(g.id)) actions.push({ phase: Phase.DeleteSecurityGroups, op: 'DeleteSecurityGroup', groupId: g.id, group: g.name });
    }
  } else {
    // What every Service needs goes onto every group the cluster's nodes may have (a rule
    // revoked by hand comes back here), and the backend group records it.
    actions.push(...planBackendGrants(input.needed, input.backendGroups, input.nodeGroups));
    actions.push(...recordGrants(input.backendGroups, formatGranted(input.needed) ?? ''));
  }
  return actions.sort((a, b) => a.phase - b.phase);
}

/** The backend groups' record of what every node group admits, where it says otherwise. */
export function recordGrants(backendGroups: readonly ObservedSecurityGroup[], granted: string): Action[] {
  return backendGroups
    .filter((g) => (g.tags[GRANTED_TAG] ?? '') !== granted)
    .map((g): Action => ({ phase: Phase.Configure, op: 'TagSecurityGroup', groupId: g.id, group: g.name, tags: { [GRANTED_TAG]: granted } }));
}

/**
 * The other cluster-wide half, for a node change: every rule some Service needs, on every
 * group of the target nodes (a node of a new node group brings a group without them), from
 * the backend group of that group's VPC. Only what is missing; only groups that exist (the
 * first Service to need one creates it).
 */
export function planBackendGrants(needed: readonly BackendRule[], backendGroups: readonly ObservedSecurityGroup[], nodeGroups: readonly ObservedSecurityGroup[]): Action[] {
  const actions: Action[] = [];
  for (const node of nodeGroups) {
    const backend = backendGroups.find((g) => g.vpcId === node.vpcId);
    if (!backend) continue;
    const have = new Set(node.ingress.filter((r) => r.sourceGroup === backend.id).map(backendKey));
    const add = needed.filter((r) => !have.has(backendKey(r)));
    if (add.length > 0) actions.push({ phase: Phase.Create, op: 'AuthorizeBackendIngress', groupId: node.id, group: node.name, backend: { id: backend.id }, rules: add });
  }
  return actions;
}
