import { cidrContainsIp, cidrSize, parseCidr, parseIpv4 } from './cidr';
import { addressUse } from './ec2-addresses';
import { AwsError, javaList } from './errors';
import { configError, validationError } from './elbv2-common';
import { isMoto } from './fidelity';
import { formatIpv6, ipv6CidrContains, parseIpv6, parseIpv6Cidr } from './ipv6';
import type { Params } from './query';
import type { AwsState, LoadBalancer, Subnet, SubnetMapping } from './state';
import type { XmlValue } from './xml';

/**
 * The subnets of a Network Load Balancer and their static addresses (CreateLoadBalancer
 * and SetSubnets `SubnetMappings`), with the rules of the ELBv2 API reference
 * (SubnetMapping) and the NLB guide ("Update the Availability Zones"):
 *
 * - `AllocationId`: internet-facing only; the Elastic IP must exist and not be in use
 *   (ELBv2 answers `AllocationIdNotFound` / `ResourceInUse: The allocation IDs are not
 *   available for use`); one per subnet.
 * - `PrivateIPv4Address`: internal only; inside the subnet's CIDR, not one of the five
 *   addresses AWS reserves in every subnet, not in use.
 * - `IPv6Address`: dualstack only; inside the subnet's IPv6 /64 (not its reserved
 *   addresses), not in use.
 * - SetSubnets replaces the subnet list: subnets may be added and removed, but a subnet
 *   that stays keeps its addresses ("include all subnets that were enabled previously,
 *   with their existing configurations"), and changing the subnet of a zone takes two
 *   calls ("Subnet changes within the same Availability Zone must be independent actions").
 */

export interface Placement {
  readonly vpcId: string;
  readonly subnets: SubnetMapping[];
}

interface Requested {
  readonly subnet: Subnet;
  readonly allocationId: string | undefined;
  readonly privateIPv4Address: string | undefined;
  readonly ipv6Address: string | undefined;
}

function requested(state: AwsState, params: Params): Requested[] {
  const plain = params.list('Subnets') ?? [];
  const mappings = params.structs('SubnetMappings') ?? [];
  if (plain.length > 0 && mappings.length > 0) throw validationError('You can specify subnets or subnet mappings, but not both');
  const entries =
    plain.length > 0
      ? plain.map((id) => ({ id, allocationId: undefined, privateIPv4Address: undefined, ipv6Address: undefined }))
      : mappings.map((m) => {
          if (m.str('SourceNatIpv6Prefix') !== undefined) throw validationError("ferry's AWS emulator does not model SourceNatIpv6Prefix (UDP over IPv6)");
          return { id: m.required('SubnetId'), allocationId: m.str('AllocationId'), privateIPv4Address: m.str('PrivateIPv4Address'), ipv6Address: m.str('IPv6Address') };
        });
  if (entries.length === 0) throw validationError('At least one subnet must be specified');
  return entries.map((e) => {
    const subnet = state.subnets.get(e.id);
    if (!subnet) throw new AwsError('SubnetNotFound', `The subnet ID '${e.id}' does not exist`);
    return { subnet, allocationId: e.allocationId, privateIPv4Address: e.privateIPv4Address, ipv6Address: e.ipv6Address };
  });
}

/** Addresses held by other load balancers' mappings and by instances in the subnet (and, with a data plane, its NLB nodes). */
function privateAddressesInUse(state: AwsState, subnet: Subnet, self: LoadBalancer | undefined): Set<string> {
  const used = new Set<string>();
  for (const i of state.instances.values()) if (i.state === 'running' && i.subnetId === subnet.id) used.add(i.privateIp);
  for (const lb of state.loadBalancers.values()) {
    if (lb === self) continue;
    for (const m of lb.subnets) if (m.subnetId === subnet.id && m.privateIPv4Address) used.add(m.privateIPv4Address);
  }
  for (const ip of state.dataPlane?.reservedAddresses(subnet.id) ?? []) used.add(ip);
  return used;
}

