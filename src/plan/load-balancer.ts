import { LOAD_BALANCER_ATTRIBUTES, attributeDefaults, attributeDrift } from '../model/attributes';
import type { ObservedLoadBalancer } from '../model/observed';
import type { LoadBalancerSpec } from '../model/types';
import { Phase, type Action, type SecurityGroupRef, type SubnetMapping } from './actions';
import { isEmpty, sameSet, tagDrift } from './diff';

/** The NLB itself: create it, or change what AWS can change in place. */
export function planLoadBalancer(
  spec: LoadBalancerSpec,
  current: ObservedLoadBalancer | undefined,
  placement: { subnets: string[]; mappings?: SubnetMapping[] },
  securityGroups: SecurityGroupRef[],
  securityGroupIds: ReadonlyMap<string, string>,
  /** An NLB created without security groups, to which AWS allows none. */
  groupless = false,
): Action[] {
  const name = spec.name;
  const { subnets, mappings } = placement;
  const defaults = attributeDefaults(LOAD_BALANCER_ATTRIBUTES, { scheme: spec.scheme });
  // ferry holds every documented attribute: the annotations', else AWS's default for the scheme.
  const desired = { ...defaults, ...spec.attributes };
  if (!current) {
    const actions: Action[] = [
      {
        phase: Phase.Create,
        op: 'CreateLoadBalancer',
        name,
        scheme: spec.scheme,
        ipAddressType: spec.ipAddressType,
        subnets,
        ...(mappings ? { subnetMappings: mappings } : {}),
        securityGroups,
        tags: spec.tags,
      },
    ];
    const nonDefault = attributeDrift(desired, {}, defaults);
    if (!isEmpty(nonDefault)) {
      actions.push({ phase: Phase.Configure, op: 'ModifyLoadBalancerAttributes', loadBalancer: name, attributes: nonDefault });
    }
    return actions;
  }

  const actions: Action[] = [];
  if (!sameSet(subnets, current.subnets)) {
    actions.push({ phase: Phase.Configure, op: 'SetSubnets', loadBalancer: name, subnets, ...(mappings ? { subnetMappings: mappings } : {}) });
  }
  const wantedIds = securityGroups.map((g) => ('id' in g ? g.id : securityGroupIds.get(g.managed)));
  if (!groupless && (wantedIds.some((id) => id === undefined) || !sameSet(wantedIds as string[], current.securityGroups))) {
    actions.push({ phase: Phase.Configure, op: 'SetSecurityGroups', loadBalancer: name, securityGroups });
  }
  if (spec.ipAddressType !== current.ipAddressType) {
    actions.push({ phase: Phase.Configure, op: 'SetIpAddressType', loadBalancer: name, ipAddressType: spec.ipAddressType });
  }
  if (current.attributes) {
    const drift = attributeDrift(desired, current.attributes, defaults);
    if (!isEmpty(drift)) actions.push({ phase: Phase.Configure, op: 'ModifyLoadBalancerAttributes', loadBalancer: name, attributes: drift });
  }
  const tags = tagDrift(spec.tags, current.tags);
  if (!isEmpty(tags.set)) actions.push({ phase: Phase.Configure, op: 'AddTags', kind: 'loadBalancer', resource: name, tags: tags.set });
  if (tags.remove.length > 0) {
    actions.push({ phase: Phase.Configure, op: 'RemoveTags', kind: 'loadBalancer', resource: name, keys: tags.remove });
  }
  return actions;
}
