import { configuredAttributes } from './sqs-attributes';
import { queueByArn, redrivePolicy } from './sqs-model';
import type { AwsState, HealthCheck, Instance, SecurityGroup, SgRule, Vpc } from './state';
import { tagRecord } from './tags';

/**
 * A normalised, JSON-serialisable view of the whole world for `toEqual` comparisons:
 * generated ids, ARNs and DNS names are replaced by stable names (VPCs and instances by
 * their Name tag, falling back to CIDR / private IP; security groups, load balancers,
 * target groups by name; subnets by CIDR and zone), and every list is sorted, so two
 * runs that reach the same AWS state by different paths compare equal. Terminated
 * instances are left out: AWS forgets them within the hour.
 *
 * Queues show their configuration (no timestamps, counters or ARNs: the dead-letter
 * queue is named) and their messages by group, oldest first, with body and receive
 * count; messages without a group (standard queues) are under `''`. Secrets show their
 * current (AWSCURRENT) value, base64 for binary ones.
 */
export interface AwsSnapshot {
  readonly vpcs: readonly { name: string; cidr: string; tags: Record<string, string> }[];
  readonly subnets: readonly { vpc: string; cidr: string; availabilityZone: string; tags: Record<string, string> }[];
  readonly securityGroups: readonly {
    name: string;
    vpc: string;
    description: string;
    ingress: string[];
    egress: string[];
    tags: Record<string, string>;
  }[];
  readonly instances: readonly {
    name: string;
    vpc: string;
    subnet: string;
    privateIp: string;
    imageId: string;
    instanceType: string;
    securityGroups: string[];
    tags: Record<string, string>;
  }[];
  readonly loadBalancers: readonly {
    name: string;
    type: string;
    scheme: string;
    ipAddressType: string;
    vpc: string;
    subnets: string[];
    /** Static addresses of the subnet mappings: `<subnet> eip:<name or public IP>`, `<subnet> ipv4:<ip>`, `<subnet> ipv6:<ip>`. */
    addresses: string[];
    securityGroups: string[] | null;
    attributes: Record<string, string>;
    tags: Record<string, string>;
  }[];
  readonly listeners: readonly {
    loadBalancer: string;
    port: number;
    protocol: string;
    targetGroup: string;
    certificates: string[];
    extraCertificates: string[];
    sslPolicy: string | null;
    alpnPolicy: string[] | null;
    attributes: Record<string, string>;
    tags: Record<string, string>;
  }[];
  /** Elastic IPs by Name tag (else public IP), with the load balancer subnet using each. */
  readonly elasticIps: readonly { name: string; usedBy: string | null; tags: Record<string, string> }[];
  readonly targetGroups: readonly {
    name: string;
    protocol: string;
    port: number;
    targetType: string;
    ipAddressType: string;
    vpc: string;
    healthCheck: Omit<HealthCheck, 'path' | 'matcher'> & { path: string | null; matcher: string | null };
    attributes: Record<string, string>;
    tags: Record<string, string>;
    targets: string[];
  }[];
  readonly queues: readonly {
    name: string;
    attributes: Record<string, string>;
    deadLetterQueue: { name: string; maxReceiveCount: number } | null;
    tags: Record<string, string>;
    messages: Record<string, { body: string; receiveCount: number }[]>;
  }[];
  readonly secrets: readonly {
    name: string;
    value: string | null;
    binary: boolean;
    scheduledForDeletion: boolean;
    tags: Record<string, string>;
  }[];
}

function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

