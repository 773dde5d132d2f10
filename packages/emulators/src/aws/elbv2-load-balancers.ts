import { AwsError, javaList } from './errors';
import {
  cappedList,
  checkArn,
  configError,
  elbArn,
  enumParam,
  pageOf,
  requireLoadBalancer,
  validationError,
} from './elbv2-common';
import {
  applyAttributes,
  attributeChanges,
  attributeList,
  checkLoadBalancerAttributes,
  defaultAttributes,
  LOAD_BALANCER_ATTRIBUTES,
} from './elbv2-attributes';
import { renderAvailabilityZones, renderLoadBalancer } from './elbv2-render';
import { checkTagQuota, requestTags } from './elbv2-tags';
import { validateLoadBalancerName } from './elbv2-validate';
import type { Params } from './query';
import type { Handler } from './service';
import type { AwsState, LoadBalancer } from './state';
import { newTagSet } from './tags';

/** CreateLoadBalancer and the calls that read or change one load balancer. */

const SCHEMES = ['internet-facing', 'internal'] as const;
const IP_ADDRESS_TYPES = ['ipv4', 'dualstack', 'dualstack-without-public-ipv4'] as const;

function ipAddressType(params: Params): string | undefined {
  const value = enumParam(params, 'IpAddressType', IP_ADDRESS_TYPES);
  if (value === 'dualstack-without-public-ipv4') {
    throw validationError("IP address type 'dualstack-without-public-ipv4' is supported only by Application Load Balancers");
  }
  return value;
}

interface Placement {
  readonly vpcId: string;
  readonly subnets: { subnetId: string; az: string }[];
}

/**
 * The subnets named by `Subnets` or `SubnetMappings`: they must exist, share one VPC
 * and cover each Availability Zone at most once (an NLB has one node per zone).
 */
function resolveSubnets(state: AwsState, params: Params): Placement {
  const plain = params.list('Subnets') ?? [];
  const mapped = (params.structs('SubnetMappings') ?? []).map((m) => m.required('SubnetId'));
  if (plain.length > 0 && mapped.length > 0) throw validationError('You can specify subnets or subnet mappings, but not both');
  const ids = plain.length > 0 ? plain : mapped;
  if (ids.length === 0) throw validationError('At least one subnet must be specified');
  const subnets = ids.map((id) => {
    const subnet = state.subnets.get(id);
    if (!subnet) throw new AwsError('SubnetNotFound', `The subnet ID '${id}' does not exist`);
    return subnet;
  });
  const vpcs = new Set(subnets.map((s) => s.vpcId));
  if (vpcs.size > 1) throw new AwsError('InvalidSubnet', `The subnets ${javaList(ids)} must all belong to the same VPC`);
  const zones = new Set<string>();
  for (const subnet of subnets) {
    if (zones.has(subnet.az)) throw configError('A load balancer cannot be attached to multiple subnets in the same Availability Zone');
    zones.add(subnet.az);
  }
  return { vpcId: subnets[0]!.vpcId, subnets: subnets.map((s) => ({ subnetId: s.id, az: s.az })) };
}

