import { cidrContains, cidrSize, cidrsOverlap, parseCidr, type Cidr } from './cidr';
import { AwsError } from './errors';
import { describe, idsNotFound, invalidParameterValue, renderTags, requestFilters, tagSpecifications } from './ec2-common';
import { matchesFilters, unknownFilter, type FilterFields } from './filters';
import { formatIpv6Cidr, ipv6CidrContains, parseIpv6Cidr } from './ipv6';
import type { Handler } from './service';
import type { AvailabilityZone, AwsState, SecurityGroup, Subnet, Vpc } from './state';
import { newTagSet, type TagSet } from './tags';
import type { XmlValue } from './xml';

/** VPCs, subnets and Availability Zones. */

/** "The allowed block size is between a /16 netmask and /28 netmask" for VPCs and subnets alike. */
function blockSizeAllowed(cidr: Cidr): boolean {
  return cidr.prefix >= 16 && cidr.prefix <= 28;
}

function parseCidrParam(text: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw invalidParameterValue(`Value (${text}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`);
  return cidr;
}

export function requireVpc(state: AwsState, id: string): Vpc {
  const vpc = state.vpcs.get(id);
  if (!vpc) throw idsNotFound('InvalidVpcID.NotFound', 'vpc', [id]);
  return vpc;
}

export function requireSubnet(state: AwsState, id: string): Subnet {
  const subnet = state.subnets.get(id);
  if (!subnet) throw idsNotFound('InvalidSubnetID.NotFound', 'subnet', [id]);
  return subnet;
}

/** Addresses a subnet still has free: AWS reserves five per subnet; instances and NLB nodes use one each. */
export function availableAddresses(state: AwsState, subnet: Subnet): number {
  const instances = [...state.instances.values()].filter((i) => i.state === 'running' && i.subnetId === subnet.id).length;
  const nodes = [...state.loadBalancers.values()].filter((lb) => lb.subnets.some((s) => s.subnetId === subnet.id)).length;
  return cidrSize(parseCidr(subnet.cidr)!) - 5 - instances - nodes;
}

function renderVpc(state: AwsState, vpc: Vpc): XmlValue {
  return {
    vpcId: vpc.id,
    ownerId: state.accountId,
    state: 'available',
    cidrBlock: vpc.cidr,
    cidrBlockAssociationSet: [{ associationId: `vpc-cidr-assoc-${vpc.id.slice(4)}`, cidrBlock: vpc.cidr, cidrBlockState: { state: 'associated' } }],
    ipv6CidrBlockAssociationSet: vpc.ipv6Cidr
      ? [
          {
            associationId: `vpc-cidr-assoc-${vpc.id.slice(4, 12)}6`,
            ipv6CidrBlock: vpc.ipv6Cidr,
            ipv6CidrBlockState: { state: 'associated' },
            networkBorderGroup: state.region,
            ipv6Pool: 'Amazon',
          },
        ]
      : undefined,
    dhcpOptionsId: vpc.dhcpOptionsId,
    instanceTenancy: vpc.instanceTenancy,
    isDefault: false,
    tagSet: renderTags(vpc.tags),
  };
}

function renderSubnet(state: AwsState, subnet: Subnet): XmlValue {
  return {
    subnetId: subnet.id,
    subnetArn: `arn:aws:ec2:${state.region}:${state.accountId}:subnet/${subnet.id}`,
    state: 'available',
    vpcId: subnet.vpcId,
    cidrBlock: subnet.cidr,
    availableIpAddressCount: availableAddresses(state, subnet),
    availabilityZone: subnet.az,
    availabilityZoneId: subnet.azId,
    defaultForAz: false,
    mapPublicIpOnLaunch: false,
    assignIpv6AddressOnCreation: false,
    ipv6CidrBlockAssociationSet: subnet.ipv6Cidr
      ? [{ associationId: `subnet-cidr-assoc-${subnet.id.slice(7)}`, ipv6CidrBlock: subnet.ipv6Cidr, ipv6CidrBlockState: { state: 'associated' } }]
      : undefined,
    ownerId: state.accountId,
    tagSet: renderTags(subnet.tags),
  };
}

/** Every VPC comes with a security group named "default" that cannot be deleted. */
function createDefaultSecurityGroup(state: AwsState, vpcId: string): void {
  const id = state.ec2Id('sg');
  const group: SecurityGroup = {
    seq: state.nextSeq(),
    id,
    name: 'default',
    description: 'default VPC security group',
    vpcId,
    ingress: [{ protocol: '-1', fromPort: undefined, toPort: undefined, groupId: id, ruleId: state.ec2Id('sgr') }],
    egress: [{ protocol: '-1', fromPort: undefined, toPort: undefined, cidrIpv4: '0.0.0.0/0', ruleId: state.ec2Id('sgr') }],
    tags: newTagSet(),
  };
  state.securityGroups.set(id, group);
}

