import type {
  BackendRule,
  HealthCheck,
  IngressRule,
  IpAddressType,
  ListenerModel,
  Scheme,
  SecurityGroupModel,
  Target,
  TargetGroupModel,
} from '../model/types';
import type { ObservedRule } from '../model/observed';

/**
 * What `plan` asks `apply` to do: plain data, one AWS call each. Resources are named, not
 * addressed by ARN, because a resource created earlier in the same apply has no ARN at plan
 * time; `apply` resolves names to ARNs and IDs as it goes.
 *
 * `phase` orders the actions so that nothing in use is deleted: actions of one phase run
 * concurrently, phases one after another.
 */
export const Phase = {
  /** The managed security group must exist before the NLB that uses it. */
  SecurityGroup: 0,
  Create: 1,
  Configure: 2,
  Listeners: 3,
  PruneListeners: 4,
  Unprotect: 5,
  DeleteLoadBalancers: 6,
  DeleteTargetGroups: 7,
  DeleteSecurityGroups: 8,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** A security group of the NLB: the managed one by name (it may not exist yet), or a user's by ID. */
export type SecurityGroupRef = { managed: string } | { id: string };

/** A subnet of the NLB with the fixed addresses it gets there (SubnetMappings). */
export interface SubnetMapping {
  subnetId: string;
  allocationId?: string;
  privateIPv4Address?: string;
  ipv6Address?: string;
}

export type Action = { phase: Phase } & (
  | { op: 'CreateSecurityGroup'; group: Omit<SecurityGroupModel, 'ingress'>; vpcId: string }
  | { op: 'AuthorizeSecurityGroupIngress'; group: string; rules: IngressRule[] }
  | { op: 'RevokeSecurityGroupIngress'; groupId: string; group: string; rules: ObservedRule[] }
  /** Rules on a node security group for a groupless NLB: CIDR sources, described with their Service. */
  | { op: 'AuthorizeDirectIngress'; groupId: string; group: string; rules: ObservedRule[] }
  /** Rules on a node security group, sourced from ferry's backend group (named: it may be created in this apply). */
  | { op: 'AuthorizeBackendIngress'; groupId: string; group: string; backend: SecurityGroupRef; rules: BackendRule[] }
  | { op: 'DeleteSecurityGroup'; groupId: string; group: string }
  /** Tags on a group ferry owns (the backend group's record of what it granted). */
  | { op: 'TagSecurityGroup'; groupId: string; group: string; tags: Record<string, string> }
  | {
      op: 'CreateLoadBalancer';
      name: string;
      scheme: Scheme;
      ipAddressType: IpAddressType;
      subnets: string[];
      /** Instead of `subnets` when the NLB has fixed addresses. */
      subnetMappings?: SubnetMapping[];
      securityGroups: SecurityGroupRef[];
      tags: Record<string, string>;
    }
  | { op: 'ModifyLoadBalancerAttributes'; loadBalancer: string; attributes: Record<string, string> }
  | { op: 'SetSubnets'; loadBalancer: string; subnets: string[]; subnetMappings?: SubnetMapping[] }
  | { op: 'SetSecurityGroups'; loadBalancer: string; securityGroups: SecurityGroupRef[] }
  | { op: 'SetIpAddressType'; loadBalancer: string; ipAddressType: IpAddressType }
  | { op: 'DeleteLoadBalancer'; loadBalancer: string }
  | { op: 'CreateTargetGroup'; group: Omit<TargetGroupModel, 'targets' | 'attributes'>; vpcId: string }
  | { op: 'ModifyTargetGroup'; targetGroup: string; healthCheck: HealthCheck }
  | { op: 'ModifyTargetGroupAttributes'; targetGroup: string; attributes: Record<string, string> }
  | { op: 'RegisterTargets'; targetGroup: string; targets: Target[] }
  | { op: 'DeregisterTargets'; targetGroup: string; targets: Target[] }
  | { op: 'DeleteTargetGroup'; targetGroup: string }
  /** `resource`: a load balancer's or target group's name, or `<load balancer>:<port>` for a listener. */
  | { op: 'AddTags'; kind: 'loadBalancer' | 'targetGroup' | 'listener'; resource: string; tags: Record<string, string> }
  | { op: 'RemoveTags'; kind: 'loadBalancer' | 'targetGroup'; resource: string; keys: string[] }
  | { op: 'CreateListener'; loadBalancer: string; listener: ListenerModel }
  | { op: 'ModifyListener'; loadBalancer: string; listener: ListenerModel }
  | { op: 'ModifyListenerAttributes'; loadBalancer: string; port: number; attributes: Record<string, string> }
  | { op: 'AddListenerCertificates'; loadBalancer: string; port: number; certificates: string[] }
  | { op: 'RemoveListenerCertificates'; loadBalancer: string; port: number; certificates: string[] }
  | { op: 'DeleteListener'; loadBalancer: string; port: number }
);

export type ActionOf<K extends Action['op']> = Extract<Action, { op: K }>;

/** One line per action, for `ferry reconcile` and the logs. */
export function describeAction(a: Action): string {
  switch (a.op) {
    case 'CreateSecurityGroup':
      return `create security group ${a.group.name} in ${a.vpcId}`;
    case 'AuthorizeSecurityGroupIngress':
      return `allow ${a.rules.map((r) => `${r.protocol}/${r.port} from ${r.cidr}`).join(', ')} on ${a.group}`;
    case 'RevokeSecurityGroupIngress':
      return `revoke ${a.rules.map((r) => `${r.protocol}/${r.fromPort}-${r.toPort} from ${r.cidr ?? r.sourceGroup}`).join(', ')} on ${a.group}`;
    case 'AuthorizeDirectIngress':
      return `allow ${a.rules.map((r) => `${r.protocol}/${r.fromPort} from ${r.cidr}`).join(', ')} on node group ${a.group} (${a.groupId})`;
    case 'AuthorizeBackendIngress':
      return `allow ${a.rules.map((r) => `${r.protocol}/${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`}`).join(', ')} from ${'id' in a.backend ? a.backend.id : a.backend.managed} on node group ${a.group} (${a.groupId})`;
    case 'DeleteSecurityGroup':
      return `delete security group ${a.group} (${a.groupId})`;
    case 'TagSecurityGroup':
      return `tag security group ${a.group} (${a.groupId}) ${formatMap(a.tags)}`;
    case 'CreateLoadBalancer':
      return `create ${a.scheme} load balancer ${a.name} in ${a.subnets.join(', ')}${a.subnetMappings?.some(hasAddress) ? ` at ${a.subnetMappings.map(addressOf).filter(Boolean).join(', ')}` : ''}`;
    case 'ModifyLoadBalancerAttributes':
      return `set ${formatMap(a.attributes)} on ${a.loadBalancer}`;
    case 'SetSubnets':
      return `move ${a.loadBalancer} to subnets ${a.subnets.join(', ')}`;
    case 'SetSecurityGroups':
      return `set security groups of ${a.loadBalancer} to ${a.securityGroups.map((g) => ('id' in g ? g.id : g.managed)).join(', ')}`;
    case 'SetIpAddressType':
      return `set ip address type of ${a.loadBalancer} to ${a.ipAddressType}`;
    case 'DeleteLoadBalancer':
      return `delete load balancer ${a.loadBalancer}`;
    case 'CreateTargetGroup':
      return `create ${a.group.protocol} target group ${a.group.name} (${a.group.targetType}, port ${a.group.port})`;
    case 'ModifyTargetGroup':
      return `update health check of ${a.targetGroup}`;
    case 'ModifyTargetGroupAttributes':
      return `set ${formatMap(a.attributes)} on ${a.targetGroup}`;
    case 'RegisterTargets':
      return `register ${a.targets.length} target(s) with ${a.targetGroup}`;
    case 'DeregisterTargets':
      return `deregister ${a.targets.length} target(s) from ${a.targetGroup}`;
    case 'DeleteTargetGroup':
      return `delete target group ${a.targetGroup}`;
    case 'AddTags':
      return `tag ${a.resource} with ${formatMap(a.tags)}`;
    case 'RemoveTags':
      return `remove tags ${a.keys.join(', ')} from ${a.resource}`;
    case 'CreateListener':
      return `create ${a.listener.protocol} listener ${a.listener.port} on ${a.loadBalancer} → ${a.listener.targetGroup}`;
    case 'ModifyListener':
      return `point ${a.listener.protocol} listener ${a.listener.port} of ${a.loadBalancer} at ${a.listener.targetGroup}`;
    case 'ModifyListenerAttributes':
      return `set ${formatMap(a.attributes)} on listener ${a.port} of ${a.loadBalancer}`;
    case 'AddListenerCertificates':
      return `add ${a.certificates.length} certificate(s) to listener ${a.port} of ${a.loadBalancer}`;
    case 'RemoveListenerCertificates':
      return `remove ${a.certificates.length} certificate(s) from listener ${a.port} of ${a.loadBalancer}`;
    case 'DeleteListener':
      return `delete listener ${a.port} of ${a.loadBalancer}`;
  }
}

function hasAddress(m: SubnetMapping): boolean {
  return addressOf(m) !== '';
}

function addressOf(m: SubnetMapping): string {
  return [m.allocationId, m.privateIPv4Address, m.ipv6Address].filter(Boolean).join('+');
}

function formatMap(m: Record<string, string>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
