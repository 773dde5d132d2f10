/**
 * The node agent's view of the cluster: what every proxy mode renders from. Built purely
 * from Services, EndpointSlices and the agent's own Node (see `state.ts`), so each mode is
 * a function of this data and golden-testable without root.
 */

export const PROXY_MODES = ['nftables', 'iptables', 'ipvs', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
/** Which iptables the iptables mode drives: the host's own (`auto`, as kube-proxy picks), or one forced. */
export const IPTABLES_BACKENDS = ['auto', 'legacy', 'nft'] as const;
export type IptablesBackend = (typeof IPTABLES_BACKENDS)[number];
export type Scheduler = 'rr' | 'lc' | 'dh' | 'sh' | 'sed' | 'nq';
/** SCTP is programmed by the kernel modes only (Node.js has no SCTP sockets: userspace skips it). */
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Endpoint {
  ip: string;
  /** The target port, resolved from the EndpointSlice port of the same name. */
  port: number;
  nodeName: string | undefined;
  /** On this node: eligible for externalTrafficPolicy / internalTrafficPolicy Local. */
  local: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /**
   * Topology hints (EndpointSlice `hints`), resolved for this node: absent when the
   * endpoint has no hint of that kind; true when a hint names this node's zone
   * (`forZones`) or this node (`forNodes`). See `usableEndpoints` for how they are used.
   */
  zoneHint?: boolean;
  nodeHint?: boolean;
}

/** One port of one Service: kube-proxy's "service port", the unit every mode programs. */
export interface ServicePort {
  /** `<namespace>/<name>:<port name>` (port name may be empty), unique per protocol. */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: L4Protocol;
  /** IPv4 and IPv6 cluster IPs; empty for headless Services (which get no rules). */
  clusterIPs: string[];
  port: number;
  /** NodePort / LoadBalancer Services only. */
  nodePort: number | undefined;
  /** `spec.externalIPs`: captured like the ClusterIP, with the external traffic policy. Absent: none. */
  externalIPs?: string[];
  /**
   * `status.loadBalancer.ingress[].ip` whose `ipMode` is `VIP` (or absent): captured on the
   * node, as kube-proxy does; `ipMode: Proxy` ones are left to the load balancer (KEP-1860).
   * Absent: none.
   */
  loadBalancerIPs?: string[];
  /** externalTrafficPolicy: Local — NodePort traffic goes only to local endpoints, source kept. */
  externalLocal: boolean;
  /** internalTrafficPolicy: Local — ClusterIP traffic goes only to local endpoints. */
  internalLocal: boolean;
  /** Present for externalTrafficPolicy Local LoadBalancer Services. */
  healthCheckNodePort: number | undefined;
  /** ClientIP session affinity. */
  affinity: { timeoutSeconds: number } | undefined;
  /** From `ferry.io/ipvs-scheduler`; undefined means the agent's `--scheduler`. */
  scheduler: Scheduler | undefined;
  /** Every endpoint of the slices, sorted by ip then port; modes pick with `usableEndpoints`. */
  endpoints: Endpoint[];
}

export interface ProxyState {
  nodeName: string;
  /** The node's own addresses that NodePorts answer on (after `--nodeport-addresses`). */
  nodeIPs: string[];
  /** By `ServicePort.key` + protocol: `${key}/${protocol}`. */
  services: Map<string, ServicePort>;
  /**
   * How traffic from pods is told from the rest, per family (kube-proxy's local traffic
   * detector, `--detect-local-mode`); absent for a family without one. With it, ClusterIP
   * traffic from outside the pod network is masqueraded, and pod traffic to an external
   * address of an externalTrafficPolicy Local Service is short-circuited to every endpoint.
   */
  podTraffic?: { 4?: PodTrafficMatch; 6?: PodTrafficMatch };
  /** `--masquerade-all`: every ClusterIP connection is masqueraded. */
  masqueradeAll?: boolean;
}

/** One family's pod-traffic detector (pod-traffic.ts renders it for each mode). */
export type PodTrafficMatch =
  /** ClusterCIDR, or NodeCIDR (the Node's `spec.podCIDRs`): the source address is in it (one per family, as kube-proxy takes them). */
  | { kind: 'cidr'; cidr: string }
  /** BridgeInterface: the packet came in on this interface. */
  | { kind: 'interface'; name: string }
  /** InterfaceNamePrefix: the packet came in on an interface whose name starts so. */
  | { kind: 'interfacePrefix'; prefix: string };

export interface SyncResult {
  /** Rules or listeners programmed, as the mode counts them (for metrics). */
  rules: number;
  endpoints: number;
}

/**
 * A proxy mode. `sync` makes the data path match the state; `changed` lists the service
 * ports (by map key) changed since the last successful sync, or is undefined for a full
 * sync. It throws on failure, after which the loop forces a full sync.
 */
export interface Proxier {
  readonly mode: ProxyMode;
  sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<SyncResult>;
  /** Removes everything the mode owns (`ferry agent --cleanup`). */
  cleanup(): Promise<void>;
  /** Stops listeners and timers; the data path itself is left in place. */
  close(): Promise<void>;
}
