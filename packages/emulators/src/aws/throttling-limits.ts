/**
 * AWS's documented request-throttling buckets for the services ferry spends its API
 * budget on, as data. Sources (README "Request throttling"):
 *
 * - ELB user guide, "Request throttling for the Elastic Load Balancing API": one bucket
 *   per category, shared by the category's actions, and an account-level bucket that
 *   every ELBv2 action draws on as well.
 * - EC2 developer guide, "Request throttling for the Amazon EC2 API": "each API is
 *   evaluated individually" ("Limits are applied to individual API actions, not API
 *   action categories"), so each action has its own bucket, sized by its category or
 *   its own row; RunInstances, TerminateInstances, StartInstances and StopInstances
 *   also spend a resource bucket per instance.
 * - Tag Editor user guide, "Service quotas" (the page the Resource Groups Tagging API
 *   reference's GetResources links for its rate limit): GetResources at most 15 calls
 *   per second; TagResources, UntagResources, GetTagKeys and GetTagValues at most 5.
 */
export interface BucketLimit {
  readonly capacity: number;
  /** Tokens per second; fractional rates take several seconds to make one token. */
  readonly refillPerSecond: number;
}

export type Elbv2Category = 'non-mutating' | 'mutating' | 'registration' | 'resource-intensive';

export const ELBV2_ACCOUNT: BucketLimit = { capacity: 40, refillPerSecond: 10 };

export const ELBV2_CATEGORIES: Readonly<Record<Elbv2Category, BucketLimit>> = {
  'non-mutating': { capacity: 40, refillPerSecond: 10 },
  mutating: { capacity: 20, refillPerSecond: 3 },
  registration: { capacity: 20, refillPerSecond: 4 },
  'resource-intensive': { capacity: 10, refillPerSecond: 0.2 },
};

const ELBV2_NAMED: Readonly<Record<string, Elbv2Category>> = {
  CreateLoadBalancer: 'resource-intensive',
  SetSubnets: 'resource-intensive',
  RegisterTargets: 'registration',
  DeregisterTargets: 'registration',
};

/**
 * The guide lists every ELBv2 read by name and they all start with Describe; "mutating"
 * is everything not categorised otherwise. Its uncategorised rows (trust stores,
 * GetResourcePolicy) are actions the emulator does not have: they fall into these
 * categories and are refused as InvalidAction.
 */
export function elbv2Category(action: string): Elbv2Category {
  return ELBV2_NAMED[action] ?? (action.startsWith('Describe') ? 'non-mutating' : 'mutating');
}

export type Ec2Category = 'non-mutating' | 'unfiltered non-mutating' | 'mutating' | 'resource-intensive' | 'uncategorized';

const EC2_CATEGORIES: Readonly<Record<Exclude<Ec2Category, 'uncategorized'>, BucketLimit>> = {
  'non-mutating': { capacity: 100, refillPerSecond: 20 },
  'unfiltered non-mutating': { capacity: 50, refillPerSecond: 10 },
  mutating: { capacity: 50, refillPerSecond: 5 },
  'resource-intensive': { capacity: 50, refillPerSecond: 5 },
};

/** Actions that spend the smaller bucket when called with neither a filter nor pagination. */
const EC2_UNFILTERED = new Set([
  'DescribeInstances',
  'DescribeInstanceStatus',
  'DescribeNetworkInterfaces',
  'DescribeSecurityGroups',
  'DescribeSnapshots',
  'DescribeSpotInstanceRequests',
  'DescribeVolumes',
]);

const EC2_RESOURCE_INTENSIVE = new Set([
  'AcceptVpcPeeringConnection',
  'AuthorizeSecurityGroupIngress',
  'CancelSpotInstanceRequests',
  'CreateKeyPair',
  'CreateVpcPeeringConnection',
  'DeleteVpcPeeringConnection',
  'RejectVpcPeeringConnection',
  'RevokeSecurityGroupIngress',
  'RequestSpotInstances',
]);

/**
 * The guide's uncategorised rows for the actions the emulator models (and their instance
 * siblings). Rows for unmodelled actions are left out: those calls are refused as
 * InvalidAction whatever bucket they spend.
 */
