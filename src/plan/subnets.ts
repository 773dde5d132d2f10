import { ConfigError } from '../errors';
import type { Subnet, SubnetSelector } from '../model/types';

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
): { vpcId: string; subnets: string[] } {
  const chosen = selector.kind === 'explicit' ? explicit(selector, candidates) : discovered(selector, candidates, vpcId ?? allowedVpc);
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
  return { vpcId: vpcs[0]!, subnets: chosen.map((s) => s.id).sort() };
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