export const createVpc: Handler = ({ state, params }) => {
  const text = params.str('CidrBlock');
  if (!text) throw new AwsError('MissingParameter', "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.");
  const cidr = parseCidrParam(text);
  if (!blockSizeAllowed(cidr)) throw new AwsError('InvalidVpc.Range', `The CIDR '${text}' is invalid.`);
  const tags = tagSpecifications(params, 'vpc');
  const vpc: Vpc = {
    seq: state.nextSeq(),
    id: state.ec2Id('vpc'),
    cidr: text,
    // An Amazon-provided /56 from Amazon's 2600:1f00::/24 space (AWS picks it; so does the seeded stream here).
    ...(params.bool('AmazonProvidedIpv6CidrBlock') === true ? { ipv6Cidr: formatIpv6Cidr(parseIpv6Cidr(`2600:1f18:${state.hex(4)}:${state.hex(2)}00::/56`)!) } : {}),
    dhcpOptionsId: `dopt-${state.hex(8)}`,
    instanceTenancy: params.str('InstanceTenancy') ?? 'default',
    tags: newTagSet(tags),
  };
  state.vpcs.set(vpc.id, vpc);
  createDefaultSecurityGroup(state, vpc.id);
  return { vpc: renderVpc(state, vpc) };
};

const VPC_FILTERS: FilterFields<Vpc> = {
  'vpc-id': (v) => v.id,
  cidr: (v) => v.cidr,
  'cidr-block-association.cidr-block': (v) => v.cidr,
  'dhcp-options-id': (v) => v.dhcpOptionsId,
  'is-default': () => 'false',
  state: () => 'available',
};

export const describeVpcs: Handler = ({ state, params }) => {
  const page = describe(params, {
    all: [...state.vpcs.values()],
    idParam: 'VpcId',
    idOf: (v) => v.id,
    notFound: (missing) => idsNotFound('InvalidVpcID.NotFound', 'vpc', missing),
    fields: { ...VPC_FILTERS, 'owner-id': () => state.accountId },
  });
  return { vpcSet: page.items.map((v) => renderVpc(state, v)), nextToken: page.next };
};

export const deleteVpc: Handler = ({ state, params }) => {
  const vpc = requireVpc(state, params.required('VpcId'));
  const groups = [...state.securityGroups.values()].filter((g) => g.vpcId === vpc.id);
  const dependent =
    [...state.subnets.values()].some((s) => s.vpcId === vpc.id) ||
    groups.some((g) => g.name !== 'default') ||
    [...state.loadBalancers.values()].some((lb) => lb.vpcId === vpc.id);
  if (dependent) throw new AwsError('DependencyViolation', `The vpc '${vpc.id}' has dependencies and cannot be deleted.`);
  for (const group of groups) state.securityGroups.delete(group.id);
  state.vpcs.delete(vpc.id);
  return { return: true };
};

function zoneFor(state: AwsState, name: string | undefined, id: string | undefined): AvailabilityZone {
  if (name === undefined && id === undefined) return state.availabilityZones[0]!;
  const zone = state.availabilityZones.find((z) => (name !== undefined ? z.name === name : z.id === id));
  if (!zone) {
    throw invalidParameterValue(
      `Value (${name ?? id}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${state.availabilityZones.map((z) => z.name).join(', ')}.`,
    );
  }
  return zone;
}

export const createSubnet: Handler = ({ state, params }) => {
  const vpc = requireVpc(state, params.required('VpcId'));
  const text = params.required('CidrBlock');
  const cidr = parseCidrParam(text);
  if (!blockSizeAllowed(cidr) || !cidrContains(parseCidr(vpc.cidr)!, cidr)) throw new AwsError('InvalidSubnet.Range', `The CIDR '${text}' is invalid.`);
  const siblings = [...state.subnets.values()].filter((s) => s.vpcId === vpc.id);
  if (siblings.some((s) => cidrsOverlap(parseCidr(s.cidr)!, cidr))) {
    throw new AwsError('InvalidSubnet.Conflict', `The CIDR '${text}' conflicts with another subnet`);
  }
  const zone = zoneFor(state, params.str('AvailabilityZone'), params.str('AvailabilityZoneId'));
  const ipv6Cidr = subnetIpv6Cidr(vpc, params.str('Ipv6CidrBlock'), siblings);
  const tags = tagSpecifications(params, 'subnet');
  const subnet: Subnet = {
    seq: state.nextSeq(),
    id: state.ec2Id('subnet'),
    vpcId: vpc.id,
    cidr: text,
    ...(ipv6Cidr !== undefined ? { ipv6Cidr } : {}),
    az: zone.name,
    azId: zone.id,
    tags: newTagSet(tags),
  };
  state.subnets.set(subnet.id, subnet);
  return { subnet: renderSubnet(state, subnet) };
};

