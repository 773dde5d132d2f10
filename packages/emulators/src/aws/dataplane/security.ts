import { cidrContainsIp, parseCidr, parseIpv4 } from '../cidr';
import type { AwsState, SgRule } from '../state';

/**
 * Security group evaluation as EC2 does it: a flow passes a set of groups when any rule
 * of any group allows it (there are no deny rules); a rule names a protocol (or all),
 * a port range, and a peer by IPv4 CIDR or by security group, which matches every
 * network interface that carries that group. Groups are stateful: replies are never
 * checked. IPv6 rules never match (the emulator routes IPv4 only).
 */
export type Transport = 'tcp' | 'udp';

/** The other end of a flow as the VPC sees it: its address and the groups of its interface. */
export interface Peer {
  readonly ip: string;
  readonly groups: readonly string[];
}

function ruleAllows(rule: SgRule, protocol: Transport, port: number, peer: Peer): boolean {
  if (rule.protocol !== '-1' && rule.protocol !== protocol) return false;
  if (rule.fromPort !== undefined && rule.toPort !== undefined && (port < rule.fromPort || port > rule.toPort)) return false;
  if (rule.groupId !== undefined) return peer.groups.includes(rule.groupId);
  if (rule.cidrIpv4 !== undefined) {
    const cidr = parseCidr(rule.cidrIpv4);
    const ip = parseIpv4(peer.ip);
    return cidr !== undefined && ip !== undefined && cidrContainsIp(cidr, ip);
  }
  return false;
}

function allows(state: AwsState, groupIds: readonly string[], direction: 'ingress' | 'egress', protocol: Transport, port: number, peer: Peer): boolean {
  return groupIds.some((id) => state.securityGroups.get(id)?.[direction].some((rule) => ruleAllows(rule, protocol, port, peer)) ?? false);
}

/** Whether `groupIds` let `peer` in on `port`. */
export function ingressAllows(state: AwsState, groupIds: readonly string[], protocol: Transport, port: number, peer: Peer): boolean {
  return allows(state, groupIds, 'ingress', protocol, port, peer);
}

/** Whether `groupIds` let traffic out to `peer` on `port`. */
export function egressAllows(state: AwsState, groupIds: readonly string[], protocol: Transport, port: number, peer: Peer): boolean {
  return allows(state, groupIds, 'egress', protocol, port, peer);
}
