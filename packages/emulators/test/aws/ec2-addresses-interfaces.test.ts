import {
  AllocateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { createNetwork, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

describe('AllocateAddress, DescribeAddresses, ReleaseAddress', () => {
  it('allocates a VPC address born tagged, describes it by id, IP, filter and tag, and releases it', async () => {
    const name = uniqueName('eip');
    const out = await aws().ec2.send(
      new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'Name', Value: name }] }] }),
    );
    expect(out).toMatchObject({ Domain: 'vpc', AllocationId: expect.stringMatching(/^eipalloc-[0-9a-f]{17}$/), PublicIp: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) });
    const byId = (await aws().ec2.send(new DescribeAddressesCommand({ AllocationIds: [out.AllocationId!] }))).Addresses!;
    expect(byId).toEqual([expect.objectContaining({ AllocationId: out.AllocationId, PublicIp: out.PublicIp, Domain: 'vpc', Tags: [{ Key: 'Name', Value: name }] })]);
    expect(byId[0]!.AssociationId).toBeUndefined();
    expect((await aws().ec2.send(new DescribeAddressesCommand({ PublicIps: [out.PublicIp!] }))).Addresses).toHaveLength(1);
    expect((await aws().ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }))).Addresses).toHaveLength(1);
    await aws().ec2.send(new CreateTagsCommand({ Resources: [out.AllocationId!], Tags: [{ Key: 'team', Value: 'lb' }] }));
    expect((await aws().ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'tag:team', Values: ['lb'] }] }))).Addresses).toHaveLength(1);

    await aws().ec2.send(new ReleaseAddressCommand({ AllocationId: out.AllocationId }));
    const gone = await failure(aws().ec2.send(new DescribeAddressesCommand({ AllocationIds: [out.AllocationId!] })));
    expect(gone).toMatchObject({ name: 'InvalidAllocationID.NotFound', status: 400 });
    expect(await failure(aws().ec2.send(new ReleaseAddressCommand({ AllocationId: out.AllocationId })))).toMatchObject({ name: 'InvalidAllocationID.NotFound' });
  });

  it('wants an allocation id to release a VPC address', async () => {
    const out = await aws().ec2.send(new AllocateAddressCommand({}));
    const err = await failure(aws().ec2.send(new ReleaseAddressCommand({ PublicIp: out.PublicIp })));
    expect(err).toMatchObject({ name: 'InvalidParameterValue', message: 'You must specify an allocation id when releasing a VPC elastic IP address' });
  });

  it('refuses EC2-Classic addresses', async () => {
    expect(await failure(aws().ec2.send(new AllocateAddressCommand({ Domain: 'standard' })))).toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('node security groups from instances and network interfaces', () => {
  let node: { id: string; ip: string; eni: string };
  let nodeGroup: string;

  beforeAll(async () => {
    nodeGroup = (await aws().ec2.send(new CreateSecurityGroupCommand({ VpcId: net.vpcId, GroupName: uniqueName('nodes'), Description: 'nodes' }))).GroupId!;
    const run = await aws().ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: net.subnetIds[1], SecurityGroupIds: [nodeGroup, net.securityGroupId] }),
    );
    const instance = run.Instances![0]!;
    node = { id: instance.InstanceId!, ip: instance.PrivateIpAddress!, eni: instance.NetworkInterfaces![0]!.NetworkInterfaceId! };
  });

  it('DescribeInstances shows the groups and the primary interface', async () => {
    const out = await aws().ec2.send(new DescribeInstancesCommand({ InstanceIds: [node.id] }));
    const instance = out.Reservations![0]!.Instances![0]!;
    expect(instance.SecurityGroups!.map((g) => g.GroupId).sort()).toEqual([nodeGroup, net.securityGroupId].sort());
    expect(instance.NetworkInterfaces).toEqual([
      expect.objectContaining({ NetworkInterfaceId: node.eni, PrivateIpAddress: node.ip, SubnetId: net.subnetIds[1], Groups: expect.arrayContaining([expect.objectContaining({ GroupId: nodeGroup })]) }),
    ]);
    const byGroup = await aws().ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'network-interface.addresses.private-ip-address', Values: [node.ip] }] }));
    expect(byGroup.Reservations!.flatMap((r) => r.Instances!).map((i) => i.InstanceId)).toEqual([node.id]);
  });

  it.each([
    ['addresses.private-ip-address', () => node.ip],
    ['attachment.instance-id', () => node.id],
    ['group-id', () => nodeGroup],
    ['network-interface-id', () => node.eni],
  ])('DescribeNetworkInterfaces filters by %s', async (filter, value) => {
    const out = await aws().ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [value()] }] }));
    expect(out.NetworkInterfaces).toEqual([
      expect.objectContaining({
        NetworkInterfaceId: node.eni,
        PrivateIpAddress: node.ip,
        VpcId: net.vpcId,
        Status: 'in-use',
        InterfaceType: 'interface',
        Attachment: expect.objectContaining({ InstanceId: node.id, DeviceIndex: 0, Status: 'attached' }),
        Groups: expect.arrayContaining([expect.objectContaining({ GroupId: nodeGroup }), expect.objectContaining({ GroupId: net.securityGroupId })]),
      }),
    ]);
  });

  it('forgets the interface of a terminated instance', async () => {
    const run = await aws().ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: net.subnetIds[2] }));
    const id = run.Instances![0]!.InstanceId!;
    await aws().ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const out = await aws().ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(out.NetworkInterfaces).toEqual([]);
    expect(await failure(aws().ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })))).toMatchObject({
      name: 'InvalidNetworkInterfaceID.NotFound',
    });
  });
});

describe('security group rules: tags and DescribeSecurityGroupRules', () => {
  it('tags rules at AuthorizeSecurityGroupIngress and finds them by tag and group', async () => {
    const group = (await aws().ec2.send(new CreateSecurityGroupCommand({ VpcId: net.vpcId, GroupName: uniqueName('rules'), Description: 'rules' }))).GroupId!;
    const out = await aws().ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 30000, ToPort: 32767, UserIdGroupPairs: [{ GroupId: net.securityGroupId, Description: 'ferry backend' }] }],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: [{ Key: 'ferry.io/owned', Value: 'true' }] }],
      }),
    );
    const ruleId = out.SecurityGroupRules![0]!.SecurityGroupRuleId!;
    expect(out.SecurityGroupRules![0]!.Tags).toEqual([{ Key: 'ferry.io/owned', Value: 'true' }]);
    const byTag = await aws().ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [group] }, { Name: 'tag:ferry.io/owned', Values: ['true'] }] }));
    expect(byTag.SecurityGroupRules).toEqual([
      expect.objectContaining({ SecurityGroupRuleId: ruleId, GroupId: group, IsEgress: false, FromPort: 30000, ToPort: 32767, Description: 'ferry backend' }),
    ]);
    await aws().ec2.send(new CreateTagsCommand({ Resources: [ruleId], Tags: [{ Key: 'service', Value: 'web' }] }));
    const byId = await aws().ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ruleId] }));
    expect(byId.SecurityGroupRules![0]!.Tags).toEqual(expect.arrayContaining([{ Key: 'service', Value: 'web' }]));
  });
});
