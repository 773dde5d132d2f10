import { ConfigError } from '../errors';
import type { Subnet, SubnetAddresses, SubnetSelector } from '../model/types';
import { cidrSet, parseCidr } from '../util/net';
import type { SubnetMapping } from './actions';

/**
 * Chooses the NLB's subnets from the candidates AWS returned for the selector: one per
 * Availability Zone, all in one VPC (the NLB's own when it exists), and inside the VPC ferry
 * is confined to (`FERRY_VPC_ID`) when it is.
 */
export function chooseSubnets(
  selector: SubnetSelector,
  candidates: readonly Subnet[],
  vpcId: string | undefined,
  allowedVpc?: string,
): { vpcId: string; subnets: string[]; chosen: Subnet[] } {
  const chosen =
    selector.kind === 'current' ? [...candidates] : selector.kind === 'explicit' ? explicit(selector, candidates) : discovered(selector, candidates, vpcId ?? allowedVpc);
  const outside = allowedVpc ? chosen.filter((s) => s.vpcId !== allowedVpc) : [];
  if (outside.length > 0) {
    throw new ConfigError(
      `annotation ferry.io/subnets names ${outside.map((s) => `${s.id} (in ${s.vpcId})`).join(', ')}, outside ${allowedVpc}, the VPC this cluster's load balancers live in (FERRY_VPC_ID): name subnets of ${allowedVpc}`,
    );
  }
  const vpcs = [...new Set(chosen.map((s) => s.vpcId))];
  if (vpcs.length > 1) {
    throw new ConfigError(
      `subnets ${chosen.map((s) => `${s.id} (${s.vpcId})`).join(', ')} span several VPCs; an NLB lives in one VPC: ${
        selector.kind === 'explicit' ? 'fix ferry.io/subnets' : 'set FERRY_VPC_ID or ferry.io/subnets'
      }`,
    );
  }
  if (vpcId && vpcs[0] !== vpcId) {
    throw new ConfigError(`the load balancer is in ${vpcId} but the chosen subnets are in ${vpcs[0]}; a load balancer cannot change VPC`);
  }
  const sorted = [...chosen].sort((a, b) => a.id.localeCompare(b.id));
  return { vpcId: vpcs[0]!, subnets: sorted.map((s) => s.id), chosen: sorted };
}

/**
 * The NLB's fixed addresses placed in its subnets: a private IPv4 or IPv6 address goes to
 * the subnet whose block holds it; Elastic IPs have no subnet of their own, so they go in the
 * order of the subnets' Availability Zones. Each subnet takes one of each kind or none.
 */
export function mapAddresses(addresses: SubnetAddresses, subnets: readonly Subnet[]): SubnetMapping[] {
  const byZone = [...subnets].sort((a, b) => a.availabilityZone.localeCompare(b.availabilityZone));
  const mappings = new Map<string, SubnetMapping>(byZone.map((s) => [s.id, { subnetId: s.id }]));
  const count = (kind: string, values: readonly string[], annotation: string) => {
    if (values.length !== subnets.length) {
      throw new ConfigError(
        `annotation ${annotation} gives ${values.length} ${kind}, but the load balancer has ${subnets.length} subnets (${byZone.map((s) => `${s.id} in ${s.availabilityZone}`).join(', ')}): give one per subnet`,
      );
    }
  };
  if (addresses.allocationIds) {
    count('Elastic IPs', addresses.allocationIds, 'ferry.io/eip-allocations');
    byZone.forEach((s, i) => (mappings.get(s.id)!.allocationId = addresses.allocationIds![i]));
  }
  const place = (values: readonly string[] | undefined, annotation: string, blocks: (s: Subnet) => string[], field: 'privateIPv4Address' | 'ipv6Address') => {
    if (!values) return;
    count('addresses', values, annotation);
    for (const ip of values) {
      const home = byZone.find((s) => blocks(s).some((b) => parseCidr(b) && cidrSet([parseCidr(b)!]).has(ip)));
      if (!home) throw new ConfigError(`annotation ${annotation} names ${ip}, which lies in none of the load balancer's subnets (${byZone.map((s) => `${s.id} ${blocks(s).join(' ')}`).join(', ')})`);
      const mapping = mappings.get(home.id)!;
      if (mapping[field]) throw new ConfigError(`annotation ${annotation} names ${mapping[field]} and ${ip}, both in ${home.id}: give one per subnet`);
      mapping[field] = ip;
    }
  };
  place(addresses.privateIPv4Addresses, 'ferry.io/private-ipv4-addresses', (s) => [s.cidr], 'privateIPv4Address');
  place(addresses.ipv6Addresses, 'ferry.io/ipv6-addresses', (s) => s.ipv6Cidrs ?? [], 'ipv6Address');
  return [...mappings.values()].sort((a, b) => a.subnetId.localeCompare(b.subnetId));
}

function explicit(selector: Extract<SubnetSelector, { kind: 'explicit' }>, candidates: readonly Subnet[]): Subnet[] {
  const chosen: Subnet[] = [];
  for (const id of selector.ids) {
    const subnet = candidates.find((s) => s.id === id);
    if (!subnet) throw new ConfigError(`annotation ferry.io/subnets names ${id}, which does not exist`);
    chosen.push(subnet);
  }
  for (const name of selector.names) {
    const named = candidates.filter((s) => s.tags.Name === name);
    if (named.length === 0) throw new ConfigError(`annotation ferry.io/subnets names "${name}", but no subnet has that Name tag`);
    if (named.length > 1) {
      throw new ConfigError(`annotation ferry.io/subnets names "${name}", which ${named.length} subnets carry (${named.map((s) => s.id).join(', ')}); use subnet IDs`);
    }
    chosen.push(named[0]!);
  }
  const byZone = new Map<string, Subnet>();
  for (const s of chosen) {
    const other = byZone.get(s.availabilityZone);
    if (other && other.id !== s.id) {
      throw new ConfigError(
        `annotation ferry.io/subnets names ${other.id} and ${s.id}, both in ${s.availabilityZone}; an NLB takes one subnet per Availability Zone`,
      );
    }
    byZone.set(s.availabilityZone, s);
  }
  return [...byZone.values()];
}

function discovered(
  selector: Extract<SubnetSelector, { kind: 'discover' }>,
  candidates: readonly Subnet[],
  vpcId: string | undefined,
): Subnet[] {
  const eligible = candidates.filter(
    (s) => selector.roleTag in s.tags && selector.clusterTag in s.tags && (!vpcId || s.vpcId === vpcId),
  );
  if (eligible.length === 0) {
    throw new ConfigError(
      `no eligible subnets: tag subnets with ${selector.roleTag}=1 and ${selector.clusterTag}=owned (or shared)${vpcId ? ` in ${vpcId}` : ''}, or name them in ferry.io/subnets`,
    );
  }
  const byZone = new Map<string, Subnet>();
  // Lowest subnet ID per zone: a stable choice, so an unchanged set of subnets never moves the NLB.
  for (const s of [...eligible].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!byZone.has(s.availabilityZone)) byZone.set(s.availabilityZone, s);
  }
  return [...byZone.values()];
}
