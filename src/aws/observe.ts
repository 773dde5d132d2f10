import type { Filter } from '@aws-sdk/client-ec2';
import {
  DescribeListenerAttributesCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigError } from '../errors';
import type { BackendRule, Subnet, SubnetSelector } from '../model/types';
import { BACKEND_RESOURCE, grantsAll } from '../model/security';
import { CLUSTER_WIDE, TAG_CLUSTER, TAG_RESOURCE, TAG_SERVICE, ownedByCluster } from '../model/tags';
import { chunk, settleAll } from '../util/limit';
import type { AwsClients } from './clients';
import { ec2Sdk } from './lazy-sdk';
import { awsErrorCode } from './errors';
import type { ObservedListener, ObservedLoadBalancer, ObservedSecurityGroup, ObservedState, ObservedTargetGroup } from '../model/observed';
import { healthyCount, toLoadBalancer, toSecurityGroup, toSubnet, toTags, toTargetGroup, toTargets } from './convert';
import { readNodeGroups, type NodeGroupsRequest } from './observe-backend';

export interface ObserveRequest {
  cluster: string;
  /** `<namespace>/<name>`: the security groups are found by their ownership tags. */
  service: string;
  /** Desired and previously recorded names: the NLB is found by name, never by listing the region. */
  loadBalancerNames: string[];
  targetGroupNames: string[];
  /** Resolve the model's subnets (full scope, non-empty model). */
  subnets?: { selector: SubnetSelector; vpcId?: string };
  /** Read registered targets (DescribeTargetHealth); skipped when the checkpoint says they have not changed. */
  readTargets: boolean;
  /**
   * Read listeners and target group attributes. Deleting needs neither: it needs only what
   * exists, its tags, and the load balancers' attributes (deletion protection).
   */
  details: boolean;
  /** An adoption: the listeners' tags are read too (they need ferry's before it may change them). */
  adopting?: boolean;
  /** Read the ports of listeners whose attributes the model sets (one call each). */
  listenerAttributes?: number[];
  /** Read ferry's backend groups and the target nodes' groups (the model manages backend rules). */
  backend?: NodeGroupsRequest & {
    /**
     * Skip the nodes' groups when the backend group records that every node group admits
     * these rules already (GRANTED_TAG): two EC2 reads fewer for a Service created or changed.
     */
    unlessGranted?: readonly BackendRule[];
  };
}

/**
 * Reads everything AWS holds for one Service with the fewest calls: each load balancer by
 * name (one DescribeLoadBalancers), its listeners and target groups, any recorded or desired
 * target group not behind it by name, tags in batches of 20, attributes, target health only
 * when asked, the security groups by one tag-filtered DescribeSecurityGroups.
 */
export async function observe(aws: AwsClients, request: ObserveRequest): Promise<ObservedState> {
  const selector = request.subnets?.selector;
  const backendRequest = request.backend;
  const groupsRead = findSecurityGroups(aws, request.cluster, request.service);
  const [found, resolved, groups, nodeGroups] = await Promise.all([
    findLoadBalancers(aws, request.loadBalancerNames),
    selector && selector.kind !== 'current' ? resolveSubnets(aws, selector, request.subnets!.vpcId) : undefined,
    groupsRead,
    backendRequest
      ? backendRequest.unlessGranted
        ? groupsRead.then((gs) => (gs.some((g) => g.tags[TAG_RESOURCE] === BACKEND_RESOURCE && grantsAll(g.tags, backendRequest.unlessGranted!)) ? { groups: [], untagged: [] } : readNodeGroups(aws, backendRequest)))
        : readNodeGroups(aws, backendRequest)
      : undefined,
  ]);
  // An adopted load balancer keeps its subnets: they are read once it is found (desired name first).
  const adopted = selector?.kind === 'current' ? found.find((lb) => lb.LoadBalancerName === request.loadBalancerNames[0]) : undefined;
  const subnets =
    selector?.kind === 'current'
      ? adopted
        ? await resolveSubnets(aws, { kind: 'explicit', ids: (adopted.AvailabilityZones ?? []).map((z) => z.SubnetId!), names: [] }, undefined)
        : []
      : resolved;
  const securityGroups = groups.filter((g) => g.tags[TAG_SERVICE] === request.service);
  const backend = nodeGroups
    ? { groups: groups.filter((g) => g.tags[TAG_RESOURCE] === BACKEND_RESOURCE), nodeGroups: nodeGroups.groups, untaggedNodes: nodeGroups.untagged }
    : undefined;

  const behind = await settleAll(found, async (lb) => {
    const [listeners, groups, attributes] = await Promise.all([
      request.details ? describeListeners(aws, lb.LoadBalancerArn!) : [],
      aws.elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn })),
      aws.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn })),
    ]);
    return { lb, listeners, groups: groups.TargetGroups ?? [], attributes: toTags(attributes.Attributes) };
  });

  const groupsByArn = new Map<string, TargetGroup>();
  for (const b of behind) for (const g of b.groups) groupsByArn.set(g.TargetGroupArn!, g);
  const knownNames = new Set([...groupsByArn.values()].map((g) => g.TargetGroupName));
  const missing = request.targetGroupNames.filter((n) => !knownNames.has(n));
  for (const g of await findTargetGroups(aws, missing)) groupsByArn.set(g.TargetGroupArn!, g);

  const listenerArns = request.adopting ? behind.flatMap((b) => b.listeners.map((l) => l.arn)) : [];
  const tags = await describeTags(aws, [...found.map((lb) => lb.LoadBalancerArn!), ...groupsByArn.keys(), ...listenerArns]);
  for (const l of behind.flatMap((b) => b.listeners)) if (tags.has(l.arn)) l.tags = tags.get(l.arn);
  const targetGroups = await readTargetGroups(aws, [...groupsByArn.values()], tags, request, request.details);
  await Promise.all([
    readAdditionalCertificates(aws, behind.flatMap((b) => b.listeners)),
    readListenerAttributes(aws, behind.flatMap((b) => b.listeners).filter((l) => request.listenerAttributes?.includes(l.port))),
  ]);

  const loadBalancers: ObservedLoadBalancer[] = behind.map((b) => ({
    ...toLoadBalancer(b.lb, tags.get(b.lb.LoadBalancerArn!) ?? {}),
    attributes: b.attributes,
    listeners: b.listeners,
  }));
  return { scope: 'full', ...(subnets ? { subnets } : {}), loadBalancers, targetGroups, securityGroups, ...(backend ? { backend } : {}) };
}

