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
import { resolvePlacement, samePlacement } from './elbv2-subnet-mappings';
import { checkTagQuota, requestTags } from './elbv2-tags';
import {
  checkMotoIpAddressType,
  checkMotoLoadBalancerAttributes,
  checkMotoSetSubnets,
  createdIpAddressType,
  createdView,
  isMoto,
  motoDnsName,
  noteAttributesWritten,
  reportedLoadBalancerAttributes,
} from './fidelity';
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
  // A retry of this very create may name the addresses the first call took.
  const sameName = [...state.loadBalancers.values()].find((lb) => lb.name === name);
  const placement = resolvePlacement(state, params, scheme, addressType, undefined, sameName);
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
      samePlacement(existing.subnets, placement.subnets) &&
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
    dnsName: motoDnsName(state, name) ?? `${name}-${state.hex(16)}.elb.${state.region}.amazonaws.com`,
    scheme,
    type: 'network',
    vpcId: placement.vpcId,
    subnets: placement.subnets,
    securityGroups,
    securityGroupsEnabled: securityGroups.length > 0,
    enforceSecurityGroupsOnPrivateLink: 'on',
    ipAddressType: createdIpAddressType(state, addressType),
    createdTime: now,
    attributes: new Map(),
    tags: newTagSet(tags),
  };
  for (const [key, value] of defaultAttributes(LOAD_BALANCER_ATTRIBUTES, lb)) lb.attributes.set(key, value);
  state.loadBalancers.set(lb.arn, lb);
  return { LoadBalancers: [createdView(state, renderLoadBalancer(state, lb))] };
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
  return { Attributes: reportedLoadBalancerAttributes(state, lb, attributeList(lb.attributes)) };
};

export const modifyLoadBalancerAttributes: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const changes = attributeChanges(params);
  checkMotoLoadBalancerAttributes(state, changes);
  const next = applyAttributes('Load balancer', LOAD_BALANCER_ATTRIBUTES, lb.attributes, changes);
  checkLoadBalancerAttributes(lb, next);
  for (const [key, value] of next) lb.attributes.set(key, value);
  noteAttributesWritten(lb, changes.map(([key]) => key));
  return { Attributes: reportedLoadBalancerAttributes(state, lb, attributeList(lb.attributes)) };
};

export const setSubnets: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const addressType = ipAddressType(params);
  const placement = resolvePlacement(state, params, lb.scheme, addressType ?? lb.ipAddressType, lb);
  if (placement.vpcId !== lb.vpcId) throw new AwsError('InvalidSubnet', `The subnets must belong to the load balancer's VPC '${lb.vpcId}'`);
  checkMotoSetSubnets(state, placement.subnets.length);
  lb.subnets = placement.subnets;
  if (addressType) lb.ipAddressType = addressType;
  // moto answers the zones alone, without IpAddressType.
  return { AvailabilityZones: renderAvailabilityZones(lb, state), IpAddressType: isMoto(state) ? undefined : lb.ipAddressType };
};

export const setSecurityGroups: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const ids = params.list('SecurityGroups');
  if (ids === undefined) throw validationError("1 validation error detected: Value null at 'securityGroups' failed to satisfy constraint: Member must not be null");
  // "You can't perform this operation on a Network Load Balancer unless you specified a
  // security group for the load balancer when you created it."
  if (!lb.securityGroupsEnabled) {
    throw configError('You cannot set security groups on a Network Load Balancer which was created without any security groups.');
  }
  const enforce = enumParam(params, 'EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic', ['on', 'off'] as const);
  lb.securityGroups = resolveSecurityGroups(state, ids, lb.vpcId);
  if (enforce) lb.enforceSecurityGroupsOnPrivateLink = enforce;
  // moto answers `SecurityGroups`, which is no member of SetSecurityGroupsOutput: the SDK sees neither field.
  if (isMoto(state)) return {};
  return { SecurityGroupIds: lb.securityGroups, EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: lb.enforceSecurityGroupsOnPrivateLink };
};

export const setIpAddressType: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const addressType = ipAddressType(params);
  if (!addressType) throw validationError("1 validation error detected: Value null at 'ipAddressType' failed to satisfy constraint: Member must not be null");
  checkMotoIpAddressType(state, lb, addressType);
  if (addressType === 'ipv4' && lb.subnets.some((m) => m.ipv6Address !== undefined)) {
    throw configError("The IP address type cannot be changed to 'ipv4' while subnet mappings have IPv6 addresses");
  }
  lb.ipAddressType = addressType;
  return { IpAddressType: lb.ipAddressType };
};
