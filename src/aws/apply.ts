import type { IpPermission } from '@aws-sdk/client-ec2';
import {
  AddListenerCertificatesCommand,
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  ModifyListenerAttributesCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  RemoveListenerCertificatesCommand,
  RemoveTagsCommand,
  SetIpAddressTypeCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type Action as ElbAction,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeAction, type Action, type ActionOf, type SecurityGroupRef, type SubnetMapping } from '../plan/actions';
import { OwnershipError } from '../errors';
import { TAG_CLUSTER, ownedByCluster } from '../model/tags';
import { toTags } from './convert';
import type { HealthCheck, ListenerModel } from '../model/types';
import { settleAll } from '../util/limit';
import type { AwsClients } from './clients';
import { ec2Sdk } from './lazy-sdk';
import { awsErrorCode, classifyAwsError } from './errors';
import type { ObservedRule, ObservedState } from '../model/observed';

export interface ApplyResult {
  /** DNS names of the load balancers by name, as they stand after the apply. */
  dnsNames: Map<string, string>;
  /** Target group ARNs by name, as they stand after the apply. */
  targetGroupArns: ReadonlyMap<string, string>;
  /** Actions that completed, in the order they finished. */
  done: Action[];
}

/**
 * Runs the planned actions: phase by phase, the actions of one phase concurrently (as many
 * calls at once as the clients' scope allows). A failure stops the apply after the calls of
 * its phase have settled; what is done stays done and the next reconcile observes it and
 * plans the rest (every name is deterministic and every resource is tagged when created, so
 * nothing is lost track of). Completed actions are pushed to `done` as they finish, so that
 * a caller sees them when the apply fails too.
 */
export async function apply(aws: AwsClients, actions: readonly Action[], observed: ObservedState, done: Action[] = []): Promise<ApplyResult> {
  const ids = new Registry(observed);
  const phases = [...new Set(actions.map((a) => a.phase))].sort((a, b) => a - b);
  for (const phase of phases) {
    await settleAll(
      actions.filter((a) => a.phase === phase),
      async (action) => {
        try {
          await run(aws, action, ids);
        } catch (err) {
          throw classifyAwsError(err, describeAction(action));
        }
        done.push(action);
      },
    );
  }
  return { dnsNames: ids.dnsNames, targetGroupArns: ids.targetGroups, done };
}

/** Names → ARNs and IDs, from the observation and from what this apply creates. */
class Registry {
  readonly loadBalancers = new Map<string, string>();
  readonly dnsNames = new Map<string, string>();
  readonly targetGroups = new Map<string, string>();
  readonly securityGroups = new Map<string, string>();
  readonly listeners = new Map<string, string>();

  constructor(observed: ObservedState) {
    for (const lb of observed.loadBalancers) {
      this.loadBalancers.set(lb.name, lb.arn);
      this.dnsNames.set(lb.name, lb.dnsName);
      for (const l of lb.listeners) this.listeners.set(`${lb.name}:${l.port}`, l.arn);
    }
    for (const tg of observed.targetGroups) this.targetGroups.set(tg.name, tg.arn);
    for (const sg of observed.securityGroups) this.securityGroups.set(sg.name, sg.id);
  }

  lb(name: string): string {
    return need(this.loadBalancers.get(name), 'load balancer', name);
  }

  tg(name: string): string {
    return need(this.targetGroups.get(name), 'target group', name);
  }

  listener(loadBalancer: string, port: number): string {
    return need(this.listeners.get(`${loadBalancer}:${port}`), 'listener', `${loadBalancer}:${port}`);
  }

  sg(ref: SecurityGroupRef): string {
    return 'id' in ref ? ref.id : need(this.securityGroups.get(ref.managed), 'security group', ref.managed);
  }
}

function need(value: string | undefined, kind: string, name: string): string {
  // Only reachable if the planner emitted an action before the one creating its resource.
  if (value === undefined) throw new Error(`internal: ${kind} ${name} is not known to this apply`);
  return value;
}