function resolveSecurityGroups(state: AwsState, ids: readonly string[], vpcId: string): string[] {
  for (const id of ids) {
    const group = state.securityGroups.get(id);
    if (!group) throw new AwsError('InvalidSecurityGroup', `Security group '${id}' does not exist`);
    if (group.vpcId !== vpcId) throw new AwsError('InvalidSecurityGroup', `Security group '${id}' does not belong to VPC '${vpcId}'`);
  }
  return [...new Set(ids)];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

export const createLoadBalancer: Handler = ({ state, params, now }) => {
  const name = params.required('Name');
  validateLoadBalancerName(name);
  const type = enumParam(params, 'Type', ['application', 'network', 'gateway'] as const) ?? 'application';
  if (type !== 'network') {
    throw validationError(`Load balancers of type '${type}' are not supported by ferry's AWS emulator, which models Network Load Balancers only (pass Type=network)`);
  }
  const scheme = enumParam(params, 'Scheme', SCHEMES) ?? 'internet-facing';
  const addressType = ipAddressType(params) ?? 'ipv4';
  const placement = resolveSubnets(state, params);
  const groupIds = params.list('SecurityGroups') ?? [];
  const securityGroups = resolveSecurityGroups(state, groupIds, placement.vpcId);
  const tags = requestTags(params);
  checkTagQuota('load balancer', new Map(), tags);

  const existing = [...state.loadBalancers.values()].find((lb) => lb.name === name);
  if (existing) {
    // "This operation is idempotent ... If you attempt to create multiple load balancers
    // with the same settings, each call succeeds" and returns the original.
    const same =
      existing.scheme === scheme &&
      existing.ipAddressType === addressType &&
      sameSet(existing.subnets.map((s) => s.subnetId), placement.subnets.map((s) => s.subnetId)) &&
      sameSet(existing.securityGroups, securityGroups);
    if (!same) throw new AwsError('DuplicateLoadBalancerName', `A load balancer with the same name '${name}' exists, but with different settings`);
    return { LoadBalancers: [renderLoadBalancer(state, existing)] };
  }

  const lbId = state.hex(16);
  const lb: LoadBalancer = {
    seq: state.nextSeq(),
    arn: elbArn(state, `loadbalancer/net/${name}/${lbId}`),
    lbId,
    name,
    dnsName: `${name}-${state.hex(16)}.elb.${state.region}.amazonaws.com`,
    scheme,
    type: 'network',
    vpcId: placement.vpcId,
    subnets: placement.subnets,
    securityGroups,
    securityGroupsEnabled: securityGroups.length > 0,
    enforceSecurityGroupsOnPrivateLink: 'on',
    ipAddressType: addressType,
    createdTime: now,
    attributes: new Map(),
    tags: newTagSet(tags),
  };
  for (const [key, value] of defaultAttributes(LOAD_BALANCER_ATTRIBUTES, lb)) lb.attributes.set(key, value);
  state.loadBalancers.set(lb.arn, lb);
  return { LoadBalancers: [renderLoadBalancer(state, lb)] };
};

export const describeLoadBalancers: Handler = ({ state, params }) => {
  const arns = cappedList(params, 'LoadBalancerArns', 20);
  const names = params.list('Names');
  if (arns?.length && names?.length) throw validationError('Load balancer names and load balancer ARNs cannot be specified at the same time');
  const all = [...state.loadBalancers.values()];
  let selected = all;
  if (names?.length) {
    names.forEach(validateLoadBalancerName);
    const missing = names.filter((n) => !all.some((lb) => lb.name === n));
    if (missing.length > 0) throw new AwsError('LoadBalancerNotFound', `Load balancers '${javaList(missing)}' not found`);
    selected = all.filter((lb) => names.includes(lb.name));
  } else if (arns?.length) {
    if (arns.some((arn) => !state.loadBalancers.has(arn))) throw new AwsError('LoadBalancerNotFound', 'One or more load balancers not found');
    selected = all.filter((lb) => arns.includes(lb.arn));
  }
  const page = pageOf(selected, params);
  return { LoadBalancers: page.items.map((lb) => renderLoadBalancer(state, lb)), NextMarker: page.next };
};

export const deleteLoadBalancer: Handler = ({ state, params }) => {
  const arn = checkArn('load balancer', params.required('LoadBalancerArn'));
  const lb = state.loadBalancers.get(arn);
  // "If the load balancer does not exist or has already been deleted, the call succeeds."
  if (!lb) return {};
  if (lb.attributes.get('deletion_protection.enabled') === 'true') {
    throw new AwsError('OperationNotPermitted', `Load balancer '${arn}' cannot be deleted because deletion protection is enabled`);
  }
  // "Deleting a load balancer also deletes its listeners."
  for (const listener of state.listenersOf(arn)) state.listeners.delete(listener.arn);
  state.loadBalancers.delete(arn);
  return {};
};

export const describeLoadBalancerAttributes: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  return { Attributes: attributeList(lb.attributes) };
};

export const modifyLoadBalancerAttributes: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const next = applyAttributes('Load balancer', LOAD_BALANCER_ATTRIBUTES, lb.attributes, attributeChanges(params));
  checkLoadBalancerAttributes(lb, next);
  for (const [key, value] of next) lb.attributes.set(key, value);
  return { Attributes: attributeList(lb.attributes) };
};

export const setSubnets: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const placement = resolveSubnets(state, params);
  if (placement.vpcId !== lb.vpcId) throw new AwsError('InvalidSubnet', `The subnets must belong to the load balancer's VPC '${lb.vpcId}'`);
  const addressType = ipAddressType(params);
  lb.subnets = placement.subnets;
  if (addressType) lb.ipAddressType = addressType;
  return { AvailabilityZones: renderAvailabilityZones(lb), IpAddressType: lb.ipAddressType };
};

export const setSecurityGroups: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const ids = params.list('SecurityGroups');
  if (ids === undefined) throw validationError("1 validation error detected: Value null at 'securityGroups' failed to satisfy constraint: Member must not be null");
  // "You can't perform this operation on a Network Load Balancer unless you specified a
  // security group for the load balancer when you created it."
  if (!lb.securityGroupsEnabled) {
    throw configError('You cannot set security groups on a Network Load Balancer which was created without any security groups');
  }
  const enforce = enumParam(params, 'EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic', ['on', 'off'] as const);
  lb.securityGroups = resolveSecurityGroups(state, ids, lb.vpcId);
  if (enforce) lb.enforceSecurityGroupsOnPrivateLink = enforce;
  return { SecurityGroupIds: lb.securityGroups, EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: lb.enforceSecurityGroupsOnPrivateLink };
};

export const setIpAddressType: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const addressType = ipAddressType(params);
  if (!addressType) throw validationError("1 validation error detected: Value null at 'ipAddressType' failed to satisfy constraint: Member must not be null");
  lb.ipAddressType = addressType;
  return { IpAddressType: lb.ipAddressType };
};