/**
 * The narrow observation for a checkpoint that says only targets changed: the target groups
 * by their names in one call, their tags and their registrations. Returns undefined when a
 * target group is missing, so the caller falls back to a full observation.
 */
export async function observeTargets(aws: AwsClients, request: ObserveRequest): Promise<ObservedState | undefined> {
  let groups: TargetGroup[];
  try {
    groups = (await aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: request.targetGroupNames }))).TargetGroups ?? [];
  } catch (err) {
    if (awsErrorCode(err) === 'TargetGroupNotFound') return undefined;
    throw err;
  }
  const tags = await describeTags(aws, groups.map((g) => g.TargetGroupArn!));
  const targetGroups = await readTargetGroups(aws, groups, tags, { ...request, readTargets: true }, false);
  return { scope: 'targets', loadBalancers: [], targetGroups, securityGroups: [] };
}

async function findLoadBalancers(aws: AwsClients, names: readonly string[]) {
  const found = await settleAll([...new Set(names)], async (name) => {
    try {
      const out = await aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }));
      return out.LoadBalancers ?? [];
    } catch (err) {
      if (awsErrorCode(err) === 'LoadBalancerNotFound') return [];
      throw err;
    }
  });
  return found.flat();
}

async function findTargetGroups(aws: AwsClients, names: readonly string[]): Promise<TargetGroup[]> {
  const found = await settleAll([...new Set(names)], async (name) => {
    try {
      return (await aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [name] }))).TargetGroups ?? [];
    } catch (err) {
      if (awsErrorCode(err) === 'TargetGroupNotFound') return [];
      throw err;
    }
  });
  return found.flat();
}

/** A load balancer's listeners, all pages, sorted by port. */
export async function describeListeners(aws: AwsClients, loadBalancerArn: string): Promise<ObservedListener[]> {
  const listeners: ObservedListener[] = [];
  let marker: string | undefined;
  do {
    const out = await aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn, Marker: marker }));
    for (const l of out.Listeners ?? []) {
      const forward = l.DefaultActions?.find((a) => a.Type === 'forward');
      listeners.push({
        arn: l.ListenerArn!,
        port: l.Port ?? 0,
        protocol: l.Protocol ?? '',
        targetGroupArn: forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn,
        certificates: (l.Certificates ?? []).map((c) => c.CertificateArn!),
        sslPolicy: l.SslPolicy,
        alpnPolicy: l.AlpnPolicy?.[0],
      });
    }
    marker = out.NextMarker;
  } while (marker);
  return listeners.sort((a, b) => a.port - b.port);
}