async function run(aws: AwsClients, a: Action, ids: Registry): Promise<void> {
  switch (a.op) {
    case 'CreateSecurityGroup': {
      try {
        const out = await aws.ec2.send(
          new (ec2Sdk().CreateSecurityGroupCommand)({
            GroupName: a.group.name,
            Description: a.group.description,
            VpcId: a.vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList(a.group.tags) }],
          }),
        );
        ids.securityGroups.set(a.group.name, out.GroupId!);
      } catch (err) {
        // The backend group is shared: another Service's reconcile may have just made it.
        if (awsErrorCode(err) !== 'InvalidGroup.Duplicate') throw err;
        ids.securityGroups.set(a.group.name, await ownedGroupId(aws, a.group.name, a.vpcId, a.group.tags));
      }
      return;
    }
    case 'AuthorizeSecurityGroupIngress':
      return tolerate(
        aws.ec2.send(
          new (ec2Sdk().AuthorizeSecurityGroupIngressCommand)({
            GroupId: ids.sg({ managed: a.group }),
            IpPermissions: permissions(a.rules.map((r) => ({ protocol: r.protocol, fromPort: r.port, toPort: r.port, cidr: r.cidr }))),
          }),
        ),
        'InvalidPermission.Duplicate',
      );
    case 'AuthorizeDirectIngress':
      return tolerate(
        aws.ec2.send(new (ec2Sdk().AuthorizeSecurityGroupIngressCommand)({ GroupId: a.groupId, IpPermissions: permissions(a.rules) })),
        'InvalidPermission.Duplicate',
      );
    case 'AuthorizeBackendIngress':
      return tolerate(
        aws.ec2.send(
          new (ec2Sdk().AuthorizeSecurityGroupIngressCommand)({
            GroupId: a.groupId,
            IpPermissions: permissions(
              a.rules.map((r) => ({ ...r, sourceGroup: ids.sg(a.backend) })),
              'ferry: from the Network Load Balancers of this cluster',
            ),
          }),
        ),
        'InvalidPermission.Duplicate',
      );
    case 'RevokeSecurityGroupIngress':
      return tolerate(
        aws.ec2.send(new (ec2Sdk().RevokeSecurityGroupIngressCommand)({ GroupId: a.groupId, IpPermissions: permissions(a.rules) })),
        'InvalidPermission.NotFound',
      );
    case 'TagSecurityGroup':
      await aws.ec2.send(new (ec2Sdk().CreateTagsCommand)({ Resources: [a.groupId], Tags: tagList(a.tags) }));
      return;
    case 'DeleteSecurityGroup':
      return tolerate(aws.ec2.send(new (ec2Sdk().DeleteSecurityGroupCommand)({ GroupId: a.groupId })), 'InvalidGroup.NotFound');
    case 'CreateLoadBalancer': {
      const out = await aws.elbv2.send(
        new CreateLoadBalancerCommand({
          Name: a.name,
          Type: 'network',
          Scheme: a.scheme,
          IpAddressType: a.ipAddressType,
          ...(a.subnetMappings ? { SubnetMappings: a.subnetMappings.map(subnetMapping) } : { Subnets: a.subnets }),
          SecurityGroups: a.securityGroups.map((g) => ids.sg(g)),
          Tags: tagList(a.tags),
        }),
      );
      const lb = out.LoadBalancers![0]!;
      ids.loadBalancers.set(a.name, lb.LoadBalancerArn!);
      ids.dnsNames.set(a.name, lb.DNSName ?? '');
      return;
    }
    case 'ModifyLoadBalancerAttributes':
      await aws.elbv2.send(
        new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: ids.lb(a.loadBalancer), Attributes: attributeList(a.attributes) }),
      );
      return;
    case 'SetSubnets':
      await aws.elbv2.send(
        new SetSubnetsCommand({
          LoadBalancerArn: ids.lb(a.loadBalancer),
          ...(a.subnetMappings ? { SubnetMappings: a.subnetMappings.map(subnetMapping) } : { Subnets: a.subnets }),
        }),
      );
      return;
    case 'SetSecurityGroups':
      await aws.elbv2.send(
        new SetSecurityGroupsCommand({ LoadBalancerArn: ids.lb(a.loadBalancer), SecurityGroups: a.securityGroups.map((g) => ids.sg(g)) }),
      );
      return;
    case 'SetIpAddressType':
      await aws.elbv2.send(new SetIpAddressTypeCommand({ LoadBalancerArn: ids.lb(a.loadBalancer), IpAddressType: a.ipAddressType }));
      return;
    case 'DeleteLoadBalancer':
      await aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: ids.lb(a.loadBalancer) }));
      return;
    case 'CreateTargetGroup': {
      const g = a.group;
      const out = await aws.elbv2.send(
        new CreateTargetGroupCommand({
          Name: g.name,
          Protocol: g.protocol,
          Port: g.port,
          VpcId: a.vpcId,
          TargetType: g.targetType,
          IpAddressType: 'ipv4',
          HealthCheckEnabled: true,
          ...healthCheckParams(g.healthCheck),
          Tags: tagList(g.tags),
        }),
      );
      ids.targetGroups.set(g.name, out.TargetGroups![0]!.TargetGroupArn!);
      return;
    }
    case 'ModifyTargetGroup':
      await aws.elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: ids.tg(a.targetGroup), ...healthCheckParams(a.healthCheck) }));
      return;
    case 'ModifyTargetGroupAttributes':
      await aws.elbv2.send(
        new ModifyTargetGroupAttributesCommand({ TargetGroupArn: ids.tg(a.targetGroup), Attributes: attributeList(a.attributes) }),
      );
      return;
    case 'RegisterTargets':
      await aws.elbv2.send(
        new RegisterTargetsCommand({ TargetGroupArn: ids.tg(a.targetGroup), Targets: a.targets.map((t) => ({ Id: t.id, Port: t.port })) }),
      );
      return;
    case 'DeregisterTargets':
      await aws.elbv2.send(
        new DeregisterTargetsCommand({ TargetGroupArn: ids.tg(a.targetGroup), Targets: a.targets.map((t) => ({ Id: t.id, Port: t.port })) }),
      );
      return;
    case 'DeleteTargetGroup':
      return tolerate(aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: ids.tg(a.targetGroup) })), 'TargetGroupNotFound');
    case 'AddTags':
      await aws.elbv2.send(new AddTagsCommand({ ResourceArns: [resourceArn(a, ids)], Tags: tagList(a.tags) }));
      return;
    case 'RemoveTags':
      await aws.elbv2.send(new RemoveTagsCommand({ ResourceArns: [resourceArn(a, ids)], TagKeys: a.keys }));
      return;
    case 'CreateListener': {
      const out = await aws.elbv2.send(
        new CreateListenerCommand({ LoadBalancerArn: ids.lb(a.loadBalancer), ...listenerParams(a.listener, ids), Tags: tagList(a.listener.tags) }),
      );
      ids.listeners.set(`${a.loadBalancer}:${a.listener.port}`, out.Listeners![0]!.ListenerArn!);
      return;
    }
    case 'ModifyListener':
      await aws.elbv2.send(
        new ModifyListenerCommand({ ListenerArn: ids.listener(a.loadBalancer, a.listener.port), ...listenerParams(a.listener, ids, true) }),
      );
      return;
    case 'ModifyListenerAttributes':
      await aws.elbv2.send(
        new ModifyListenerAttributesCommand({ ListenerArn: ids.listener(a.loadBalancer, a.port), Attributes: attributeList(a.attributes) }),
      );
      return;
    case 'AddListenerCertificates':
      await aws.elbv2.send(
        new AddListenerCertificatesCommand({
          ListenerArn: ids.listener(a.loadBalancer, a.port),
          Certificates: a.certificates.map((c) => ({ CertificateArn: c })),
        }),
      );
      return;
    case 'RemoveListenerCertificates':
      await aws.elbv2.send(
        new RemoveListenerCertificatesCommand({
          ListenerArn: ids.listener(a.loadBalancer, a.port),
          Certificates: a.certificates.map((c) => ({ CertificateArn: c })),
        }),
      );
      return;
    case 'DeleteListener':
      return tolerate(aws.elbv2.send(new DeleteListenerCommand({ ListenerArn: ids.listener(a.loadBalancer, a.port) })), 'ListenerNotFound');
  }
}

