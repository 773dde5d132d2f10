import { formatIpv4, parseIpv4 } from './cidr';
import { AwsError } from './errors';
import { idsNotFound, invalidParameterValue, renderTags, requestFilters, tagSpecifications } from './ec2-common';
import { isMoto } from './fidelity';
import { matchesFilters, unknownFilter, type FilterFields } from './filters';
import type { Handler } from './service';
import type { AwsState, ElasticIp, LoadBalancer, SubnetMapping } from './state';
import { newTagSet } from './tags';
import type { XmlValue } from './xml';

/**
 * Elastic IPs (VPC domain only: EC2-Classic is retired). The emulator hands out
 * addresses from the documentation ranges 198.51.100.0/24 and 203.0.113.0/24, so they
 * can never be mistaken for real ones. An address is associated while a Network Load
 * Balancer's subnet mapping uses it (the association belongs to the NLB node's network
 * interface); AWS then refuses to release it.
 */

const POOLS = ['198.51.100.0', '203.0.113.0'].map((base) => parseIpv4(base)!);

function nextPublicIp(state: AwsState): string {
  const used = new Set([...state.addresses.values()].map((a) => a.publicIp));
  for (const base of POOLS) {
    for (let host = 1; host < 255; host++) {
      const ip = formatIpv4(base + host);
      if (!used.has(ip)) return ip;
    }
  }
  // AWS's default quota is 5 per region; long before this, AllocateAddress would have failed there.
  throw new AwsError('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
}

export interface AddressUse {
  readonly lb: LoadBalancer;
  readonly mapping: SubnetMapping;
}

/** The load balancer subnet mapping that holds the address, if any. */
export function addressUse(state: AwsState, allocationId: string): AddressUse | undefined {
  for (const lb of state.loadBalancers.values()) {
    const mapping = lb.subnets.find((m) => m.allocationId === allocationId);
    if (mapping) return { lb, mapping };
  }
  return undefined;
}

function renderAddress(state: AwsState, address: ElasticIp): XmlValue {
  // moto's load balancers never associate the Elastic IPs of their subnet mappings.
  const use = isMoto(state) ? undefined : addressUse(state, address.allocationId);
  return {
    publicIp: address.publicIp,
    allocationId: address.allocationId,
    associationId: use?.mapping.associationId,
    domain: 'vpc',
    networkInterfaceId: use?.mapping.eniId,
    networkInterfaceOwnerId: use ? state.accountId : undefined,
    privateIpAddress: use?.mapping.privateIPv4Address,
    tagSet: renderTags(address.tags),
    publicIpv4Pool: 'amazon',
    networkBorderGroup: state.region,
  };
}

export const allocateAddress: Handler = ({ state, params }) => {
  const domain = params.str('Domain') ?? 'vpc';
  if (domain !== 'vpc') throw invalidParameterValue(`Invalid value '${domain}' for domain.`);
  if (params.str('Address') !== undefined || params.str('PublicIpv4Pool') !== undefined || params.str('CustomerOwnedIpv4Pool') !== undefined) {
    throw invalidParameterValue("ferry's AWS emulator allocates from Amazon's pool only (Address, PublicIpv4Pool and CustomerOwnedIpv4Pool are not modelled)");
  }
  const tags = tagSpecifications(params, 'elastic-ip');
  const address: ElasticIp = { seq: state.nextSeq(), allocationId: state.ec2Id('eipalloc'), publicIp: nextPublicIp(state), tags: newTagSet(tags) };
  state.addresses.set(address.allocationId, address);
  return { publicIp: address.publicIp, allocationId: address.allocationId, publicIpv4Pool: 'amazon', networkBorderGroup: state.region, domain: 'vpc' };
};

export const describeAddresses: Handler = ({ state, params }) => {
  const all = [...state.addresses.values()].sort((a, b) => a.seq - b.seq);
  const ids = params.list('AllocationId') ?? [];
  const ips = params.list('PublicIp') ?? [];
  const missingIds = ids.filter((id) => !state.addresses.has(id));
  if (missingIds.length > 0) throw idsNotFound('InvalidAllocationID.NotFound', 'allocation', missingIds);
  const missingIp = ips.find((ip) => !all.some((a) => a.publicIp === ip));
  if (missingIp !== undefined) throw new AwsError('InvalidAddress.NotFound', `Address '${missingIp}' not found.`);
  const use = (a: ElasticIp): AddressUse | undefined => (isMoto(state) ? undefined : addressUse(state, a.allocationId));
  const fields: FilterFields<ElasticIp> = {
    'allocation-id': (a) => a.allocationId,
    'association-id': (a) => use(a)?.mapping.associationId,
    domain: () => 'vpc',
    'instance-id': () => undefined,
    'network-interface-id': (a) => use(a)?.mapping.eniId,
    'network-interface-owner-id': (a) => (use(a) ? state.accountId : undefined),
    'private-ip-address': (a) => use(a)?.mapping.privateIPv4Address,
    'public-ip': (a) => a.publicIp,
    'network-border-group': () => state.region,
  };
  const filters = requestFilters(params);
  const unknown = unknownFilter(filters, fields);
  if (unknown !== undefined) throw invalidParameterValue(`The filter '${unknown}' is invalid`);
  const selected = all
    .filter((a) => (ids.length === 0 || ids.includes(a.allocationId)) && (ips.length === 0 || ips.includes(a.publicIp)))
    .filter((a) => matchesFilters(a, filters, fields));
  return { addressesSet: selected.map((a) => renderAddress(state, a)) };
};

export const releaseAddress: Handler = ({ state, params }) => {
  const allocationId = params.str('AllocationId');
  if (allocationId === undefined) {
    if (params.str('PublicIp') !== undefined) throw invalidParameterValue('You must specify an allocation id when releasing a VPC elastic IP address');
    throw new AwsError('MissingParameter', 'The request must contain the parameter AllocationId');
  }
  const address = state.addresses.get(allocationId);
  if (!address) throw idsNotFound('InvalidAllocationID.NotFound', 'allocation', [allocationId]);
  // "[Nondefault VPC] You must disassociate the Elastic IP address before you can release it.
  // Otherwise, Amazon EC2 returns an error (InvalidIPAddress.InUse)." An NLB's address is
  // freed only by deleting the load balancer (or removing its subnet).
  if (addressUse(state, allocationId)) throw new AwsError('InvalidIPAddress.InUse', `Address ${address.publicIp} is in use.`);
  state.addresses.delete(allocationId);
  return { return: true };
};
