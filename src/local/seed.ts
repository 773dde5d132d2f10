import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  DeleteSecurityGroupCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { AwsClients } from '../aws/clients';

export interface Seeded {
  vpcId: string;
  /** The nodes' security group, tagged for the cluster as node groups are. */
  nodeSecurityGroupId: string;
  subnets: Array<{ id: string; zone: string; role: 'public' | 'private' }>;
  instances: Array<{ id: string; zone: string; privateIp: string }>;
  /** Removes what seeding made (for LocalStack; the embedded emulator just goes away). */
  remove(aws: AwsClients): Promise<void>;
}

export interface SeedOptions {
  zones?: number;
  instances?: number;
  /** A distinct /16 per seed lets several sandboxes share one LocalStack. */
  cidrBase?: number;
}

/**
 * A VPC as a cluster on AWS has it: per Availability Zone a public subnet tagged
 * `kubernetes.io/role/elb` and a private one tagged `kubernetes.io/role/internal-elb`, both
 * tagged `kubernetes.io/cluster/<cluster>`, and instances in the private subnets, in a node
 * security group tagged `kubernetes.io/cluster/<cluster>` (the group ferry opens to its load
 * balancers). Made with the real EC2 API, so it works against the embedded emulator and
 * LocalStack alike.
 */
export async function seedAws(aws: AwsClients, cluster: string, region: string, options: SeedOptions = {}): Promise<Seeded> {
  const zones = Array.from({ length: options.zones ?? 3 }, (_, i) => `${region}${'abcdef'[i]}`);
  const base = options.cidrBase ?? 10;
  const vpc = await aws.ec2.send(
    new CreateVpcCommand({
      CidrBlock: `10.${base}.0.0/16`,
      TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: `ferry-${cluster}` }] }],
    }),
  );
  const vpcId = vpc.Vpc!.VpcId!;
  const subnets: Seeded['subnets'] = [];
  for (const [i, zone] of zones.entries()) {
    for (const role of ['private', 'public'] as const) {
      const out = await aws.ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          AvailabilityZone: zone,
          CidrBlock: `10.${base}.${role === 'private' ? i : 100 + i}.0/24`,
          TagSpecifications: [
            {
              ResourceType: 'subnet',
              Tags: [
                { Key: 'Name', Value: `${cluster}-${role}-${zone}` },
                { Key: role === 'public' ? 'kubernetes.io/role/elb' : 'kubernetes.io/role/internal-elb', Value: '1' },
                { Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' },
              ],
            },
          ],
        }),
      );
      subnets.push({ id: out.Subnet!.SubnetId!, zone, role });
    }
  }
  const nodes = await aws.ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: `${cluster}-nodes`,
      Description: `nodes of cluster ${cluster}`,
      VpcId: vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' }] }],
    }),
  );
  const nodeSecurityGroupId = nodes.GroupId!;
  const instances: Seeded['instances'] = [];
  const count = options.instances ?? zones.length;
  const privateSubnets = subnets.filter((s) => s.role === 'private');
  for (let n = 0; n < count; n++) instances.push(await launchInstance(aws, privateSubnets[n % zones.length]!, `node-${n}`, nodeSecurityGroupId));
  return {
    vpcId,
    nodeSecurityGroupId,
    subnets,
    instances,
    async remove(clients) {
      if (instances.length > 0) await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: instances.map((i) => i.id) }));
      await clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: nodeSecurityGroupId })).catch(() => undefined);
      for (const s of subnets) await clients.ec2.send(new DeleteSubnetCommand({ SubnetId: s.id })).catch(() => undefined);
      await clients.ec2.send(new DeleteVpcCommand({ VpcId: vpcId })).catch(() => undefined);
    },
  };
}

/** An instance in one of the seeded subnets, as a node would be. */
export async function launchInstance(
  aws: AwsClients,
  subnet: { id: string; zone: string },
  name: string,
  securityGroupId?: string,
): Promise<Seeded['instances'][number]> {
  const out = await aws.ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnet.id,
      ...(securityGroupId ? { SecurityGroupIds: [securityGroupId] } : {}),
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
    }),
  );
  const instance = out.Instances![0]!;
  return { id: instance.InstanceId!, zone: subnet.zone, privateIp: instance.PrivateIpAddress! };
}

/** One Node per instance, named node-<n>, as the AWS cloud provider would register them. */
export function nodeFor(instance: Seeded['instances'][number], n: number): V1Node {
  return {
    metadata: { name: `node-${n}`, labels: { 'kubernetes.io/hostname': `node-${n}`, 'topology.kubernetes.io/zone': instance.zone } },
    spec: { providerID: `aws:///${instance.zone}/${instance.id}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: instance.privateIp },
        { type: 'Hostname', address: `node-${n}` },
      ],
    },
  };
}

export async function seedNodes(kc: KubeConfig, instances: Seeded['instances']): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const [n, instance] of instances.entries()) await core.createNode({ body: nodeFor(instance, n) });
}
