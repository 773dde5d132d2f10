import { networkInterfaces } from 'node:os';
import type { AwsState, Listener, LoadBalancer, TargetGroup } from '../state';
import type { AddressBook, NodeSlot } from './addresses';
import type { HealthMonitor, TargetRecord } from './health';
import { proxyHeader, type Endpoint } from './proxy-protocol';
import { egressAllows, ingressAllows, type Transport } from './security';
import { crossZone, flag, instanceAt, targetGroups, targetKey, targetVpcIp, targetZone } from './topology';

/**
 * What an NLB node does with a new flow, decided from the world as it is at that
 * moment:
 *
 * 1. Admission: a load balancer with security groups lets a client in only when an
 *    inbound rule allows its address (or its instance's group) on the listener's
 *    protocol and port; a client instance's own outbound rules apply too. Otherwise the
 *    SYN (or datagram) is dropped.
 * 2. Target choice: the targets the node can reach (its zone's, or every enabled zone's
 *    with cross-zone load balancing), healthy ones only unless fewer are healthy than
 *    `target_group_health.unhealthy_state_routing.minimum_healthy_targets.count` (1) or
 *    `.percentage`: then the node fails open and uses all of them, unhealthy included.
 *    With `stickiness.enabled` a client address keeps its target while it stays
 *    eligible; otherwise a hash of the flow's 5-tuple picks one (NLB's flow hash: a
 *    UDP flow stays on its target).
 * 3. Delivery: the target's security groups must allow the source it sees (the
 *    client's address with client IP preservation, else the node's VPC address) or the
 *    load balancer's group, on the target port; the load balancer's outbound rules must
 *    allow the target. A target reaching itself through the NLB with client IP
 *    preservation on is dropped too (NLBs do not support this hairpin).
 */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly reason: DropReason };

export type DropReason = 'load-balancer-security-group' | 'client-security-group' | 'target-security-group' | 'hairpin';

export type Route =
  | { readonly kind: 'forward'; readonly record: TargetRecord; readonly tg: TargetGroup; readonly address: string; readonly port: number; readonly source: string | undefined; readonly header: Buffer | undefined }
  | { readonly kind: 'drop'; readonly reason: DropReason; readonly record: TargetRecord }
  | { readonly kind: 'none' };

export interface FlowContext {
  readonly listener: Listener;
  readonly lb: LoadBalancer;
  readonly slot: NodeSlot;
  readonly transport: Transport;
  readonly client: Endpoint;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.');
}

let localCache: { readonly at: number; readonly addresses: ReadonlySet<string> } | undefined;

/**
 * Whether this host can send from `address`: all of 127/8, or an address of one of its
 * interfaces (a client in another network namespace has neither). Cached for a second:
 * the playground may add addresses while running.
 */
function isLocal(address: string): boolean {
  if (isLoopback(address)) return true;
  if (!localCache || Date.now() - localCache.at > 1000) {
    localCache = { at: Date.now(), addresses: new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))) };
  }
  return localCache.addresses.has(address);
}

