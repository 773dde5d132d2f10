import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand, DeleteLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createNetwork, failure, launch, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

describe('RunInstances / DescribeInstances / TerminateInstances', () => {
  it('launches running, tagged instances with private IPs from the subnet', async () => {
    const { ec2 } = aws();
    const name = uniqueName('node');
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        InstanceType: 't3.micro',
        MinCount: 2,
        MaxCount: 2,
        SubnetId: net.subnetIds[1],
        SecurityGroupIds: [net.securityGroupId],
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
      }),
    );
    expect(out.Instances).toHaveLength(2);
    for (const instance of out.Instances!) {
      expect(instance.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
      expect(instance).toMatchObject({
        State: { Code: 16, Name: 'running' },
        InstanceType: 't3.micro',
        SubnetId: net.subnetIds[1],
        VpcId: net.vpcId,
        Placement: expect.objectContaining({ AvailabilityZone: 'us-east-1b' }),
        Tags: [{ Key: 'Name', Value: name }],
        SecurityGroups: [expect.objectContaining({ GroupId: net.securityGroupId })],
      });
      expect(instance.PrivateIpAddress).toMatch(/^10\.0\.2\.\d+$/);
    }
    expect(new Set(out.Instances!.map((i) => i.PrivateIpAddress)).size).toBe(2);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: out.Instances!.map((i) => i.InstanceId!) }));
    expect(described.Reservations?.flatMap((r) => r.Instances!.map((i) => i.InstanceId)).sort()).toEqual(out.Instances!.map((i) => i.InstanceId).sort());
  });

  it('filters by tag, state, subnet and zone', async () => {
    const { ec2 } = aws();
    const name = uniqueName('filt');
    const a = await launch(ec2, net.subnetIds[0], name);
    const b = await launch(ec2, net.subnetIds[2], name);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [b.id] }));
    const ids = async (Filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeInstancesCommand({ Filters }))).Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId)).sort();
    expect(await ids([{ Name: 'tag:Name', Values: [name] }])).toEqual([a.id, b.id].sort());
    expect(await ids([{ Name: 'tag:Name', Values: [name] }, { Name: 'instance-state-name', Values: ['running'] }])).toEqual([a.id]);
    expect(await ids([{ Name: 'tag:Name', Values: [name] }, { Name: 'instance-state-name', Values: ['terminated'] }])).toEqual([b.id]);
    expect(await ids([{ Name: 'subnet-id', Values: [net.subnetIds[0]] }, { Name: 'tag:Name', Values: [name] }])).toEqual([a.id]);
    expect(await ids([{ Name: 'availability-zone', Values: ['us-east-1c'] }, { Name: 'tag:Name', Values: [name] }])).toEqual([b.id]);
    expect(await ids([{ Name: 'instance-id', Values: [a.id] }])).toEqual([a.id]);
    expect((await failure(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
  });

  it('reports the termination transition and keeps terminated instances visible', async () => {
    const { ec2 } = aws();
    const a = await launch(ec2, net.subnetIds[0], uniqueName('term'));
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [a.id] }));
    expect(out.TerminatingInstances).toEqual([{ InstanceId: a.id, CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } }]);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [a.id] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.State).toEqual({ Code: 48, Name: 'terminated' });
  });

  it('fails with InvalidInstanceID.NotFound for unknown ids', async () => {
    const { ec2 } = aws();
    expect(await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))).toEqual({
      name: 'InvalidInstanceID.NotFound',
      message: "The instance ID 'i-0123456789abcdef0' does not exist",
      status: 400,
    });
    expect((await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))).name).toBe('InvalidInstanceID.NotFound');
  });

  it('rejects unknown subnets and malformed image ids', async () => {
    const { ec2 } = aws();
    const run = (ImageId: string, SubnetId: string) => ec2.send(new RunInstancesCommand({ ImageId, MinCount: 1, MaxCount: 1, SubnetId }));
    expect((await failure(run('ami-0123456789abcdef0', 'subnet-0123456789abcdef0'))).name).toBe('InvalidSubnetID.NotFound');
    expect((await failure(run('not-an-ami', net.subnetIds[0]))).name).toBe('InvalidAMIID.Malformed');
  });

  it('pages through instances', async () => {
    const { ec2 } = aws();
    const name = uniqueName('paged');
    await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 6, MaxCount: 6, SubnetId: net.subnetIds[0], TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }] }),
    );
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }], MaxResults: 5, NextToken: token }));
      seen.push(...page.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId!)));
      token = page.NextToken;
    } while (token);
    expect(new Set(seen).size).toBe(6);
  });
});