/** A subnet's IPv6 block is a /64 of its VPC's /56 that no sibling has. */
function subnetIpv6Cidr(vpc: Vpc, text: string | undefined, siblings: readonly Subnet[]): string | undefined {
  if (text === undefined) return undefined;
  const cidr = parseIpv6Cidr(text);
  if (!cidr) throw invalidParameterValue(`Value (${text}) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.`);
  const vpcCidr = vpc.ipv6Cidr !== undefined ? parseIpv6Cidr(vpc.ipv6Cidr) : undefined;
  if (cidr.prefix !== 64 || !vpcCidr || !ipv6CidrContains(vpcCidr, cidr.base)) throw new AwsError('InvalidSubnet.Range', `The IPv6 CIDR '${text}' is invalid.`);
  const normal = formatIpv6Cidr(cidr);
  if (siblings.some((s) => s.ipv6Cidr === normal)) throw new AwsError('InvalidSubnet.Conflict', `The CIDR '${text}' conflicts with another subnet`);
  return normal;
}

export const describeSubnets: Handler = ({ state, params }) => {
  const page = describe(params, {
    all: [...state.subnets.values()],
    idParam: 'SubnetId',
    idOf: (s) => s.id,
    notFound: (missing) => idsNotFound('InvalidSubnetID.NotFound', 'subnet', missing),
    fields: {
      'subnet-id': (s) => s.id,
      'vpc-id': (s) => s.vpcId,
      'availability-zone': (s) => s.az,
      'availability-zone-id': (s) => s.azId,
      'cidr-block': (s) => s.cidr,
      'ipv6-cidr-block-association.ipv6-cidr-block': (s) => s.ipv6Cidr,
      cidr: (s) => s.cidr,
      cidrBlock: (s) => s.cidr,
      'default-for-az': () => 'false',
      'owner-id': () => state.accountId,
      state: () => 'available',
      'subnet-arn': (s) => `arn:aws:ec2:${state.region}:${state.accountId}:subnet/${s.id}`,
    },
  });
  return { subnetSet: page.items.map((s) => renderSubnet(state, s)), nextToken: page.next };
};

export const deleteSubnet: Handler = ({ state, params }) => {
  const subnet = requireSubnet(state, params.required('SubnetId'));
  // Network interfaces (of instances and of load balancer nodes) keep a subnet alive.
  const dependent =
    [...state.instances.values()].some((i) => i.state === 'running' && i.subnetId === subnet.id) ||
    [...state.loadBalancers.values()].some((lb) => lb.subnets.some((s) => s.subnetId === subnet.id));
  if (dependent) throw new AwsError('DependencyViolation', `The subnet '${subnet.id}' has dependencies and cannot be deleted.`);
  state.subnets.delete(subnet.id);
  return { return: true };
};

type ZoneRow = AvailabilityZone & { readonly tags: TagSet };

export const describeAvailabilityZones: Handler = ({ state, params }) => {
  const names = params.list('ZoneName') ?? [];
  const ids = params.list('ZoneId') ?? [];
  const unknown = [...names.filter((n) => !state.availabilityZones.some((z) => z.name === n)), ...ids.filter((i) => !state.availabilityZones.some((z) => z.id === i))];
  if (unknown.length > 0) throw invalidParameterValue(`Invalid availability zone: [${unknown.join(', ')}]`);
  const fields: FilterFields<ZoneRow> = {
    'zone-name': (z) => z.name,
    'zone-id': (z) => z.id,
    'region-name': () => state.region,
    'group-name': () => state.region,
    state: () => 'available',
    'zone-type': () => 'availability-zone',
    'opt-in-status': () => 'opt-in-not-required',
  };
  const filters = requestFilters(params);
  const badFilter = unknownFilter(filters, fields);
  if (badFilter !== undefined) throw invalidParameterValue(`The filter '${badFilter}' is invalid`);
  const rows = state.availabilityZones
    .filter((z) => (names.length === 0 || names.includes(z.name)) && (ids.length === 0 || ids.includes(z.id)))
    .map((z) => ({ ...z, tags: new Map() as TagSet }))
    .filter((z) => matchesFilters(z, filters, fields));
  return {
    availabilityZoneInfo: rows.map((z) => ({
      zoneName: z.name,
      zoneId: z.id,
      zoneState: 'available',
      regionName: state.region,
      groupName: state.region,
      networkBorderGroup: state.region,
      optInStatus: 'opt-in-not-required',
      zoneType: 'availability-zone',
      messageSet: [],
    })),
  };
};
