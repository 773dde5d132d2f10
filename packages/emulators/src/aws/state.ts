import type { DataPlaneView } from './dataplane/view';
import type { Fidelity } from './fidelity';
import { randomHex, seededRng, type Rng } from './random';
import type { Secret } from './secretsmanager';
import type { SqsQueue } from './sqs-model';
import type { TagSet } from './tags';

/**
 * The one world every service sees: ELBv2 validates subnets, security groups and
 * instances against the same objects EC2 describes; SQS queues and Secrets Manager
 * secrets live here too (their shapes are in sqs-model.ts and secretsmanager.ts).
 * Handlers mutate it synchronously, so every call is atomic with respect to every
 * other (Node runs one at a time), the way a create-with-tags is atomic in AWS; a long
 * poll is a series of such steps with waits in between.
 *
 * Every resource carries `seq`, its creation order, which is the order AWS-style
 * listings and page tokens use.
 */
export interface Vpc {
  readonly seq: number;
  readonly id: string;
  readonly cidr: string;
  /** The Amazon-provided /56, when CreateVpc asked for one (AmazonProvidedIpv6CidrBlock). */
  readonly ipv6Cidr?: string;
  readonly dhcpOptionsId: string;
  readonly instanceTenancy: string;
  readonly tags: TagSet;
}

export interface Subnet {
  readonly seq: number;
  readonly id: string;
  readonly vpcId: string;
  readonly cidr: string;
  /** A /64 of the VPC's /56, when CreateSubnet named one (Ipv6CidrBlock). */
  readonly ipv6Cidr?: string;
  readonly az: string;
  readonly azId: string;
  readonly tags: TagSet;
}

export interface SgRule {
  readonly protocol: string; // tcp | udp | icmp | -1 (all), normalised lower-case
  readonly fromPort: number | undefined;
  readonly toPort: number | undefined;
  readonly cidrIpv4?: string;
  readonly cidrIpv6?: string;
  readonly groupId?: string;
  readonly description?: string;
  readonly ruleId: string;
  /** Tags from AuthorizeSecurityGroupIngress's TagSpecifications (security-group-rule) or CreateTags on the sgr- id. */
  readonly tags?: TagSet;
}

export interface SecurityGroup {
  readonly seq: number;
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly vpcId: string;
  readonly ingress: SgRule[];
  readonly egress: SgRule[];
  readonly tags: TagSet;
}

export type InstanceStateName = 'running' | 'terminated';

export interface Instance {
  readonly seq: number;
  readonly id: string;
  readonly reservationId: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly az: string;
  readonly privateIp: string;
  readonly securityGroupIds: readonly string[];
  /** The primary network interface (eni-…), which DescribeNetworkInterfaces lists while the instance runs. */
  readonly networkInterfaceId?: string;
  readonly launchTime: Date;
  readonly keyName: string | undefined;
  readonly amiLaunchIndex: number;
  state: InstanceStateName;
  readonly tags: TagSet;
}

export interface LoadBalancer {
  readonly seq: number;
  readonly arn: string;
  /** The 16-hex suffix of the ARN, reused in listener ARNs. */
  readonly lbId: string;
  readonly name: string;
  readonly dnsName: string;
  readonly scheme: 'internet-facing' | 'internal';
  readonly type: 'network';
  readonly vpcId: string;
  subnets: SubnetMapping[];
  securityGroups: string[];
  /** NLBs accept SetSecurityGroups only when they were created with security groups. */
  readonly securityGroupsEnabled: boolean;
  enforceSecurityGroupsOnPrivateLink: 'on' | 'off';
  ipAddressType: string;
  readonly createdTime: Date;
  readonly attributes: Map<string, string>;
  readonly tags: TagSet;
}

/**
 * One enabled subnet of a load balancer, with the static addresses CreateLoadBalancer's
 * SubnetMappings gave it (NLB only): an Elastic IP (internet-facing), a private IPv4
 * address (internal), an IPv6 address (dualstack). `eniId`/`associationId` name the
 * node's network interface and the EIP's association with it.
 */
export interface SubnetMapping {
  subnetId: string;
  az: string;
  allocationId?: string;
  privateIPv4Address?: string;
  ipv6Address?: string;
  eniId?: string;
  associationId?: string;
}

/** An Elastic IP (AllocateAddress, domain vpc). Its association is derived from the load balancer mappings that use it. */
export interface ElasticIp {
  readonly seq: number;
  readonly allocationId: string;
  readonly publicIp: string;
  readonly tags: TagSet;
}

export interface HealthCheck {
  protocol: string;
  port: string;
  path: string | undefined;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  matcher: string | undefined;
}

export interface Target {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone: string | undefined;
}

export interface TargetGroup {
  readonly seq: number;
  readonly arn: string;
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
  readonly vpcId: string;
  readonly targetType: 'instance' | 'ip';
  readonly ipAddressType: string;
  healthCheck: HealthCheck;
  readonly attributes: Map<string, string>;
  readonly tags: TagSet;
  /** Keyed by `${id}:${port}`: one instance or IP may be registered on several ports. */
  readonly targets: Map<string, Target>;
}

