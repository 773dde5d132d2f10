import { cidrContainsIp, cidrSize, formatIpv4, parseCidr, parseIpv4 } from './cidr';
import { AwsError } from './errors';
import { describe, groupNotFound, idsNotFound, invalidParameterValue, noDefaultVpc, renderTags, tagSpecifications } from './ec2-common';
import { requireSubnet } from './ec2-network';
import { renderInterfaceForInstance } from './ec2-network-interfaces';
import type { Handler, ResultFields } from './service';
import type { AwsState, Instance, Subnet } from './state';
import { newTagSet } from './tags';
import type { XmlValue } from './xml';

/**
 * EC2 instances as far as a load balancer controller cares: they run in a subnet with
 * a private IP, carry tags and security groups, and can be terminated. Launch is
 * instant (state `running` at once), as is termination.
 */

const STATE_CODES = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 } as const;

function privateDnsName(state: AwsState, ip: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return state.region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${state.region}.compute.internal`;
}

function usedAddresses(state: AwsState, subnet: Subnet): Set<string> {
  const instances = [...state.instances.values()].filter((i) => i.state === 'running' && i.subnetId === subnet.id).map((i) => i.privateIp);
  // With a data plane, NLB nodes hold real addresses in their subnets too; so do the private IPv4 addresses of NLB subnet mappings.
  const mapped = [...state.loadBalancers.values()].flatMap((lb) => lb.subnets.filter((m) => m.subnetId === subnet.id && m.privateIPv4Address).map((m) => m.privateIPv4Address!));
  return new Set([...instances, ...mapped, ...(state.dataPlane?.reservedAddresses(subnet.id) ?? [])]);
}

/**
 * The first free host address: AWS reserves the network address, the next three
 * (router, DNS, future use) and the broadcast address of every subnet.
 */
function allocateAddress(subnet: Subnet, used: Set<string>): string | undefined {
  const cidr = parseCidr(subnet.cidr)!;
  for (let offset = 4; offset < cidrSize(cidr) - 1; offset++) {
    const ip = formatIpv4(cidr.base + offset);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

function checkRequestedAddress(subnet: Subnet, ip: string, used: Set<string>): void {
  const cidr = parseCidr(subnet.cidr)!;
  const value = parseIpv4(ip);
  if (value === undefined || !cidrContainsIp(cidr, value)) throw invalidParameterValue(`Address ${ip} does not fall within the subnet's address range`);
  const offset = value - cidr.base;
  if (offset < 4 || offset === cidrSize(cidr) - 1) throw invalidParameterValue(`Address ${ip} is reserved by AWS in subnet ${subnet.id}`);
  if (used.has(ip)) throw new AwsError('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
}

function securityGroupsFor(state: AwsState, vpcId: string, ids: readonly string[], names: readonly string[]): string[] {
  const groups = [...state.securityGroups.values()].filter((g) => g.vpcId === vpcId);
  const resolved = [
    ...ids.map((id) => {
      if (!groups.some((g) => g.id === id)) {
        if (state.securityGroups.has(id)) throw new AwsError('InvalidParameter', `Security group ${id} and subnet belong to different networks.`);
        throw groupNotFound(id);
      }
      return id;
    }),
    ...names.map((name) => {
      const group = groups.find((g) => g.name === name);
      if (!group) throw new AwsError('InvalidGroup.NotFound', `The security group '${name}' does not exist in VPC '${vpcId}'`);
      return group.id;
    }),
  ];
  // With no group named, an instance joins its VPC's default group.
  if (resolved.length === 0) return groups.filter((g) => g.name === 'default').map((g) => g.id);
  return [...new Set(resolved)];
}

function renderInstance(state: AwsState, instance: Instance): XmlValue {
  const running = instance.state === 'running';
  return {
    instanceId: instance.id,
    imageId: instance.imageId,
    instanceState: { code: STATE_CODES[instance.state], name: instance.state },
    // A terminated instance has released its network interface.
    privateDnsName: running ? privateDnsName(state, instance.privateIp) : '',
    dnsName: '',
    reason: running ? '' : 'User initiated',
    keyName: instance.keyName,
    amiLaunchIndex: instance.amiLaunchIndex,
    instanceType: instance.instanceType,
    launchTime: instance.launchTime,
    placement: { availabilityZone: instance.az, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: running ? instance.subnetId : undefined,
    vpcId: running ? instance.vpcId : undefined,
    privateIpAddress: running ? instance.privateIp : undefined,
    sourceDestCheck: true,
    groupSet: instance.securityGroupIds.map((id) => ({ groupId: id, groupName: state.securityGroups.get(id)?.name })),
    networkInterfaceSet: running && instance.networkInterfaceId ? [renderInterfaceForInstance(state, instance)] : undefined,
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    virtualizationType: 'hvm',
    hypervisor: 'xen',
    ebsOptimized: false,
    enaSupport: true,
    tagSet: renderTags(instance.tags),
  };
}

function renderReservation(state: AwsState, reservationId: string, members: readonly Instance[]): ResultFields {
  return { reservationId, ownerId: state.accountId, groupSet: [], instancesSet: members.map((i) => renderInstance(state, i)) };
}

function renderReservations(state: AwsState, instances: readonly Instance[]): ResultFields[] {
  const byReservation = new Map<string, Instance[]>();
  for (const instance of instances) byReservation.set(instance.reservationId, [...(byReservation.get(instance.reservationId) ?? []), instance]);
  return [...byReservation].map(([reservationId, members]) => renderReservation(state, reservationId, members));
}

export const runInstances: Handler = ({ state, params, now }) => {
  const imageId = params.required('ImageId');
  // Images are not modelled: any well-formed image id launches.
  if (!/^ami-[0-9a-zA-Z]+$/.test(imageId)) throw new AwsError('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  const minCount = params.int('MinCount');
  const maxCount = params.int('MaxCount');
  if (minCount === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter MinCount');
  if (maxCount === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter MaxCount');
  if (minCount < 1 || maxCount < minCount) throw invalidParameterValue(`Invalid value '${minCount}' for minCount. Must be between 1 and maxCount (${maxCount})`);

  // A retried RunInstances with the same ClientToken returns the first launch, not a second one.
  const token = params.str('ClientToken');
  const earlier = token !== undefined ? state.runTokens.get(token) : undefined;
  if (earlier !== undefined) {
    return renderReservation(state, earlier, [...state.instances.values()].filter((i) => i.reservationId === earlier));
  }

  const nic = params.structs('NetworkInterface')?.[0];
  const subnetId = params.str('SubnetId') ?? nic?.str('SubnetId');
  if (subnetId === undefined) throw noDefaultVpc();
  const subnet = requireSubnet(state, subnetId);
  const groupIds = securityGroupsFor(state, subnet.vpcId, [...(params.list('SecurityGroupId') ?? []), ...(nic?.list('SecurityGroupId') ?? [])], params.list('SecurityGroup') ?? []);
  const tags = tagSpecifications(params, 'instance', ['instance', 'volume', 'network-interface', 'spot-instances-request']);

  const used = usedAddresses(state, subnet);
  const requestedIp = params.str('PrivateIpAddress') ?? nic?.str('PrivateIpAddress');
  if (requestedIp !== undefined) {
    if (maxCount > 1) throw new AwsError('InvalidParameterCombination', 'Cannot specify an explicit private IP address for more than one instance');
    checkRequestedAddress(subnet, requestedIp, used);
  }
  const addresses: string[] = [];
  for (let i = 0; i < maxCount; i++) {
    const ip = i === 0 && requestedIp !== undefined ? requestedIp : allocateAddress(subnet, used);
    if (ip === undefined) break;
    used.add(ip);
    addresses.push(ip);
  }
  if (addresses.length < minCount) {
    throw new AwsError('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${subnet.id}' to satisfy the requested number of instances.`);
  }

  const reservationId = state.ec2Id('r');
  const launched = addresses.map((privateIp, index) => {
    const instance: Instance = {
      seq: state.nextSeq(),
      id: state.ec2Id('i'),
      reservationId,
      imageId,
      instanceType: params.str('InstanceType') ?? 'm1.small',
      subnetId: subnet.id,
      vpcId: subnet.vpcId,
      az: subnet.az,
      privateIp,
      securityGroupIds: groupIds,
      networkInterfaceId: state.ec2Id('eni'),
      launchTime: now,
      keyName: params.str('KeyName'),
      amiLaunchIndex: index,
      state: 'running',
      tags: newTagSet(tags),
    };
    state.instances.set(instance.id, instance);
    return instance;
  });
  if (token !== undefined) state.runTokens.set(token, reservationId);
  return renderReservation(state, reservationId, launched);
};

export const describeInstances: Handler = ({ state, params }) => {
  if (params.list('InstanceId')?.length && params.has('MaxResults')) {
    throw new AwsError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const running = (i: Instance): boolean => i.state === 'running';
  const page = describe(params, {
    all: [...state.instances.values()],
    idParam: 'InstanceId',
    idOf: (i) => i.id,
    notFound: (missing) => idsNotFound('InvalidInstanceID.NotFound', 'instance', missing),
    fields: {
      'instance-id': (i) => i.id,
      'instance-state-name': (i) => i.state,
      'instance-state-code': (i) => String(STATE_CODES[i.state]),
      'instance-type': (i) => i.instanceType,
      'image-id': (i) => i.imageId,
      'reservation-id': (i) => i.reservationId,
      'key-name': (i) => i.keyName,
      'availability-zone': (i) => i.az,
      'vpc-id': (i) => (running(i) ? i.vpcId : undefined),
      'subnet-id': (i) => (running(i) ? i.subnetId : undefined),
      'private-ip-address': (i) => (running(i) ? i.privateIp : undefined),
      'private-dns-name': (i) => (running(i) ? privateDnsName(state, i.privateIp) : undefined),
      'instance.group-id': (i) => i.securityGroupIds,
      'instance.group-name': (i) => i.securityGroupIds.map((id) => state.securityGroups.get(id)?.name),
      'network-interface.group-id': (i) => (running(i) ? i.securityGroupIds : undefined),
      'network-interface.network-interface-id': (i) => (running(i) ? i.networkInterfaceId : undefined),
      'network-interface.addresses.private-ip-address': (i) => (running(i) ? i.privateIp : undefined),
      'owner-id': () => state.accountId,
    },
  });
  return { reservationSet: renderReservations(state, page.items), nextToken: page.next };
};

export const terminateInstances: Handler = ({ state, params }) => {
  const ids = params.list('InstanceId') ?? [];
  if (ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
  const missing = ids.filter((id) => !state.instances.has(id));
  if (missing.length > 0) throw idsNotFound('InvalidInstanceID.NotFound', 'instance', missing);
  const changes = [...new Set(ids)].map((id) => {
    const instance = state.instances.get(id)!;
    const previous = instance.state;
    instance.state = 'terminated';
    // AWS reports the transition it started: running → shutting-down (terminated shortly after).
    const current = previous === 'running' ? 'shutting-down' : 'terminated';
    return {
      instanceId: id,
      currentState: { code: STATE_CODES[current], name: current },
      previousState: { code: STATE_CODES[previous], name: previous },
    };
  });
  return { instancesSet: changes };
};