/** FNV-1a: a stable hash, so the same 5-tuple always lands on the same target. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function threshold(tg: TargetGroup, prefix: string, healthy: number, total: number): boolean {
  const count = tg.attributes.get(`${prefix}.count`) ?? '1';
  const percentage = tg.attributes.get(`${prefix}.percentage`) ?? 'off';
  if (count !== 'off' && healthy < Number(count)) return false;
  if (percentage !== 'off' && healthy * 100 < Number(percentage) * total) return false;
  return true;
}

export class Router {
  /** Target group ARN → client address → target key. */
  private readonly sticky = new Map<string, Map<string, string>>();

  constructor(
    private readonly state: AwsState,
    private readonly addresses: AddressBook,
    private readonly health: HealthMonitor,
  ) {}

  admit(flow: FlowContext): Admission {
    const { lb, listener, slot, transport, client } = flow;
    const identity = this.addresses.vpcOf(client.address);
    const instance = instanceAt(this.state, lb.vpcId, identity);
    const peer = { ip: identity, groups: instance?.securityGroupIds ?? [] };
    if (lb.securityGroupsEnabled && !ingressAllows(this.state, lb.securityGroups, transport, listener.port, peer)) {
      return { admitted: false, reason: 'load-balancer-security-group' };
    }
    if (instance && !egressAllows(this.state, instance.securityGroupIds, transport, listener.port, { ip: slot.node.privateIp, groups: lb.securityGroupsEnabled ? lb.securityGroups : [] })) {
      return { admitted: false, reason: 'client-security-group' };
    }
    return { admitted: true };
  }

  /** The targets a node in `zone` may send to, and whether it fails open. */
  /** The targets the node in `zone` knows: its zone's, every zone's with cross-zone load balancing, and 'all'. */
  reachable(lb: LoadBalancer, tg: TargetGroup, zone: string): TargetRecord[] {
    const everywhere = crossZone(lb, tg);
    return this.health.known(tg.arn).filter((record) => {
      if (everywhere) return true;
      const where = targetZone(this.state, tg, record.target);
      return where === undefined || where === 'all' || where === zone;
    });
  }

  eligible(lb: LoadBalancer, tg: TargetGroup, zone: string): { targets: TargetRecord[]; failOpen: boolean } {
    const reachable = this.reachable(lb, tg, zone);
    const healthy = reachable.filter((record) => record.state === 'healthy');
    const failOpen = !threshold(tg, 'target_group_health.unhealthy_state_routing.minimum_healthy_targets', healthy.length, reachable.length);
    return { targets: failOpen ? reachable : healthy, failOpen };
  }

  /** Whether DNS answers with this zone's address (`dns_failover` thresholds over the same targets). */
  zoneHealthyInDns(lb: LoadBalancer, tg: TargetGroup, zone: string): boolean {
    const reachable = this.reachable(lb, tg, zone);
    const healthy = reachable.filter((record) => record.state === 'healthy').length;
    return threshold(tg, 'target_group_health.dns_failover.minimum_healthy_targets', healthy, reachable.length);
  }

  route(flow: FlowContext): Route {
    const { lb, listener, slot, transport, client } = flow;
    const tg = this.state.targetGroups.get(listener.targetGroupArn);
    if (!tg) return { kind: 'none' };
    const { targets } = this.eligible(lb, tg, slot.node.availabilityZone);
    if (targets.length === 0) return { kind: 'none' };
    const record = this.choose(tg, targets, flow);
    const vpcIp = targetVpcIp(this.state, tg, record.target);
    if (vpcIp === undefined) return { kind: 'none' };

    const preserve = transport === 'udp' || flag(tg, 'preserve_client_ip.enabled');
    const identity = this.addresses.vpcOf(client.address);
    if (preserve && identity === vpcIp) return { kind: 'drop', reason: 'hairpin', record };
    const lbGroups = lb.securityGroupsEnabled ? lb.securityGroups : [];
    const guards = targetGroups(this.state, tg, record.target);
    // The packet comes from the NLB's interface: a rule naming the load balancer's group
    // matches it even when it carries the client's address.
    const sourcePeer = { ip: preserve ? identity : slot.node.privateIp, groups: lbGroups };
    if (guards !== undefined && !ingressAllows(this.state, guards, transport, record.target.port, sourcePeer)) return { kind: 'drop', reason: 'target-security-group', record };
    if (lb.securityGroupsEnabled && !egressAllows(this.state, lb.securityGroups, transport, record.target.port, { ip: vpcIp, groups: guards ?? [] })) {
      return { kind: 'drop', reason: 'load-balancer-security-group', record };
    }

    const address = this.addresses.localOf(vpcIp);
    // The target sees the client's address when it is preserved and this host can send
    // from it (any 127.x can be a source on Linux); otherwise the node's address.
    const wanted = preserve && isLocal(client.address) ? client.address : slot.address;
    return {
      kind: 'forward',
      record,
      tg,
      address,
      port: record.target.port,
      // A loopback source cannot reach a non-loopback address, nor the reverse.
      source: isLoopback(wanted) === isLoopback(address) ? wanted : undefined,
      header: flag(tg, 'proxy_protocol_v2.enabled') ? proxyHeader(transport, client, { address: slot.address, port: listener.port }) : undefined,
    };
  }

  close(): void {
    this.sticky.clear();
  }

  private choose(tg: TargetGroup, targets: TargetRecord[], flow: FlowContext): TargetRecord {
    const ordered = [...targets].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const sticky = flag(tg, 'stickiness.enabled');
    if (sticky) {
      const remembered = this.sticky.get(tg.arn)?.get(flow.client.address);
      const kept = ordered.find((record) => targetKey(record.target) === remembered);
      if (kept) return kept;
    }
    const tuple = `${flow.transport}|${flow.client.address}|${flow.client.port}|${flow.slot.address}|${flow.listener.port}`;
    const chosen = ordered[hash(tuple) % ordered.length]!;
    if (sticky) {
      const table = this.sticky.get(tg.arn) ?? new Map<string, string>();
      table.set(flow.client.address, targetKey(chosen.target));
      this.sticky.set(tg.arn, table);
    }
    return chosen;
  }
}
