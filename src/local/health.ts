/**
 * Target health as a user reads it: DescribeTargetHealth for each of a load balancer's
 * target groups, through the real SDK, with each target named by its Node.
 */
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from '../aws/clients';

export interface TargetHealthRow {
  /** The listener in front of the group: `TCP:80`. */
  listener: string;
  targetGroup: string;
  targetGroupArn: string;
  target: string;
  node: string | undefined;
  port: number;
  state: string;
  reason: string | undefined;
  description: string | undefined;
}

/** Every target of the load balancer with this DNS name, by listener port; empty when there is no such load balancer. */
export async function targetHealth(aws: AwsClients, dnsName: string, nodeOf: (target: string) => string | undefined): Promise<TargetHealthRow[]> {
  const lbs = await aws.elbv2.send(new DescribeLoadBalancersCommand({}));
  const lb = lbs.LoadBalancers?.find((l) => l.DNSName === dnsName);
  if (!lb) return [];
  const [listeners, groups] = await Promise.all([
    aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn })),
    aws.elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn })),
  ]);
  const listenerOf = new Map<string, { port: number; protocol: string }>();
  for (const l of listeners.Listeners ?? []) {
    const tg = l.DefaultActions?.find((a) => a.TargetGroupArn)?.TargetGroupArn;
    if (tg) listenerOf.set(tg, { port: l.Port ?? 0, protocol: l.Protocol ?? '' });
  }
  const rows: TargetHealthRow[] = [];
  const ordered = [...(groups.TargetGroups ?? [])].sort((a, b) => (listenerOf.get(a.TargetGroupArn!)?.port ?? 0) - (listenerOf.get(b.TargetGroupArn!)?.port ?? 0));
  for (const tg of ordered) {
    const health = await aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    const listener = listenerOf.get(tg.TargetGroupArn!);
    for (const d of health.TargetHealthDescriptions ?? []) {
      const id = d.Target?.Id ?? '';
      rows.push({
        listener: listener ? `${listener.protocol}:${listener.port}` : '-',
        targetGroup: tg.TargetGroupName ?? '',
        targetGroupArn: tg.TargetGroupArn ?? '',
        target: id,
        node: nodeOf(id),
        port: d.Target?.Port ?? 0,
        state: d.TargetHealth?.State ?? 'unknown',
        reason: d.TargetHealth?.Reason,
        description: d.TargetHealth?.Description,
      });
    }
  }
  return rows.sort((a, b) => a.listener.localeCompare(b.listener) || (a.node ?? a.target).localeCompare(b.node ?? b.target));
}

/** One line per listener: `TCP:80 → node-0 healthy · node-1 unhealthy (Target.Timeout: Request timed out)`. */
export function formatHealth(rows: readonly TargetHealthRow[]): string[] {
  const byListener = new Map<string, TargetHealthRow[]>();
  for (const row of rows) byListener.set(row.listener, [...(byListener.get(row.listener) ?? []), row]);
  if (byListener.size === 0) return ['(no targets)'];
  return [...byListener].map(([listener, targets]) => `${listener.padEnd(8)} → ${targets.map(describeTarget).join(' · ')}`);
}

export function describeTarget(row: Pick<TargetHealthRow, 'node' | 'target' | 'state' | 'reason' | 'description'>): string {
  const who = row.node ?? row.target;
  if (row.state === 'healthy' || !row.reason) return `${who} ${row.state}`;
  return `${who} ${row.state} (${row.reason}${row.description ? `: ${row.description}` : ''})`;
}
