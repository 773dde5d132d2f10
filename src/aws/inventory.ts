import {
  DescribeLoadBalancerAttributesCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { TAG_CLUSTER, ownedByCluster } from '../model/tags';
import { chunk, settleAll } from '../util/limit';
import type { AwsClients } from './clients';
import { toLoadBalancer, toTags, toTargetGroup, toTargets } from './convert';
import { describeListeners, describeSecurityGroups } from './observe';
import type { ObservedLoadBalancer, ObservedSecurityGroup, ObservedTargetGroup } from '../model/observed';

export interface Inventory {
  loadBalancers: ObservedLoadBalancer[];
  targetGroups: ObservedTargetGroup[];
  securityGroups: ObservedSecurityGroup[];
}

/**
 * Every resource in the region that carries this cluster's ownership tag. Unlike a
 * reconcile, which finds one Service's resources by name, this lists the whole region: it
 * is for `ferry gc` and for showing what exists, not for the hot path.
 *
 * `details` adds listeners and registered targets (for display); attributes are always read
 * because deletion protection decides what gc may delete.
 */
export async function inventory(aws: AwsClients, cluster: string, details = false): Promise<Inventory> {
  const [lbs, tgs, securityGroups] = await Promise.all([
    collect(paginateDescribeLoadBalancers({ client: aws.elbv2 }, {}), (p) => p.LoadBalancers),
    collect(paginateDescribeTargetGroups({ client: aws.elbv2 }, {}), (p) => p.TargetGroups),
    describeSecurityGroups(aws, [{ Name: `tag:${TAG_CLUSTER}`, Values: [cluster] }]),
  ]);
  const tags = new Map<string, Record<string, string>>();
  const arns = [...lbs.map((l) => l.LoadBalancerArn!), ...tgs.map((t) => t.TargetGroupArn!)];
  await settleAll(chunk(arns, 20), async (batch) => {
    const out = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch }));
    for (const d of out.TagDescriptions ?? []) tags.set(d.ResourceArn!, toTags(d.Tags));
  });
  const owned = <T>(items: T[], arn: (t: T) => string) => items.filter((i) => ownedByCluster(tags.get(arn(i)), cluster));

  const loadBalancers = await settleAll(owned(lbs, (l) => l.LoadBalancerArn!), (lb) => readLoadBalancer(aws, lb, tags, details));
  const targetGroups = await settleAll(owned(tgs, (t) => t.TargetGroupArn!), (tg) => readTargetGroup(aws, tg, tags, details));
  return { loadBalancers, targetGroups, securityGroups };
}

async function readLoadBalancer(
  aws: AwsClients,
  lb: LoadBalancer,
  tags: Map<string, Record<string, string>>,
  details: boolean,
): Promise<ObservedLoadBalancer> {
  const arn = lb.LoadBalancerArn!;
  const [attributes, listeners] = await Promise.all([
    aws.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })),
    details ? describeListeners(aws, arn) : [],
  ]);
  return { ...toLoadBalancer(lb, tags.get(arn) ?? {}), attributes: toTags(attributes.Attributes), listeners };
}

async function readTargetGroup(
  aws: AwsClients,
  tg: TargetGroup,
  tags: Map<string, Record<string, string>>,
  details: boolean,
): Promise<ObservedTargetGroup> {
  const arn = tg.TargetGroupArn!;
  const health = details ? await aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })) : undefined;
  return { ...toTargetGroup(tg, tags.get(arn) ?? {}), ...(health ? { targets: toTargets(health.TargetHealthDescriptions) } : {}) };
}

async function collect<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(items(page) ?? []));
  return out;
}
