import {
  DescribeLoadBalancerAttributesCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { TAG_CLUSTER, ownedByCluster } from '../model/tags';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../util/backoff';
import { chunk, settleAll } from '../util/limit';
import type { AwsClients } from './clients';
import { toLoadBalancer, toTags, toTargetGroup, toTargets } from './convert';
import { awsErrorCode, isThrottling } from './errors';
import { taggingSdk } from './lazy-sdk';
import { describeListeners, describeSecurityGroups } from './observe';
import type { Inventory, ObservedLoadBalancer, ObservedTargetGroup } from '../model/observed';

export type { Inventory };

/**
 * How the sweep learns which load balancers and target groups are this cluster's:
 * - `tagging`: the Resource Groups Tagging API, filtered on `ferry.io/cluster` (100 per call,
 *   on its own throttle bucket; the cost grows with ferry's resources only);
 * - `describe-tags`: ELBv2 DescribeTags over every load balancer and target group of the
 *   Region (20 per call, on the ELBv2 read bucket; the cost grows with everyone's resources).
 * `auto` uses the tagging API and falls back to DescribeTags where it is unavailable (an
 * emulator without it, a policy that does not grant `tag:GetResources`).
 */
export type OwnershipSource = 'tagging' | 'describe-tags' | 'auto';

export interface InventoryOptions {
  /** Adds listeners and registered targets (for display); load balancer attributes too. */
  details?: boolean;
  ownership?: OwnershipSource;
}

/**
 * Every load balancer, target group and security group in the Region that carries this
 * cluster's ownership tag, in calls that each cover many resources: DescribeLoadBalancers
 * and DescribeTargetGroups 400 per page, the ownership tags 100 per page, security groups by
 * one tag filter. This is the resync's sweep (drift found across the fleet, orphans for
 * `ferry gc`): at 10,000 two-port Services about 400 calls, where reading each Service
 * would take 90,000.
 *
 * Load balancer attributes, listeners and registrations cannot be read in batches; they are
 * read per resource only with `details`.
 */
export async function inventory(aws: AwsClients, cluster: string, options: InventoryOptions | boolean = {}): Promise<Inventory> {
  const { details = false, ownership = 'auto' } = typeof options === 'boolean' ? { details: options } : options;
  const [lbs, tgs, securityGroups] = await Promise.all([
    collect(paginateDescribeLoadBalancers({ client: aws.elbv2 }, { PageSize: 400 }), (p) => p.LoadBalancers),
    collect(paginateDescribeTargetGroups({ client: aws.elbv2 }, { PageSize: 400 }), (p) => p.TargetGroups),
    describeSecurityGroups(aws, [{ Name: `tag:${TAG_CLUSTER}`, Values: [cluster] }]),
  ]);
  const arns = [...lbs.map((l) => l.LoadBalancerArn!), ...tgs.map((t) => t.TargetGroupArn!)];
  const tags = await ownershipTags(aws, cluster, arns, ownership);
  const owned = <T>(items: T[], arn: (t: T) => string) => items.filter((i) => ownedByCluster(tags.get(arn(i)), cluster));

  const loadBalancers = await settleAll(owned(lbs, (l) => l.LoadBalancerArn!), async (lb): Promise<ObservedLoadBalancer> => {
    const base = { ...toLoadBalancer(lb, tags.get(lb.LoadBalancerArn!) ?? {}), listeners: [] };
    if (!details) return base;
    const [attributes, listeners] = await Promise.all([
      aws.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn })),
      describeListeners(aws, lb.LoadBalancerArn!),
    ]);
    return { ...base, attributes: toTags(attributes.Attributes), listeners };
  });
  const targetGroups = await settleAll(owned(tgs, (t) => t.TargetGroupArn!), async (tg): Promise<ObservedTargetGroup> => {
    const base = toTargetGroup(tg, tags.get(tg.TargetGroupArn!) ?? {});
    if (!details) return base;
    const health = await aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    return { ...base, targets: toTargets(health.TargetHealthDescriptions) };
  });
  return { loadBalancers, targetGroups, securityGroups };
}

/** Deletion protection decides what gc may delete; only the few load balancers it would delete need it. */
export async function readAttributes(aws: AwsClients, loadBalancers: readonly ObservedLoadBalancer[]): Promise<ObservedLoadBalancer[]> {
  return settleAll(loadBalancers, async (lb) => {
    if (lb.attributes) return lb;
    const out = await aws.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.arn }));
    return { ...lb, attributes: toTags(out.Attributes) };
  });
}

async function ownershipTags(aws: AwsClients, cluster: string, arns: readonly string[], source: OwnershipSource): Promise<Map<string, Record<string, string>>> {
  if (source !== 'describe-tags') {
    try {
      return await taggedResources(aws, cluster);
    } catch (err) {
      if (source === 'tagging' || !TAGGING_UNAVAILABLE.has(awsErrorCode(err) ?? '')) throw err;
    }
  }
  const tags = new Map<string, Record<string, string>>();
  // One call at a time, and patient. Past the read bucket's 40 tokens (800 resources) calls
  // are throttled; sent at once they spend the SDK's retry quota (shared by the client) and
  // the sweep fails with it, every interval. One at a time, waiting out what the SDK gives up
  // on, the sweep finishes at the bucket's pace.
  for (const batch of chunk(arns, 20)) {
    const out = await patiently(() => aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch })));
    for (const d of out.TagDescriptions ?? []) tags.set(d.ResourceArn!, toTags(d.Tags));
  }
  return tags;
}

const PATIENCE: BackoffPolicy = { baseMs: 1000, maxMs: 20_000, jitter: true };
const PATIENT_TRIES = 8;

/** A call retried past throttling that the SDK stopped retrying (its attempts or its retry quota spent). */
async function patiently<T>(call: () => Promise<T>): Promise<T> {
  for (let failures = 1; ; failures++) {
    try {
      return await call();
    } catch (err) {
      if (!isThrottling(err) || failures >= PATIENT_TRIES) throw err;
      await sleep(backoffDelay(PATIENCE, failures, err));
    }
  }
}

/** Answers that say the tagging API is not there to ask, rather than that asking failed. */
const TAGGING_UNAVAILABLE = new Set(['AccessDeniedException', 'AccessDenied', 'UnknownOperationException', 'UnrecognizedClientException', 'InvalidAction', 'NotImplemented']);

async function taggedResources(aws: AwsClients, cluster: string): Promise<Map<string, Record<string, string>>> {
  const sdk = taggingSdk();
  const tags = new Map<string, Record<string, string>>();
  const pages = sdk.paginateGetResources(
    { client: aws.tagging },
    {
      TagFilters: [{ Key: TAG_CLUSTER, Values: [cluster] }],
      ResourceTypeFilters: ['elasticloadbalancing:loadbalancer', 'elasticloadbalancing:targetgroup'],
      ResourcesPerPage: 100,
    },
  );
  for await (const page of pages) {
    for (const r of page.ResourceTagMappingList ?? []) tags.set(r.ResourceARN!, toTags(r.Tags));
  }
  return tags;
}

async function collect<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(items(page) ?? []));
  return out;
}
