/**
 * The desired state of one Service's load balancer, as plain JSON-serialisable data.
 * `buildModel` produces it without I/O; the planner compares it with what AWS holds.
 */

export type Scheme = 'internal' | 'internet-facing';
export type TargetType = 'instance' | 'ip';
export type IpAddressType = 'ipv4' | 'dualstack';
/** A Service port's own protocols, as one listener carries them. */
export type PortProtocol = 'TCP' | 'UDP' | 'TCP_UDP';
/** TLS: ferry.io/backend-protocol=tls, TLS from the NLB to the targets. */
export type TargetGroupProtocol = PortProtocol | 'TLS';
export type ListenerProtocol = PortProtocol | 'TLS';
export type AlpnPolicy = 'HTTP1Only' | 'HTTP2Only' | 'HTTP2Optional' | 'HTTP2Preferred' | 'None';

export interface ServiceRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface HealthCheck {
  protocol: 'TCP' | 'HTTP' | 'HTTPS';
  /** A port number, or `traffic-port` for the port each target is registered on. */
  port: number | 'traffic-port';
  /** HTTP and HTTPS only. */
  path?: string;
  /** HTTP and HTTPS only. */
  successCodes?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface Target {
  /** Instance ID for `instance` target groups, IPv4 address for `ip`. */
  id: string;
  port: number;
}

export interface TargetGroupModel {
  /** Deterministic; hashes every field AWS cannot change in place. */
  name: string;
  /** The Service port (listener port) this target group serves. */
  servicePort: number;
  protocol: TargetGroupProtocol;
  /** The NodePort; every target is registered on it. */
  port: number;
  targetType: TargetType;
  healthCheck: HealthCheck;
  /** Every attribute AWS documents for NLB target groups: the annotations', else AWS's defaults. */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** Sorted by id, then port. */
  targets: Target[];
}

export interface ListenerModel {
  port: number;
  protocol: ListenerProtocol;
  /** Name of the target group the listener forwards to. */
  targetGroup: string;
  /** TLS only: certificate ARNs, the first is the default certificate. */
  certificates: string[];
  /** TLS only. */
  sslPolicy?: string;
  /** TLS only, `ferry.io/alpn-policy`. */
  alpnPolicy?: AlpnPolicy;
  /** TCP only, and only what `ferry.io/listener-attributes` sets (each read costs a call). */
  attributes: Record<string, string>;
  /** Set at creation, so that IAM can require the ownership tag on listener calls too. */
  tags: Record<string, string>;
}

export interface IngressRule {
  protocol: 'tcp' | 'udp';
  port: number;
  cidr: string;
}

/** A rule ferry keeps on the nodes' security groups: from its backend group, on a port range. */
export interface BackendRule {
  protocol: 'tcp' | 'udp';
  fromPort: number;
  toPort: number;
}

/**
 * ferry's backend security group (the AWS Load Balancer Controller's pattern): one per
 * cluster and VPC, attached to every NLB ferry makes, and the one source the nodes' security
 * groups admit, so their rule count does not grow with the number of Services.
 */
export interface BackendModel {
  group: Omit<SecurityGroupModel, 'ingress'>;
  /** What the nodes must admit from it for this Service: NodePorts and health-check ports. */
  rules: BackendRule[];
  /**
   * The tag that marks a node security group ferry may open (`kubernetes.io/cluster/<cluster>`,
   * as the cloud provider and the AWS Load Balancer Controller use it).
   */
  nodeGroupTag: string;
}

/**
 * Fixed addresses of the NLB in its subnets (SubnetMappings): Elastic IPs (internet-facing)
 * or private IPv4 addresses (internal), and IPv6 addresses (dualstack). AWS sets them only
 * when the NLB is created, so they are part of its name's hash.
 */
export interface SubnetAddresses {
  allocationIds?: string[];
  privateIPv4Addresses?: string[];
  ipv6Addresses?: string[];
}

export interface SecurityGroupModel {
  name: string;
  description: string;
  tags: Record<string, string>;
  /** Sorted; the complete set of ingress rules ferry keeps on the group. */
  ingress: IngressRule[];
}

export type SubnetSelector =
  | { kind: 'explicit'; ids: string[]; names: string[] }
  /** An adopted load balancer keeps the subnets it has. */
  | { kind: 'current' }
  | { kind: 'discover'; roleTag: string; clusterTag: string };

export interface LoadBalancerSpec {
  name: string;
  /** Set by `ferry.io/name`: the name cannot carry a hash, so the NLB cannot be replaced under it. */
  explicitName: boolean;
  /**
   * `ferry.io/adopt-load-balancer`: an existing NLB ferry takes over. Without `ferry.io/scheme`
   * it keeps its own scheme (then `scheme` above is only the model's default).
   */
  adopt?: { schemeGiven: boolean };
  scheme: Scheme;
  ipAddressType: IpAddressType;
  subnets: SubnetSelector;
  addresses?: SubnetAddresses;
  /** The group ferry manages, or the user's own groups from `ferry.io/security-groups`. */
  securityGroups: { managed: SecurityGroupModel } | { ids: string[] };
  /** null: `ferry.io/manage-backend-security-group-rules=false`, the cluster opens its nodes itself. */
  backend: BackendModel | null;
  /** The attributes the annotations set; the planner holds every other documented one at AWS's default for the scheme. */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** Sorted by port. */
  listeners: ListenerModel[];
  /** Sorted by service port. */
  targetGroups: TargetGroupModel[];
}

/** `loadBalancer: null` is the empty model: whatever ferry made for the Service goes. */
export interface LoadBalancerModel {
  service: ServiceRef;
  loadBalancer: LoadBalancerSpec | null;
  /**
   * `ferry.io/deletion-protection`: while true ferry refuses to delete the Service's load
   * balancer, also when the model is empty (the Service is being deleted).
   */
  deletionProtection: boolean;
}

/** A subnet as AWS reports it, for choosing one per Availability Zone. */
export interface Subnet {
  id: string;
  vpcId: string;
  availabilityZone: string;
  cidr: string;
  ipv6Cidrs?: string[];
  tags: Record<string, string>;
}
