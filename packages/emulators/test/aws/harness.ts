import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AwsEmulator } from '../../src/aws';

/**
 * Shared setup for the emulator's tests. Every test talks to "AWS" through the real SDK
 * clients over HTTP. With AWS_ENDPOINT_URL set (LocalStack at http://localhost:4566),
 * the behavioural tests run against that endpoint instead; the emulator-only ones
 * (faults, recorded calls, snapshots) use `embeddedOnly`, which skips them there.
 */
export const externalEndpoint = process.env['AWS_ENDPOINT_URL'];

// The SDK warns once per module load that it will soon need Node 22; under Jest that is
// once per test file. The SDK's own switch silences it (Jest scopes env per test file).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
export const embeddedOnly = externalEndpoint ? describe.skip : describe;

export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
export const region = 'us-east-1';

export interface Aws {
  readonly endpoint: string;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
  /** The embedded emulator; undefined when the tests run against an external endpoint. */
  readonly emulator: AwsEmulator | undefined;
}

/** Starts an emulator for the file's tests (beforeAll) and stops it afterwards. */
export function useAws(): () => Aws {
  let aws: Aws | undefined;
  beforeAll(async () => {
    const emulator = externalEndpoint ? undefined : await AwsEmulator.start();
    const endpoint = externalEndpoint ?? emulator!.endpoint;
    aws = {
      endpoint,
      emulator,
      ec2: new EC2Client({ endpoint, region, credentials, maxAttempts: 1 }),
      elbv2: new ElasticLoadBalancingV2Client({ endpoint, region, credentials, maxAttempts: 1 }),
      sqs: new SQSClient({ endpoint, region, credentials, maxAttempts: 1 }),
      secrets: new SecretsManagerClient({ endpoint, region, credentials, maxAttempts: 1 }),
    };
  });
  afterAll(async () => {
    aws?.ec2.destroy();
    aws?.elbv2.destroy();
    aws?.sqs.destroy();
    aws?.secrets.destroy();
    await aws?.emulator?.close();
  });
  return () => {
    if (!aws) throw new Error('useAws() is only available inside tests');
    return aws;
  };
}

let counter = 0;
const runId = Math.random().toString(36).slice(2, 7);

/** A name unique to this run, so tests also pass against a shared endpoint. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${runId}-${counter}`;
}

/** The error an SDK call rejects with; fails the test when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export interface Network {
  readonly vpcId: string;
  /** One subnet per zone: us-east-1a, us-east-1b, us-east-1c. */
  readonly subnetIds: readonly [string, string, string];
  readonly securityGroupId: string;
}

/** A VPC (10.0.0.0/16) with three subnets in three zones and one security group. */
export async function createNetwork(ec2: EC2Client, name = uniqueName('net')): Promise<Network> {
  const vpc = await ec2.send(
    new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: name }] }] }),
  );
  const vpcId = vpc.Vpc!.VpcId!;
  const subnetIds = await Promise.all(
    ['a', 'b', 'c'].map(async (zone, i) => {
      const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i + 1}.0/24`, AvailabilityZone: `${region}${zone}` }));
      return subnet.Subnet!.SubnetId!;
    }),
  );
  const group = await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `${name}-lb`, Description: 'load balancer' }));
  return { vpcId, subnetIds: subnetIds as [string, string, string], securityGroupId: group.GroupId! };
}

export async function launch(ec2: EC2Client, subnetId: string, name: string): Promise<{ id: string; ip: string }> {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-0123456789abcdef0',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnetId,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
    }),
  );
  const instance = run.Instances![0]!;
  return { id: instance.InstanceId!, ip: instance.PrivateIpAddress! };
}
