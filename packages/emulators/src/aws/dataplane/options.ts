/** What `AwsEmulator.start({ dataPlane })` accepts; README "The data plane" explains each choice. */

/** One node of a Network Load Balancer: AWS runs one per enabled subnet (zone). */
export interface NlbNode {
  readonly loadBalancerArn: string;
  readonly loadBalancerName: string;
  readonly scheme: 'internet-facing' | 'internal';
  readonly subnetId: string;
  readonly availabilityZone: string;
  /** The node's address in its subnet: health checks come from it, security group CIDR rules see it. */
  readonly privateIp: string;
}

export interface DataPlaneOptions {
  /**
   * Multiplies every NLB timer: health check intervals and timeouts, the registration
   * time, the deregistration delay, idle timeouts and the wait of a dropped connection.
   * Default 1 (AWS's real durations); tests use 0.01–0.05.
   */
  timeScale?: number;
  /**
   * VPC private IP → local address the emulator dials instead, for targets (instances
   * and ip targets) that are not reachable at their VPC address, e.g.
   * `{ '10.0.1.4': '127.0.1.1' }`. Unmapped addresses are dialed as they are (the
   * identity map, right when nodes live in network namespaces with their 10.x
   * addresses). Change it later with `emu.dataPlane.mapAddress`.
   */
  addresses?: Readonly<Record<string, string>>;
  /**
   * Where NLB nodes listen when `nodeAddress` does not say: consecutive addresses of
   * this IPv4 CIDR, default `127.1.0.0/16` (all of 127/8 is local on Linux, no root needed).
   */
  addressPool?: string;
  /**
   * Chooses the local address an NLB node listens on (and reports in
   * DescribeLoadBalancers). Called once per node, synchronously; return e.g. the node's
   * `privateIp` when the host carries the VPC addresses itself.
   */
  nodeAddress?: (node: NlbNode) => string;
  /**
   * The local port a listener binds for its AWS port, default the same port. Ports
   * below 1024 need root (or `net.ipv4.ip_unprivileged_port_start`); the playground can
   * map 80 → 8080 here.
   */
  listenPort?: (port: number, protocol: 'tcp' | 'udp') => number;
}

export const DEFAULT_ADDRESS_POOL = '127.1.0.0/16';