/** Treats one AWS error code as success: the call's goal is already met. */
async function tolerate(call: Promise<unknown>, code: string): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (awsErrorCode(err) !== code) throw err;
  }
}

function resourceArn(a: ActionOf<'AddTags'> | ActionOf<'RemoveTags'>, ids: Registry): string {
  if (a.kind === 'listener') {
    const at = a.resource.lastIndexOf(':');
    return ids.listener(a.resource.slice(0, at), Number(a.resource.slice(at + 1)));
  }
  return a.kind === 'loadBalancer' ? ids.lb(a.resource) : ids.tg(a.resource);
}

function tagList(tags: Record<string, string>) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function attributeList(attributes: Record<string, string>) {
  return Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));
}

function healthCheckParams(h: HealthCheck) {
  const http = h.protocol !== 'TCP';
  return {
    HealthCheckProtocol: h.protocol,
    HealthCheckPort: String(h.port),
    HealthCheckIntervalSeconds: h.intervalSeconds,
    HealthCheckTimeoutSeconds: h.timeoutSeconds,
    HealthyThresholdCount: h.healthyThreshold,
    UnhealthyThresholdCount: h.unhealthyThreshold,
    ...(http ? { HealthCheckPath: h.path, Matcher: { HttpCode: h.successCodes } } : {}),
  };
}

