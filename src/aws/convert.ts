import type { IpPermission, SecurityGroup as Ec2SecurityGroup, Subnet as Ec2Subnet, Tag as Ec2Tag } from '@aws-sdk/client-ec2';
import type {
  LoadBalancer,
  TargetGroup,
  TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { compareTargets } from '../model/targets';
import type { HealthCheck, Subnet, Target } from '../model/types';
import type { ObservedLoadBalancer, ObservedRule, ObservedSecurityGroup, ObservedTargetGroup } from '../model/observed';

/** SDK shapes → ferry's observed shapes. */

export function toTags(tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function toLoadBalancer(lb: LoadBalancer, tags: Record<string, string>): Omit<ObservedLoadBalancer, 'listeners'> {
  return {
    arn: lb.LoadBalancerArn!,
    name: lb.LoadBalancerName!,
    dnsName: lb.DNSName ?? '',
    type: lb.Type ?? '',
    scheme: lb.Scheme ?? '',
    vpcId: lb.VpcId ?? '',
    ipAddressType: lb.IpAddressType ?? 'ipv4',
    subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!).sort(),
    securityGroups: [...(lb.SecurityGroups ?? [])].sort(),
    tags,
  };
}

export function toTargetGroup(g: TargetGroup, tags: Record<string, string>): ObservedTargetGroup {
  return {
    arn: g.TargetGroupArn!,
    name: g.TargetGroupName!,
    protocol: g.Protocol ?? '',
    port: g.Port ?? 0,
    targetType: g.TargetType ?? '',
    vpcId: g.VpcId ?? '',
    loadBalancerArns: g.LoadBalancerArns ?? [],
    healthCheck: toHealthCheck(g),
    tags,
  };
}

export function toHealthCheck(g: TargetGroup): HealthCheck {
  const protocol = (g.HealthCheckProtocol ?? 'TCP') as HealthCheck['protocol'];
  const http = protocol !== 'TCP';
  const port = g.HealthCheckPort === undefined || g.HealthCheckPort === 'traffic-port' ? 'traffic-port' : Number(g.HealthCheckPort);
  return {
    protocol,
    port,
    ...(http && g.HealthCheckPath !== undefined ? { path: g.HealthCheckPath } : {}),
    ...(http && g.Matcher?.HttpCode !== undefined ? { successCodes: g.Matcher.HttpCode } : {}),
    intervalSeconds: g.HealthCheckIntervalSeconds ?? 0,
    timeoutSeconds: g.HealthCheckTimeoutSeconds ?? 0,
    healthyThreshold: g.HealthyThresholdCount ?? 0,
    unhealthyThreshold: g.UnhealthyThresholdCount ?? 0,
  };
}

export function toTargets(descriptions: readonly TargetHealthDescription[] | undefined): Target[] {
  return (descriptions ?? [])
    // A draining target is on its way out; counting it as registered would skip re-registering it.
    .filter((d) => d.TargetHealth?.State !== 'draining')
    .map((d) => ({ id: d.Target!.Id!, port: d.Target!.Port ?? 0 }))
    .sort(compareTargets);
}

export function toSecurityGroup(g: Ec2SecurityGroup): ObservedSecurityGroup {
  return { id: g.GroupId!, name: g.GroupName ?? '', vpcId: g.VpcId ?? '', tags: toTags(g.Tags), ingress: toRules(g.IpPermissions) };
}

export function healthyCount(descriptions: readonly TargetHealthDescription[] | undefined): number {
  return (descriptions ?? []).filter((d) => d.TargetHealth?.State === 'healthy').length;
}

export function toRules(permissions: readonly IpPermission[] | undefined): ObservedRule[] {
  const rules: ObservedRule[] = [];
  for (const p of permissions ?? []) {
    const base = { protocol: p.IpProtocol ?? '-1', fromPort: p.FromPort ?? -1, toPort: p.ToPort ?? -1 };
    const described = (d: string | undefined) => (d ? { description: d } : {});
    for (const r of p.IpRanges ?? []) rules.push({ ...base, cidr: r.CidrIp!, ...described(r.Description) });
    for (const r of p.Ipv6Ranges ?? []) rules.push({ ...base, cidr: r.CidrIpv6!.toLowerCase(), ...described(r.Description) });
    for (const g of p.UserIdGroupPairs ?? []) if (g.GroupId) rules.push({ ...base, sourceGroup: g.GroupId, ...described(g.Description) });
  }
  return rules;
}

export function toSubnet(s: Ec2Subnet): Subnet {
  return {
    id: s.SubnetId!,
    vpcId: s.VpcId ?? '',
    availabilityZone: s.AvailabilityZone ?? '',
    cidr: s.CidrBlock ?? '',
    ...(s.Ipv6CidrBlockAssociationSet?.length
      ? { ipv6Cidrs: s.Ipv6CidrBlockAssociationSet.filter((a) => a.Ipv6CidrBlockState?.State !== 'disassociated').map((a) => a.Ipv6CidrBlock!) }
      : {}),
    tags: toTags(s.Tags as Ec2Tag[] | undefined),
  };
}