export function takeSnapshot(state: AwsState): AwsSnapshot {
  const vpcName = (id: string): string => {
    const vpc: Vpc | undefined = state.vpcs.get(id);
    return vpc ? (vpc.tags.get('Name') ?? vpc.cidr) : id;
  };
  const subnetName = (id: string): string => {
    const subnet = state.subnets.get(id);
    return subnet ? `${subnet.cidr}@${subnet.az}` : id;
  };
  const groupName = (id: string): string => state.securityGroups.get(id)?.name ?? id;
  const instanceName = (instance: Instance): string => instance.tags.get('Name') ?? instance.privateIp;
  const tgName = (arn: string): string => state.targetGroups.get(arn)?.name ?? arn;
  const lbName = (arn: string): string => state.loadBalancers.get(arn)?.name ?? arn;
  const ruleText = (rule: SgRule): string => {
    const ports = rule.protocol === '-1' ? 'all' : rule.fromPort === rule.toPort ? `${rule.fromPort}` : `${rule.fromPort}-${rule.toPort}`;
    const peer = rule.groupId !== undefined ? `sg:${groupName(rule.groupId)}` : (rule.cidrIpv4 ?? rule.cidrIpv6);
    return `${rule.protocol} ${ports} ${peer}${rule.description ? ` "${rule.description}"` : ''}`;
  };
  const live = [...state.instances.values()].filter((i) => i.state === 'running');
  const eipName = (allocationId: string): string => {
    const eip = state.addresses.get(allocationId);
    return eip ? (eip.tags.get('Name') ?? eip.publicIp) : allocationId;
  };

  return {
    vpcs: [...state.vpcs.values()].map((v) => ({ name: vpcName(v.id), cidr: v.cidr, tags: tagRecord(v.tags) })).sort(byKey((v) => `${v.name} ${v.cidr}`)),
    subnets: [...state.subnets.values()]
      .map((s) => ({ vpc: vpcName(s.vpcId), cidr: s.cidr, availabilityZone: s.az, tags: tagRecord(s.tags) }))
      .sort(byKey((s) => `${s.vpc} ${s.cidr}`)),
    securityGroups: [...state.securityGroups.values()]
      .map((g: SecurityGroup) => ({
        name: g.name,
        vpc: vpcName(g.vpcId),
        description: g.description,
        ingress: sorted(g.ingress.map(ruleText)),
        egress: sorted(g.egress.map(ruleText)),
        tags: tagRecord(g.tags),
      }))
      .sort(byKey((g) => `${g.vpc} ${g.name}`)),
    instances: live
      .map((i) => ({
        name: instanceName(i),
        vpc: vpcName(i.vpcId),
        subnet: subnetName(i.subnetId),
        privateIp: i.privateIp,
        imageId: i.imageId,
        instanceType: i.instanceType,
        securityGroups: sorted(i.securityGroupIds.map(groupName)),
        tags: tagRecord(i.tags),
      }))
      .sort(byKey((i) => `${i.name} ${i.privateIp}`)),
    loadBalancers: [...state.loadBalancers.values()]
      .map((lb) => ({
        name: lb.name,
        type: lb.type,
        scheme: lb.scheme,
        ipAddressType: lb.ipAddressType,
        vpc: vpcName(lb.vpcId),
        subnets: sorted(lb.subnets.map((s) => subnetName(s.subnetId))),
        addresses: sorted(
          lb.subnets.flatMap((s) => [
            ...(s.allocationId !== undefined ? [`${subnetName(s.subnetId)} eip:${eipName(s.allocationId)}`] : []),
            ...(s.privateIPv4Address !== undefined ? [`${subnetName(s.subnetId)} ipv4:${s.privateIPv4Address}`] : []),
            ...(s.ipv6Address !== undefined ? [`${subnetName(s.subnetId)} ipv6:${s.ipv6Address}`] : []),
          ]),
        ),
        securityGroups: lb.securityGroupsEnabled ? sorted(lb.securityGroups.map(groupName)) : null,
        attributes: tagRecord(lb.attributes),
        tags: tagRecord(lb.tags),
      }))
      .sort(byKey((lb) => lb.name)),
    listeners: [...state.listeners.values()]
      .map((l) => ({
        loadBalancer: lbName(l.loadBalancerArn),
        port: l.port,
        protocol: l.protocol,
        targetGroup: tgName(l.targetGroupArn),
        certificates: sorted(l.certificates),
        extraCertificates: sorted(l.extraCertificates),
        sslPolicy: l.sslPolicy ?? null,
        alpnPolicy: l.alpnPolicy ?? null,
        attributes: l.attributes ? tagRecord(l.attributes) : {},
        tags: tagRecord(l.tags),
      }))
      .sort(byKey((l) => `${l.loadBalancer} ${String(l.port).padStart(5, '0')}`)),
    targetGroups: [...state.targetGroups.values()]
      .map((tg) => ({
        name: tg.name,
        protocol: tg.protocol,
        port: tg.port,
        targetType: tg.targetType,
        ipAddressType: tg.ipAddressType,
        vpc: vpcName(tg.vpcId),
        healthCheck: { ...tg.healthCheck, path: tg.healthCheck.path ?? null, matcher: tg.healthCheck.matcher ?? null },
        attributes: tagRecord(tg.attributes),
        tags: tagRecord(tg.tags),
        targets: sorted(
          [...tg.targets.values()].map((t) => {
            const instance = tg.targetType === 'instance' ? state.instances.get(t.id) : undefined;
            return `${instance ? instanceName(instance) : t.id}:${t.port}`;
          }),
        ),
      }))
      .sort(byKey((tg) => tg.name)),
    elasticIps: [...state.addresses.values()]
      .map((eip) => {
        const lb = [...state.loadBalancers.values()].find((b) => b.subnets.some((m) => m.allocationId === eip.allocationId));
        const mapping = lb?.subnets.find((m) => m.allocationId === eip.allocationId);
        return { name: eipName(eip.allocationId), usedBy: lb && mapping ? `${lb.name} ${subnetName(mapping.subnetId)}` : null, tags: tagRecord(eip.tags) };
      })
      .sort(byKey((e) => e.name)),
    queues: [...state.queues.values()]
      .map((q) => {
        const policy = redrivePolicy(q);
        const messages: Record<string, { body: string; receiveCount: number }[]> = {};
        for (const m of q.messages) (messages[m.groupId ?? ''] ??= []).push({ body: m.body, receiveCount: m.receiveCount });
        return {
          name: q.name,
          attributes: configuredAttributes(q),
          deadLetterQueue: policy ? { name: queueByArn(state, policy.deadLetterTargetArn)?.name ?? policy.deadLetterTargetArn, maxReceiveCount: policy.maxReceiveCount } : null,
          tags: tagRecord(q.tags),
          messages,
        };
      })
      .sort(byKey((q) => q.name)),
    secrets: [...state.secrets.values()]
      .map((secret) => {
        const current = [...secret.versions.values()].find((v) => v.stages.has('AWSCURRENT'));
        return {
          name: secret.name,
          value: current?.string ?? current?.binary ?? null,
          binary: current?.binary !== undefined,
          scheduledForDeletion: secret.deletedAt !== undefined,
          tags: tagRecord(secret.tags),
        };
      })
      .sort(byKey((secret) => secret.name)),
  };
}