describe('security groups', () => {
  const web: IpPermission = { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'web' }] };

  async function group(name = uniqueName('grp')): Promise<string> {
    return (await aws().ec2.send(new CreateSecurityGroupCommand({ VpcId: net.vpcId, GroupName: name, Description: 'test group' }))).GroupId!;
  }

  it('creates groups with the default egress rule, and refuses a duplicate name in the VPC', async () => {
    const { ec2 } = aws();
    const name = uniqueName('grp');
    const id = await group(name);
    expect(id).toMatch(/^sg-[0-9a-f]{17}$/);
    const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
    expect(out.SecurityGroups?.[0]).toMatchObject({ GroupId: id, GroupName: name, Description: 'test group', VpcId: net.vpcId, IpPermissions: [] });
    expect(out.SecurityGroups?.[0]?.IpPermissionsEgress).toEqual([expect.objectContaining({ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] })]);
    expect(await failure(ec2.send(new CreateSecurityGroupCommand({ VpcId: net.vpcId, GroupName: name, Description: 'again' })))).toEqual({
      name: 'InvalidGroup.Duplicate',
      message: `The security group '${name}' already exists for VPC '${net.vpcId}'`,
      status: 400,
    });
  });

  it('finds groups by group-name and vpc-id filters, and each VPC has a default group', async () => {
    const { ec2 } = aws();
    const name = uniqueName('grp');
    const id = await group(name);
    const byName = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [net.vpcId] }] }));
    expect(byName.SecurityGroups?.map((g) => g.GroupId)).toEqual([id]);
    const defaults = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }, { Name: 'vpc-id', Values: [net.vpcId] }] }));
    expect(defaults.SecurityGroups).toHaveLength(1);
    expect((await failure(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })))).name).toBe('InvalidGroup.NotFound');
  });

  it('authorizes and revokes ingress rules, refusing duplicates and unknown rules', async () => {
    const { ec2 } = aws();
    const id = await group();
    const udp: IpPermission = { IpProtocol: 'udp', FromPort: 30000, ToPort: 32767, Ipv6Ranges: [{ CidrIpv6: '::/0' }] };
    const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [web, udp] }));
    expect(out.Return).toBe(true);
    expect(out.SecurityGroupRules).toHaveLength(2);
    const described = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!;
    expect(described.IpPermissions).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'web' }] }),
      expect.objectContaining({ IpProtocol: 'udp', FromPort: 30000, ToPort: 32767, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }),
    ]);
    expect(await failure(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [web] })))).toEqual({
      name: 'InvalidPermission.Duplicate',
      message: 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW" already exists',
      status: 400,
    });
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [web] }));
    expect(await failure(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [web] })))).toEqual({
      name: 'InvalidPermission.NotFound',
      message: 'The specified rule does not exist in this security group.',
      status: 400,
    });
    const after = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!;
    expect(after.IpPermissions?.map((p) => p.IpProtocol)).toEqual(['udp']);
  });

  it('validates protocols and port ranges', async () => {
    const { ec2 } = aws();
    const id = await group();
    const authorize = (permission: IpPermission) => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [permission] }));
    expect((await failure(authorize({ IpProtocol: 'tcp', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }))).name).toBe('InvalidParameterValue');
    expect((await failure(authorize({ IpProtocol: 'gre-ish', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }))).name).toBe('InvalidParameterValue');
    expect((await failure(authorize({ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/99' }] }))).name).toBe('InvalidParameterValue');
    await expect(authorize({ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] })).resolves.toBeDefined();
  });

  it('refuses to delete a group a load balancer uses, then deletes it', async () => {
    const { ec2, elbv2 } = aws();
    const id = await group();
    const lb = await elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]], SecurityGroups: [id] }));
    expect(await failure(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })))).toEqual({
      name: 'DependencyViolation',
      message: `resource ${id} has a dependent object`,
      status: 400,
    });
    await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancers![0]!.LoadBalancerArn }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
    expect((await failure(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })))).name).toBe('InvalidGroup.NotFound');
  });

  it('needs a VPC: there is no default VPC', async () => {
    const { ec2 } = aws();
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
    await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.9.0.0/24' }));
    expect((await failure(ec2.send(new CreateSecurityGroupCommand({ GroupName: uniqueName('grp'), Description: 'd' })))).name).toBe('VPCIdNotSpecified');
  });
});
