import { cidrSize, formatIpv4, parseCidr, parseIpv4, type Cidr } from '../cidr';
import type { AwsState, LoadBalancer } from '../state';
import type { NlbNode } from './options';

/**
 * The two address worlds the data plane joins. AWS's are VPC addresses: instances,
 * ip targets and NLB nodes live in 10.x subnets, and security groups speak of them. A
 * laptop cannot reach 10.x, so each VPC address may be *mapped* to a local address the
 * emulator dials instead (`127.0.1.1` for "instance i-… is this loopback address"), and
 * a connection coming *from* a mapped local address is treated as coming from its VPC
 * address (so a node's agent calling the NLB is the instance, for security groups).
 * Unmapped addresses stand for themselves.
 *
 * NLB nodes get both: a VPC address in their subnet (allocated from the top of the
 * subnet, where RunInstances, which allocates from the bottom, does not look first; it
 * is reserved from RunInstances either way) and a local address to listen on.
 */
export interface NodeSlot {
  readonly node: NlbNode;
  /** Where the node listens; what DescribeLoadBalancers reports unless the subnet mapping gave a static address. */
  address: string;
  /** The Elastic IP or private IPv4 address of the subnet mapping, which DescribeLoadBalancers reports instead. */
  readonly staticAddress: string | undefined;
}

function requireIpv4(what: string, text: string): string {
  if (parseIpv4(text) === undefined) throw new TypeError(`${what} must be an IPv4 address; got '${text}'`);
  return text;
}

function nodeKey(loadBalancerArn: string, subnetId: string): string {
  return `${loadBalancerArn} ${subnetId}`;
}

export class AddressBook {
  private readonly toLocal = new Map<string, string>();
  private readonly toVpc = new Map<string, string>();
  private readonly slots = new Map<string, NodeSlot>();
  private readonly pool: Cidr;

  constructor(
    private readonly state: AwsState,
    pool: string,
    private readonly chooseNodeAddress: ((node: NlbNode) => string) | undefined,
  ) {
    const cidr = parseCidr(pool);
    if (!cidr || cidr.prefix > 30) throw new TypeError(`dataPlane.addressPool must be an IPv4 CIDR of at least 4 addresses; got '${pool}'`);
    this.pool = cidr;
  }

  map(vpcIp: string, localAddress: string): void {
    requireIpv4('mapAddress: the VPC address', vpcIp);
    requireIpv4('mapAddress: the local address', localAddress);
    this.unmap(vpcIp);
    this.toLocal.set(vpcIp, localAddress);
    this.toVpc.set(localAddress, vpcIp);
  }

  unmap(vpcIp: string): void {
    const local = this.toLocal.get(vpcIp);
    if (local === undefined) return;
    this.toLocal.delete(vpcIp);
    if (this.toVpc.get(local) === vpcIp) this.toVpc.delete(local);
  }

  /** The address to dial for a VPC address. */
  localOf(vpcIp: string): string {
    return this.toLocal.get(vpcIp) ?? vpcIp;
  }

  /** Who a local address is in the VPC (a connection's source, as security groups see it). */
  vpcOf(localAddress: string): string {
    const mapped = this.toVpc.get(localAddress);
    if (mapped !== undefined) return mapped;
    for (const slot of this.slots.values()) if (slot.address === localAddress) return slot.node.privateIp;
    return localAddress;
  }

  /** The node of `lb` in `subnetId`, given its addresses on first use. */
  node(lb: LoadBalancer, subnetId: string): NodeSlot {
    const key = nodeKey(lb.arn, subnetId);
    const existing = this.slots.get(key);
    if (existing) return existing;
    const subnet = this.state.subnets.get(subnetId);
    const mapping = lb.subnets.find((s) => s.subnetId === subnetId);
    const node: NlbNode = {
      loadBalancerArn: lb.arn,
      loadBalancerName: lb.name,
      scheme: lb.scheme,
      subnetId,
      availabilityZone: subnet?.az ?? mapping?.az ?? '',
      privateIp: mapping?.privateIPv4Address ?? this.allocatePrivateIp(subnetId),
    };
    // A static address (Elastic IP, or an internal node's chosen private IP) listens where it is mapped.
    const eip = mapping?.allocationId !== undefined ? this.state.addresses.get(mapping.allocationId)?.publicIp : undefined;
    const staticAddress = eip ?? mapping?.privateIPv4Address;
    const mapped = staticAddress !== undefined ? this.toLocal.get(staticAddress) : undefined;
    const address = this.chooseNodeAddress ? requireIpv4('dataPlane.nodeAddress()', this.chooseNodeAddress(node)) : (mapped ?? this.allocateLocal(new Set()));
    const slot: NodeSlot = { node, address, staticAddress };
    this.slots.set(key, slot);
    return slot;
  }

