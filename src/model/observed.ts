import type { HealthCheck, Subnet, Target } from './types';

/**
 * What AWS holds for one Service, as read by `observe`. Fields that a narrower observation
 * did not read are `undefined`, and the planner leaves those aspects alone.
 */
export interface ObservedState {
  /** `targets`: only target groups and their registrations (the checkpoint said nothing else changed). */
  scope: 'full' | 'targets';
  /** Subnets matching the model's selector; undefined when not needed. */
  subnets?: Subnet[];
  loadBalancers: ObservedLoadBalancer[];
  targetGroups: ObservedTargetGroup[];
  securityGroups: ObservedSecurityGroup[];
  /** The backend group and the nodes' groups; undefined when not read (the model wants no backend rules, or a narrow scope). */
  backend?: ObservedBackend;
}

export interface ObservedBackend {
  /** ferry's backend groups of this cluster (one per VPC). */
  groups: ObservedSecurityGroup[];
  /** The security groups of the target nodes that carry the cluster tag, with their rules. */
  nodeGroups: ObservedSecurityGroup[];
  /** Target nodes none of whose security groups carries the cluster tag: ferry may open none of them. */
  untaggedNodes: string[];
}

export interface ObservedLoadBalancer {
  arn: string;
  name: string;
  dnsName: string;
  type: string;
  scheme: string;
  vpcId: string;
  ipAddressType: string;
  subnets: string[];
  securityGroups: string[];
  tags: Record<string, string>;
  attributes?: Record<string, string>;
  listeners: ObservedListener[];
}

export interface ObservedListener {
  arn: string;
  port: number;
  protocol: string;
  targetGroupArn: string | undefined;
  /** The default certificate first, then the listener's additional certificates. */
  certificates: string[];
  sslPolicy: string | undefined;
  alpnPolicy: string | undefined;
  /** Read only for an adoption (whether the listener still needs ferry's tags). */
  tags?: Record<string, string>;
  /** Read only when the model sets listener attributes. */
  attributes?: Record<string, string>;
}

export interface ObservedTargetGroup {
  arn: string;
  name: string;
  protocol: string;
  port: number;
  targetType: string;
  vpcId: string;
  loadBalancerArns: string[];
  healthCheck: HealthCheck;
  tags: Record<string, string>;
  attributes?: Record<string, string>;
  /** Registered targets, sorted; undefined when not read. */
  targets?: Target[];
  /** How many of them AWS reports healthy; read with the targets. */
  healthy?: number;
}

/** One ingress permission, flattened to a single source: a CIDR or a security group. */
export interface ObservedRule {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidr?: string;
  sourceGroup?: string;
  /** The rule's description: how ferry recognises the direct rules it made for one Service. */
  description?: string;
}

export interface ObservedSecurityGroup {
  id: string;
  name: string;
  vpcId: string;
  tags: Record<string, string>;
  ingress: ObservedRule[];
}

/** Everything of one cluster in the Region, as the sweep reads it (see src/aws/inventory.ts). */
export interface Inventory {
  loadBalancers: ObservedLoadBalancer[];
  targetGroups: ObservedTargetGroup[];
  securityGroups: ObservedSecurityGroup[];
}