function checkPrivateIpv4(state: AwsState, r: Requested, self: LoadBalancer | undefined): string {
  const ip = r.privateIPv4Address!;
  const value = parseIpv4(ip);
  if (value === undefined) throw validationError(`The private IPv4 address '${ip}' is not valid`);
  const cidr = parseCidr(r.subnet.cidr)!;
  if (!cidrContainsIp(cidr, value)) throw configError(`The private IPv4 address '${ip}' is not in the CIDR block '${r.subnet.cidr}' of subnet '${r.subnet.id}'`);
  const offset = value - cidr.base;
  // AWS reserves the network address, the next three (router, DNS, future use) and the broadcast address.
  if (offset < 4 || offset === cidrSize(cidr) - 1) throw configError(`The private IPv4 address '${ip}' is reserved by AWS in subnet '${r.subnet.id}'`);
  if (privateAddressesInUse(state, r.subnet, self).has(ip)) throw configError(`The private IPv4 address '${ip}' is already in use in subnet '${r.subnet.id}'`);
  return ip;
}

function checkIpv6(state: AwsState, r: Requested, self: LoadBalancer | undefined): string {
  const text = r.ipv6Address!;
  const value = parseIpv6(text);
  if (value === undefined) throw validationError(`The IPv6 address '${text}' is not valid`);
  const cidr = r.subnet.ipv6Cidr !== undefined ? parseIpv6Cidr(r.subnet.ipv6Cidr) : undefined;
  if (!cidr) throw configError(`Subnet '${r.subnet.id}' has no IPv6 CIDR block`);
  if (!ipv6CidrContains(cidr, value)) throw configError(`The IPv6 address '${text}' is not in the CIDR block '${r.subnet.ipv6Cidr!}' of subnet '${r.subnet.id}'`);
  const offset = value - cidr.base;
  if (offset < 4n || offset === (1n << BigInt(128 - cidr.prefix)) - 1n) throw configError(`The IPv6 address '${text}' is reserved by AWS in subnet '${r.subnet.id}'`);
  const normal = formatIpv6(value);
  for (const lb of state.loadBalancers.values()) {
    if (lb !== self && lb.subnets.some((m) => m.ipv6Address === normal)) throw configError(`The IPv6 address '${text}' is already in use in subnet '${r.subnet.id}'`);
  }
  return normal;
}

function checkAllocation(state: AwsState, id: string, self: LoadBalancer | undefined): void {
  if (!state.addresses.has(id)) throw new AwsError('AllocationIdNotFound', `The allocation ID '${id}' does not exist`);
  const use = addressUse(state, id);
  if (use && use.lb !== self) throw new AwsError('ResourceInUse', 'The allocation IDs are not available for use');
}

function sameAddresses(a: Pick<SubnetMapping, 'allocationId' | 'privateIPv4Address' | 'ipv6Address'>, b: SubnetMapping): boolean {
  return a.allocationId === b.allocationId && a.privateIPv4Address === b.privateIPv4Address && a.ipv6Address === b.ipv6Address;
}

/**
 * The placement a request asks for, validated against the scheme and address type. With
 * `current` (SetSubnets), subnets that stay must keep their addresses and keep their ids.
 * Addresses `owner` already holds are not "in use" (a retried CreateLoadBalancer).
 */