function listenerParams(l: ListenerModel, ids: Registry, modify = false) {
  const forward: ElbAction = { Type: 'forward', TargetGroupArn: ids.tg(l.targetGroup) };
  return {
    Port: l.port,
    Protocol: l.protocol,
    DefaultActions: [forward],
    ...(l.protocol === 'TLS' ? { Certificates: [{ CertificateArn: l.certificates[0] }], SslPolicy: l.sslPolicy } : {}),
    // A new listener has no ALPN policy unless given one; a modified one must be told "None" to drop its own.
    ...(l.protocol === 'TLS' && (l.alpnPolicy || modify) ? { AlpnPolicy: [l.alpnPolicy ?? 'None'] } : {}),
  };
}

/** EC2 groups rules by protocol and port range; each of ours has one source, a CIDR or a group. */
function permissions(rules: readonly ObservedRule[], description?: string): IpPermission[] {
  return rules.map((r) => ({
    IpProtocol: r.protocol,
    FromPort: r.fromPort,
    ToPort: r.toPort,
    ...source(r, r.description ?? description),
  }));
}

/** A rule's one source; its description kept (moto matches revokes by it, and ferry finds its own rules by it). */
function source(r: ObservedRule, description: string | undefined): Partial<IpPermission> {
  const described = description ? { Description: description } : {};
  if (r.sourceGroup) return { UserIdGroupPairs: [{ GroupId: r.sourceGroup, ...described }] };
  return r.cidr!.includes(':') ? { Ipv6Ranges: [{ CidrIpv6: r.cidr, ...described }] } : { IpRanges: [{ CidrIp: r.cidr, ...described }] };
}

function subnetMapping(m: SubnetMapping) {
  return {
    SubnetId: m.subnetId,
    ...(m.allocationId ? { AllocationId: m.allocationId } : {}),
    ...(m.privateIPv4Address ? { PrivateIPv4Address: m.privateIPv4Address } : {}),
    ...(m.ipv6Address ? { IPv6Address: m.ipv6Address } : {}),
  };
}

/** The ID of a group this cluster owns, by name and VPC; only a group with this cluster's tag will do. */
async function ownedGroupId(aws: AwsClients, name: string, vpcId: string, tags: Record<string, string>): Promise<string> {
  const out = await aws.ec2.send(
    new (ec2Sdk().DescribeSecurityGroupsCommand)({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpcId] }] }),
  );
  const group = out.SecurityGroups?.[0];
  if (!group || !ownedByCluster(toTags(group.Tags), tags[TAG_CLUSTER] ?? '')) {
    throw new OwnershipError(`security group ${name} in ${vpcId} exists but is not tagged ${TAG_CLUSTER}=${tags[TAG_CLUSTER]}; ferry does not touch it`);
  }
  return group.GroupId!;
}
