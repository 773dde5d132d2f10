import { Annotations, Duration, Fn, Stack, type App } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { FerryController, type FerryControllerProps } from './ferry-controller';

/**
 * The app's context (cdk.json or `-c key=value`). `-c` values arrive as strings and cdk.json
 * values as JSON, so every reader accepts both.
 *
 * | key                    | meaning                                                             |
 * |------------------------|---------------------------------------------------------------------|
 * | `clusterName`          | required; the `ferry.io/cluster` tag value                          |
 * | `kubeconfigSecretArn`  | ARN or name of the kubeconfig secret; unset: a placeholder is made  |
 * | `vpcId`, `subnetIds`   | run the reconciler and resync in these subnets (comma-separated)    |
 * | `securityGroupIds`     | their security groups (comma-separated); unset: one is created      |
 * | `discoveryVpcId`       | `FERRY_VPC_ID`: where load-balancer subnets are discovered          |
 * | `resyncMinutes`        | resync interval, default 5                                          |
 * | `reconcileConcurrency` | reconciler concurrency cap, default 5 (at least 2)                  |
 * | `maxReceiveCount`      | receives before the dead-letter queue, default 5                    |
 * | `readBudget`           | ELBv2 reads/s the deep checks may average, default 1 (0.01–10)     |
 * | `loadBalancerSubnetIds`| the only subnets load balancers may use (IAM), comma-separated      |
 * | `allowInternetFacing`  | `false` lets IAM refuse internet-facing load balancers              |
 * | `webhookConcurrency`   | the webhook's reserved concurrency, default 20                      |
 * | `adoptLoadBalancerArns`| NLBs to adopt: the one-time grant to tag them (remove once adopted) |
 * | `stackName`            | default `ferry-<clusterName>`                                       |
 */
export interface FerryContext {
  clusterName: string;
  kubeconfigSecretArn?: string;
  vpcId?: string;
  subnetIds?: string[];
  securityGroupIds?: string[];
  discoveryVpcId?: string;
  resyncMinutes?: number;
  reconcileConcurrency?: number;
  maxReceiveCount?: number;
  readBudget?: number;
  loadBalancerSubnetIds?: string[];
  allowInternetFacing?: boolean;
  webhookConcurrency?: number;
  adoptLoadBalancerArns?: string[];
  stackName?: string;
}

export class ContextError extends Error {}

export function readContext(get: (key: string) => unknown): FerryContext {
  const text = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new ContextError(`context ${key}=${JSON.stringify(v)} is invalid; accepted: a string`);
    return v.trim();
  };
  const list = (key: string): string[] | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    const items = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : undefined;
    if (!items) throw new ContextError(`context ${key}=${JSON.stringify(v)} is invalid; accepted: comma-separated IDs or a JSON array`);
    return items.map((s) => s.trim()).filter((s) => s !== '');
  };
  const int = (key: string): number | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) throw new ContextError(`context ${key}=${JSON.stringify(v)} is invalid; accepted: a whole number`);
    return n;
  };

  const decimal = (key: string): number | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new ContextError(`context ${key}=${JSON.stringify(v)} is invalid; accepted: a number such as 0.5`);
    return n;
  };

  const bool = (key: string): boolean | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new ContextError(`context ${key}=${JSON.stringify(v)} is invalid; accepted: true or false`);
  };

  const clusterName = text('clusterName');
  if (!clusterName) {
    throw new ContextError(
      'context clusterName is required: the name ferry tags its AWS resources with. ' +
        'Pass it with `cdk deploy -c clusterName=<name>` or set it under "context" in cdk.json.',
    );
  }
  const ctx: FerryContext = {
    clusterName,
    kubeconfigSecretArn: text('kubeconfigSecretArn'),
    vpcId: text('vpcId'),
    subnetIds: list('subnetIds'),
    securityGroupIds: list('securityGroupIds'),
    discoveryVpcId: text('discoveryVpcId'),
    resyncMinutes: int('resyncMinutes'),
    reconcileConcurrency: int('reconcileConcurrency'),
    maxReceiveCount: int('maxReceiveCount'),
    readBudget: decimal('readBudget'),
    loadBalancerSubnetIds: list('loadBalancerSubnetIds'),
    allowInternetFacing: bool('allowInternetFacing'),
    webhookConcurrency: int('webhookConcurrency'),
    adoptLoadBalancerArns: list('adoptLoadBalancerArns'),
    stackName: text('stackName'),
  };
  // No VPC lookups: they need AWS credentials at synth time and break offline synth.
  if (ctx.vpcId && !ctx.subnetIds?.length) throw new ContextError('context vpcId needs subnetIds (comma-separated subnet IDs for the functions)');
  if (!ctx.vpcId && (ctx.subnetIds || ctx.securityGroupIds)) throw new ContextError('context subnetIds and securityGroupIds need vpcId');
  return ctx;
}

/** The one stack of the app: a FerryController configured from context. */
export function createFerryStack(app: App): Stack {
  const ctx = readContext((key) => app.node.tryGetContext(key));
  const stack = new Stack(app, ctx.stackName ?? `ferry-${ctx.clusterName}`, {
    description: `ferry: serverless LoadBalancer controller for cluster ${ctx.clusterName}`,
    // Env-agnostic unless the CLI knows the account (no lookups are ever made).
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });

  const props: FerryControllerProps = {
    clusterName: ctx.clusterName,
    kubeconfigSecret: ctx.kubeconfigSecretArn,
    vpcId: ctx.discoveryVpcId,
    resyncInterval: ctx.resyncMinutes === undefined ? undefined : Duration.minutes(ctx.resyncMinutes),
    reconcileConcurrency: ctx.reconcileConcurrency,
    maxReceiveCount: ctx.maxReceiveCount,
    readBudget: ctx.readBudget,
    loadBalancerSubnetIds: ctx.loadBalancerSubnetIds,
    allowInternetFacing: ctx.allowInternetFacing,
    webhookConcurrency: ctx.webhookConcurrency,
    adoptLoadBalancerArns: ctx.adoptLoadBalancerArns,
    ...(ctx.vpcId ? placement(stack, ctx.vpcId, ctx.subnetIds ?? [], ctx.securityGroupIds) : {}),
  };
  new FerryController(stack, 'Ferry', props);
  return stack;
}

/** Imports the VPC, subnets and security groups by ID only, so synth stays offline. */
function placement(stack: Stack, vpcId: string, subnetIds: string[], securityGroupIds: string[] | undefined): Partial<FerryControllerProps> {
  // The functions only need the VPC's ID (for their security group) and the subnets, which
  // are passed explicitly: the AZ list and route tables are never read, so CDK's warnings
  // about them are acknowledged rather than answered with a lookup.
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'FunctionVpc', { vpcId, availabilityZones: Fn.getAzs() });
  Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'subnets are given explicitly');
  const subnets = subnetIds.map((id) => {
    const subnet = ec2.Subnet.fromSubnetId(stack, `Subnet-${id}`, id);
    Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'Lambda placement does not read route tables');
    return subnet;
  });
  return {
    vpc,
    vpcSubnets: { subnets },
    securityGroups: securityGroupIds?.map((id) => ec2.SecurityGroup.fromSecurityGroupId(stack, `SecurityGroup-${id}`, id)),
  };
}