export function resolvePlacement(
  state: AwsState,
  params: Params,
  scheme: LoadBalancer['scheme'],
  ipAddressType: string,
  current?: LoadBalancer,
  owner: LoadBalancer | undefined = current,
): Placement {
  const wanted = requested(state, params);
  const vpcs = new Set(wanted.map((r) => r.subnet.vpcId));
  if (vpcs.size > 1) throw new AwsError('InvalidSubnet', `The subnets ${javaList(wanted.map((r) => r.subnet.id))} must all belong to the same VPC`);
  const zones = new Set<string>();
  for (const r of wanted) {
    if (zones.has(r.subnet.az)) throw configError('A load balancer cannot be attached to multiple subnets in the same Availability Zone');
    zones.add(r.subnet.az);
  }
  const allocations = new Set<string>();
  const subnets = wanted.map((r): SubnetMapping => {
    if (r.allocationId !== undefined) {
      if (scheme !== 'internet-facing') throw configError('Elastic IP addresses can be specified only for internet-facing load balancers');
      if (allocations.has(r.allocationId)) throw new AwsError('ResourceInUse', 'The allocation IDs are not available for use');
      allocations.add(r.allocationId);
      checkAllocation(state, r.allocationId, owner);
    }
    if (r.privateIPv4Address !== undefined && scheme !== 'internal') throw configError('Private IPv4 addresses can be specified only for internal load balancers');
    if (r.ipv6Address !== undefined && ipAddressType === 'ipv4') throw configError("IPv6 addresses can be specified only for load balancers with IP address type 'dualstack'");
    const addresses = {
      allocationId: r.allocationId,
      privateIPv4Address: r.privateIPv4Address !== undefined ? checkPrivateIpv4(state, r, owner) : undefined,
      ipv6Address: r.ipv6Address !== undefined ? checkIpv6(state, r, owner) : undefined,
    };
    const kept = current?.subnets.find((m) => m.subnetId === r.subnet.id);
    if (kept) {
      if (!sameAddresses(addresses, kept)) throw configError(`The addresses of subnet '${r.subnet.id}' cannot be changed; remove the subnet first, then add it back`);
      return kept;
    }
    const sameZone = current?.subnets.find((m) => m.az === r.subnet.az);
    if (sameZone) {
      throw configError(`Availability Zone '${r.subnet.az}' already uses subnet '${sameZone.subnetId}'; remove it before adding subnet '${r.subnet.id}'`);
    }
    const mapping: SubnetMapping = { subnetId: r.subnet.id, az: r.subnet.az, eniId: state.ec2Id('eni') };
    if (addresses.allocationId !== undefined) {
      mapping.allocationId = addresses.allocationId;
      mapping.associationId = state.ec2Id('eipassoc');
    }
    if (addresses.privateIPv4Address !== undefined) mapping.privateIPv4Address = addresses.privateIPv4Address;
    if (addresses.ipv6Address !== undefined) mapping.ipv6Address = addresses.ipv6Address;
    return mapping;
  });
  return { vpcId: wanted[0]!.subnet.vpcId, subnets };
}

/** Same subnets with the same addresses: CreateLoadBalancer's idempotency test. */
export function samePlacement(a: readonly SubnetMapping[], b: readonly SubnetMapping[]): boolean {
  return a.length === b.length && a.every((m) => b.some((n) => n.subnetId === m.subnetId && sameAddresses(m, n)));
}

/**
 * `LoadBalancerAddresses` of one node: its static addresses (one entry, as AWS reports
 * them), then whatever a running data plane reports for the node (the local address it
 * listens on). moto reports no addresses at all (its AvailabilityZone has only SubnetId
 * and ZoneName).
 */
export function loadBalancerAddresses(state: AwsState | undefined, lb: LoadBalancer, mapping: SubnetMapping): XmlValue {
  if (state && isMoto(state)) return undefined;
  const eip = mapping.allocationId !== undefined ? state?.addresses.get(mapping.allocationId) : undefined;
  const own: Record<string, string> = {};
  if (eip) Object.assign(own, { IpAddress: eip.publicIp, AllocationId: eip.allocationId });
  if (mapping.privateIPv4Address !== undefined) own['PrivateIPv4Address'] = mapping.privateIPv4Address;
  if (mapping.ipv6Address !== undefined) own['IPv6Address'] = mapping.ipv6Address;
  const live = state?.dataPlane?.loadBalancerAddresses(lb, mapping.subnetId);
  return [...(Object.keys(own).length > 0 ? [own] : []), ...(Array.isArray(live) ? (live as XmlValue[]) : [])];
}
