import type { ObservedLoadBalancer, ObservedRule, ObservedSecurityGroup } from '../model/observed';
import type { BackendRule } from '../model/types';
import { Phase, type Action } from './actions';
import { backendKey } from '../model/security';
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
  }
  return actions.sort((a, b) => a.phase - b.phase);
}