  nodesOf(loadBalancerArn: string): NodeSlot[] {
    return [...this.slots.values()].filter((slot) => slot.node.loadBalancerArn === loadBalancerArn);
  }

  allNodes(): NodeSlot[] {
    return [...this.slots.values()];
  }

  /** Forgets nodes whose load balancer or subnet is gone; returns them. */
  prune(): NodeSlot[] {
    const removed: NodeSlot[] = [];
    for (const [key, slot] of this.slots) {
      const lb = this.state.loadBalancers.get(slot.node.loadBalancerArn);
      if (lb?.subnets.some((s) => s.subnetId === slot.node.subnetId)) continue;
      this.slots.delete(key);
      removed.push(slot);
    }
    return removed;
  }

  /**
   * Moves a pool-allocated node to the next free pool address, when its address turned
   * out to be taken by another process. Nodes placed by `nodeAddress` or by the address
   * map stay where they are.
   */
  relocate(slot: NodeSlot, tried: Set<string>): boolean {
    if (this.chooseNodeAddress || (slot.staticAddress !== undefined && this.toLocal.get(slot.staticAddress) === slot.address)) return false;
    tried.add(slot.address);
    try {
      slot.address = this.allocateLocal(tried);
      return true;
    } catch {
      return false;
    }
  }

  /** VPC addresses the data plane gave NLB nodes in a subnet (addresses from subnet mappings are the load balancer's own). */
  reserved(subnetId: string): string[] {
    return [...this.slots.values()]
      .filter((slot) => slot.node.subnetId === subnetId && slot.node.privateIp !== this.state.loadBalancers.get(slot.node.loadBalancerArn)?.subnets.find((m) => m.subnetId === subnetId)?.privateIPv4Address)
      .map((slot) => slot.node.privateIp);
  }

  isNodeIp(ip: string): boolean {
    return [...this.slots.values()].some((slot) => slot.node.privateIp === ip);
  }

  /** Highest free host address of the subnet: AWS reserves the first four and the last. */
  private allocatePrivateIp(subnetId: string): string {
    const subnet = this.state.subnets.get(subnetId);
    const cidr = subnet ? parseCidr(subnet.cidr) : undefined;
    if (!cidr) return '0.0.0.0';
    const used = new Set([
      ...[...this.state.instances.values()].filter((i) => i.state === 'running' && i.subnetId === subnetId).map((i) => i.privateIp),
      ...[...this.state.loadBalancers.values()].flatMap((lb) => lb.subnets.filter((m) => m.subnetId === subnetId && m.privateIPv4Address).map((m) => m.privateIPv4Address!)),
      ...[...this.slots.values()].filter((slot) => slot.node.subnetId === subnetId).map((slot) => slot.node.privateIp),
    ]);
    for (let offset = cidrSize(cidr) - 2; offset >= 4; offset--) {
      const ip = formatIpv4(cidr.base + offset);
      if (!used.has(ip)) return ip;
    }
    // A full subnet: CreateLoadBalancer would have failed on AWS; share the last address.
    return formatIpv4(cidr.base + cidrSize(cidr) - 2);
  }

  /** The lowest pool address no node and no mapping uses (and not in `avoid`). */
  private allocateLocal(avoid: ReadonlySet<string>): string {
    const taken = new Set([...[...this.slots.values()].map((slot) => slot.address), ...this.toLocal.values(), ...avoid]);
    for (let offset = 1; offset < cidrSize(this.pool) - 1; offset++) {
      const ip = formatIpv4(this.pool.base + offset);
      if (!taken.has(ip)) return ip;
    }
    throw new RangeError(`dataPlane.addressPool ${formatIpv4(this.pool.base)}/${this.pool.prefix} has no free address left for another NLB node`);
  }
}