/** A TLS listener's non-default certificates are only visible through DescribeListenerCertificates. */
async function readAdditionalCertificates(aws: AwsClients, listeners: ObservedListener[]): Promise<void> {
  const tls = listeners.filter((l) => l.protocol === 'TLS');
  await settleAll(tls, async (listener) => {
    const out = await aws.elbv2.send(new DescribeListenerCertificatesCommand({ ListenerArn: listener.arn }));
    const extra = (out.Certificates ?? []).filter((c) => !c.IsDefault).map((c) => c.CertificateArn!).sort();
    listener.certificates = [...listener.certificates.slice(0, 1), ...extra];
  });
}

async function readListenerAttributes(aws: AwsClients, listeners: ObservedListener[]): Promise<void> {
  await settleAll(listeners, async (listener) => {
    const out = await aws.elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: listener.arn }));
    listener.attributes = toTags(out.Attributes);
  });
}

async function describeTags(aws: AwsClients, arns: readonly string[]) {
  const tags = new Map<string, Record<string, string>>();
  // DescribeTags takes at most 20 resources per call.
  await settleAll(chunk(arns, 20), async (batch) => {
    const out = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch }));
    for (const d of out.TagDescriptions ?? []) tags.set(d.ResourceArn!, toTags(d.Tags));
  });
  return tags;
}

async function readTargetGroups(
  aws: AwsClients,
  groups: readonly TargetGroup[],
  tags: Map<string, Record<string, string>>,
  request: ObserveRequest,
  readAttributes: boolean,
): Promise<ObservedTargetGroup[]> {
  const observed = await settleAll(groups, async (g) => {
    const arn = g.TargetGroupArn!;
    const base = toTargetGroup(g, tags.get(arn) ?? {});
    // Nothing but the ownership check is needed of groups that are not this cluster's.
    if (!ownedByCluster(base.tags, request.cluster)) return base;
    const [attributes, health] = await Promise.all([
      readAttributes
        ? aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))
        : undefined,
      request.readTargets
        ? aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))
        : undefined,
    ]);
    return {
      ...base,
      ...(attributes ? { attributes: toTags(attributes.Attributes) } : {}),
      ...(health ? { targets: toTargets(health.TargetHealthDescriptions), healthy: healthyCount(health.TargetHealthDescriptions) } : {}),
    };
  });
  return observed.sort((a, b) => a.name.localeCompare(b.name));
}

/** The Service's own groups and the cluster's backend groups, in one call (values of one filter are ORed). */
function findSecurityGroups(aws: AwsClients, cluster: string, service: string): Promise<ObservedSecurityGroup[]> {
  return describeSecurityGroups(aws, [
    { Name: `tag:${TAG_CLUSTER}`, Values: [cluster] },
    { Name: `tag:${TAG_SERVICE}`, Values: [service, CLUSTER_WIDE] },
  ]);
}

/** Security groups matching EC2 filters, all pages. */
export async function describeSecurityGroups(aws: AwsClients, filters: Filter[]): Promise<ObservedSecurityGroup[]> {
  const groups: ObservedSecurityGroup[] = [];
  let token: string | undefined;
  do {
    const out = await aws.ec2.send(new (ec2Sdk().DescribeSecurityGroupsCommand)({ Filters: filters, NextToken: token }));
    groups.push(...(out.SecurityGroups ?? []).map(toSecurityGroup));
    token = out.NextToken;
  } while (token);
  return groups.sort((a, b) => a.id.localeCompare(b.id));
}

/** The subnets a selector can choose from; the planner picks one per Availability Zone. */
async function resolveSubnets(
  aws: AwsClients,
  selector: SubnetSelector,
  vpcId: string | undefined,
): Promise<Subnet[]> {
  const vpcFilter: Filter[] = vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [];
  const queries: Array<{ SubnetIds?: string[]; Filters?: Filter[] }> = [];
  if (selector.kind === 'current') return [];
  if (selector.kind === 'discover') {
    queries.push({ Filters: [{ Name: 'tag-key', Values: [selector.roleTag] }, ...vpcFilter] });
  } else {
    if (selector.ids.length > 0) queries.push({ SubnetIds: selector.ids });
    if (selector.names.length > 0) queries.push({ Filters: [{ Name: 'tag:Name', Values: selector.names }, ...vpcFilter] });
  }
  const results = await settleAll(queries, async (query) => {
    const subnets: Subnet[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await aws.ec2.send(new (ec2Sdk().DescribeSubnetsCommand)({ ...query, NextToken: token }));
        subnets.push(...(out.Subnets ?? []).map(toSubnet));
        token = out.NextToken;
      } while (token);
    } catch (err) {
      if (awsErrorCode(err) === 'InvalidSubnetID.NotFound') {
        throw new ConfigError(`annotation ferry.io/subnets: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
    return subnets;
  });
  return results.flat().sort((a, b) => a.id.localeCompare(b.id));
}