export interface Listener {
  readonly seq: number;
  readonly arn: string;
  readonly loadBalancerArn: string;
  port: number;
  protocol: string;
  /** NLB listeners have exactly one default action: forward to one target group. */
  targetGroupArn: string;
  certificates: string[];
  /** TLS only: the SNI certificates beyond the default one (Add/RemoveListenerCertificates). */
  extraCertificates: string[];
  sslPolicy: string | undefined;
  alpnPolicy: string[] | undefined;
  readonly tags: TagSet;
  /** Listener attributes (tcp.idle_timeout.seconds); see elbv2-listener-attributes.ts. */
  readonly attributes?: Map<string, string>;
}

export interface AvailabilityZone {
  readonly name: string;
  readonly id: string;
}

export class AwsState {
  readonly vpcs = new Map<string, Vpc>();
  readonly subnets = new Map<string, Subnet>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly instances = new Map<string, Instance>();
  /** RunInstances ClientToken → reservation id: AWS answers a retried launch with the first one's instances. */
  readonly runTokens = new Map<string, string>();
  readonly loadBalancers = new Map<string, LoadBalancer>();
  readonly targetGroups = new Map<string, TargetGroup>();
  readonly listeners = new Map<string, Listener>();
  /** Elastic IPs by allocation id. */
  readonly addresses = new Map<string, ElasticIp>();
  /** SQS queues by name. */
  readonly queues = new Map<string, SqsQueue>();
  /** Queue name → when DeleteQueue removed it: the name is held for 60 seconds. */
  readonly deletedQueues = new Map<string, number>();
  /** Secrets Manager secrets by name, including those scheduled for deletion. */
  readonly secrets = new Map<string, Secret>();
  readonly availabilityZones: readonly AvailabilityZone[];
  /** Set when `AwsEmulator.start({ dataPlane })` runs one: node addresses and target health come from it. */
  dataPlane: DataPlaneView | undefined = undefined;
  /** Whose behaviour the handlers reproduce where AWS and moto differ (fidelity.ts); set by `AwsEmulator.start({ fidelity })`. */
  fidelity: Fidelity = 'aws';
  private lastSeq = 0;
  private readonly rng: Rng;

  constructor(
    readonly region: string,
    readonly accountId: string,
    seed = 0x5eed,
  ) {
    this.rng = seededRng(seed);
    this.availabilityZones = zonesFor(region);
  }

  nextSeq(): number {
    return ++this.lastSeq;
  }

  hex(length: number): string {
    return randomHex(this.rng, length);
  }

  /** A version-4-shaped UUID from the seeded stream (SQS message ids, secret version ids). */
  uuid(): string {
    const variant = '89ab'.charAt(Math.floor(this.rng() * 4));
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${variant}${this.hex(3)}-${this.hex(12)}`;
  }

  /** Random letters and digits, as in the six-character suffix of a secret's ARN. */
  alphanumeric(length: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    while (out.length < length) out += alphabet.charAt(Math.floor(this.rng() * alphabet.length));
    return out;
  }

  /** EC2-style id: `vpc-0123456789abcdef0` (17 hex digits, as AWS issues today). */
  ec2Id(prefix: string): string {
    return `${prefix}-${this.hex(17)}`;
  }

  listenersOf(loadBalancerArn: string): Listener[] {
    return [...this.listeners.values()].filter((l) => l.loadBalancerArn === loadBalancerArn);
  }

  /** The load balancers whose listeners forward to the target group. */
  loadBalancersOf(targetGroupArn: string): string[] {
    const arns = new Set<string>();
    for (const listener of this.listeners.values()) {
      if (listener.targetGroupArn === targetGroupArn) arns.add(listener.loadBalancerArn);
    }
    return [...arns];
  }

  /** `loadBalancersOf` for every target group at once, in one pass over the listeners. */
  loadBalancersByTargetGroup(): Map<string, string[]> {
    const out = new Map<string, Set<string>>();
    for (const listener of this.listeners.values()) {
      let arns = out.get(listener.targetGroupArn);
      if (!arns) out.set(listener.targetGroupArn, (arns = new Set()));
      arns.add(listener.loadBalancerArn);
    }
    return new Map([...out].map(([tg, arns]) => [tg, [...arns]]));
  }
}

const DIRECTION_ABBREVIATIONS: Readonly<Record<string, string>> = {
  east: 'e',
  west: 'w',
  north: 'n',
  south: 's',
  central: 'c',
  northeast: 'ne',
  northwest: 'nw',
  southeast: 'se',
  southwest: 'sw',
};

/**
 * The zones of a region: us-east-1 has six (a–f), most regions three. Zone ids follow
 * AWS's `use1-az1` scheme (the region's abbreviation plus an index).
 */
function zonesFor(region: string): AvailabilityZone[] {
  const [area = region, direction = '', number = ''] = region.split('-');
  const short = `${area}${DIRECTION_ABBREVIATIONS[direction] ?? direction.charAt(0)}${number}`;
  const letters = region === 'us-east-1' ? 'abcdef' : 'abc';
  return [...letters].map((letter, i) => ({ name: `${region}${letter}`, id: `${short}-az${i + 1}` }));
}