const EC2_UNCATEGORIZED: Readonly<Record<string, BucketLimit>> = {
  CreateTags: { capacity: 100, refillPerSecond: 10 },
  DeleteTags: { capacity: 100, refillPerSecond: 10 },
  RunInstances: { capacity: 5, refillPerSecond: 2 },
  StartInstances: { capacity: 5, refillPerSecond: 2 },
  TerminateInstances: { capacity: 100, refillPerSecond: 5 },
};

/** Resource buckets: one token per instance the call launches, starts, stops or terminates. */
export const EC2_RESOURCES: Readonly<Record<string, BucketLimit>> = {
  RunInstances: { capacity: 1000, refillPerSecond: 2 },
  TerminateInstances: { capacity: 1000, refillPerSecond: 20 },
  StartInstances: { capacity: 1000, refillPerSecond: 2 },
  StopInstances: { capacity: 1000, refillPerSecond: 20 },
};

function isEc2Read(action: string): boolean {
  return /^(Describe|List|Search|Get)/.test(action);
}

/**
 * The guide's own test for the unfiltered bucket is "without specifying either pagination
 * or a filter". Ids (`InstanceId.1`) are neither, so a by-id Describe spends the smaller
 * bucket: the stricter reading.
 */
function filteredOrPaged(params: Readonly<Record<string, string>>): boolean {
  return Object.keys(params).some((key) => key.startsWith('Filter.') || key === 'MaxResults' || key === 'NextToken');
}

export interface Ec2RequestBucket extends BucketLimit {
  /** The bucket's name: the action, with " (unfiltered)" for the smaller read bucket. */
  readonly name: string;
  readonly category: Ec2Category;
}

export function ec2RequestBucket(action: string, params: Readonly<Record<string, string>>): Ec2RequestBucket {
  const own = EC2_UNCATEGORIZED[action];
  if (own) return { name: action, category: 'uncategorized', ...own };
  if (EC2_RESOURCE_INTENSIVE.has(action)) return { name: action, category: 'resource-intensive', ...EC2_CATEGORIES['resource-intensive'] };
  if (!isEc2Read(action)) return { name: action, category: 'mutating', ...EC2_CATEGORIES.mutating };
  if (EC2_UNFILTERED.has(action) && !filteredOrPaged(params)) {
    return { name: `${action} (unfiltered)`, category: 'unfiltered non-mutating', ...EC2_CATEGORIES['unfiltered non-mutating'] };
  }
  return { name: action, category: 'non-mutating', ...EC2_CATEGORIES['non-mutating'] };
}

/**
 * Instances a resource-limited call touches. RunInstances is charged for MaxCount, the
 * most it may launch; a malformed count is charged as one (the call then fails
 * validation, having still been a request).
 */
export function ec2ResourceCount(action: string, params: Readonly<Record<string, string>>): number {
  if (action === 'RunInstances') {
    const max = Number(params['MaxCount']);
    return Number.isInteger(max) && max >= 1 ? max : 1;
  }
  return Math.max(1, Object.keys(params).filter((key) => /^InstanceId\.\d+$/.test(key)).length);
}

export type TaggingCategory = 'get-resources' | 'tag-operations';

/**
 * Resource Groups Tagging API rates, from the Tag Editor user guide, "Service quotas"
 * (https://docs.aws.amazon.com/tag-editor/latest/userguide/reference.html, linked from
 * https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html):
 * "Rate of calling the GetResources API operation: Maximum of 15 calls per second" and
 * "Rate of calling the following API operations: TagResources, UntagResources, GetTagKeys,
 * GetTagValues: Maximum of 5 calls per second". No bucket size is documented, so each
 * bucket holds one second of its rate (burst = rate). The second row is one quota for the
 * four operations together, the stricter reading of a row that lists them as one.
 */
export const TAGGING_CATEGORIES: Readonly<Record<TaggingCategory, BucketLimit>> = {
  'get-resources': { capacity: 15, refillPerSecond: 15 },
  'tag-operations': { capacity: 5, refillPerSecond: 5 },
};

/** The bucket a Tagging API action spends; undefined for actions with no documented rate (not throttled). */
export function taggingCategory(action: string): TaggingCategory | undefined {
  if (action === 'GetResources') return 'get-resources';
  if (['GetTagKeys', 'GetTagValues', 'TagResources', 'UntagResources'].includes(action)) return 'tag-operations';
  return undefined;
}
