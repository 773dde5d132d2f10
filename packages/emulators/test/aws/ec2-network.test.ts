import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteVpcCommand,
  DescribeAvailabilityZonesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { failure, launch, uniqueName, useAws } from './harness';

const aws = useAws();

async function vpc(cidr = '10.0.0.0/16', name = uniqueName('vpc')): Promise<string> {
  const out = await aws().ec2.send(new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: name }] }] }));
  return out.Vpc!.VpcId!;
}

describe('VPCs', () => {
  it('creates tagged VPCs and describes them by id and by filter', async () => {
    const name = uniqueName('vpc');
    const id = await vpc('10.20.0.0/16', name);
    expect(id).toMatch(/^vpc-[0-9a-f]{17}$/);
    const { ec2 } = aws();
    const byId = await ec2.send(new DescribeVpcsCommand({ VpcIds: [id] }));
    expect(byId.Vpcs?.[0]).toMatchObject({ VpcId: id, CidrBlock: '10.20.0.0/16', State: 'available', IsDefault: false, Tags: [{ Key: 'Name', Value: name }] });
    const byTag = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
    expect(byTag.Vpcs?.map((v) => v.VpcId)).toEqual([id]);
  });

  it('rejects malformed and out-of-range CIDRs and unknown ids', async () => {
    const { ec2 } = aws();
    expect((await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/33' })))).name).toBe('InvalidParameterValue');
    expect((await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' })))).name).toBe('InvalidVpc.Range');
    expect(await failure(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })))).toEqual({
      name: 'InvalidVpcID.NotFound',
      message: "The vpc ID 'vpc-0123456789abcdef0' does not exist",
      status: 400,
    });
  });

  it('deletes an empty VPC and refuses one with subnets', async () => {
    const { ec2 } = aws();
    const empty = await vpc();
    await ec2.send(new DeleteVpcCommand({ VpcId: empty }));
    expect((await failure(ec2.send(new DescribeVpcsCommand({ VpcIds: [empty] })))).name).toBe('InvalidVpcID.NotFound');
    const busy = await vpc();
    await ec2.send(new CreateSubnetCommand({ VpcId: busy, CidrBlock: '10.0.0.0/24' }));
    expect((await failure(ec2.send(new DeleteVpcCommand({ VpcId: busy })))).name).toBe('DependencyViolation');
  });
});

describe('subnets', () => {
  it('creates subnets inside the VPC CIDR, in the requested zone', async () => {
    const { ec2 } = aws();
    const vpcId = await vpc('10.30.0.0/16');
    const out = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'us-east-1b' }));
    expect(out.Subnet).toMatchObject({ VpcId: vpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'us-east-1b', State: 'available', AvailableIpAddressCount: 251 });
    expect(out.Subnet?.SubnetId).toMatch(/^subnet-[0-9a-f]{17}$/);
  });

  it('rejects CIDRs outside the VPC or overlapping another subnet, and unknown zones', async () => {
    const { ec2 } = aws();
    const vpcId = await vpc('10.40.0.0/16');
    await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.40.0.0/20' }));
    expect(await failure(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.41.0.0/24' })))).toMatchObject({
      name: 'InvalidSubnet.Range',
      message: "The CIDR '10.41.0.0/24' is invalid.",
    });
    expect(await failure(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.40.1.0/24' })))).toMatchObject({
      name: 'InvalidSubnet.Conflict',
      message: "The CIDR '10.40.1.0/24' conflicts with another subnet",
    });
    expect((await failure(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.40.16.0/24', AvailabilityZone: 'us-east-1z' })))).name).toBe(
      'InvalidParameterValue',
    );
    expect((await failure(ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.40.16.0/24' })))).name).toBe('InvalidVpcID.NotFound');
  });

  it('filters by vpc-id, availability-zone and tag, with wildcards', async () => {
    const { ec2 } = aws();
    const vpcId = await vpc('10.50.0.0/16');
    const cluster = uniqueName('cluster');
    const ids: string[] = [];
    for (const [i, zone] of ['a', 'b'].entries()) {
      const out = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `10.50.${i}.0/24`,
          AvailabilityZone: `us-east-1${zone}`,
          TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: `kubernetes.io/cluster/${cluster}`, Value: 'shared' }, { Key: 'kubernetes.io/role/elb', Value: '1' }] }],
        }),
      );
      ids.push(out.Subnet!.SubnetId!);
    }
    const describe = async (Filters: { Name: string; Values: string[] }[]) => (await ec2.send(new DescribeSubnetsCommand({ Filters }))).Subnets!.map((s) => s.SubnetId).sort();
    expect(await describe([{ Name: 'vpc-id', Values: [vpcId] }])).toEqual([...ids].sort());
    expect(await describe([{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'availability-zone', Values: ['us-east-1b'] }])).toEqual([ids[1]]);
    expect(await describe([{ Name: `tag:kubernetes.io/cluster/${cluster}`, Values: ['shared', 'owned'] }, { Name: 'tag:kubernetes.io/role/elb', Values: ['1', ''] }])).toEqual(
      [...ids].sort(),
    );
    expect(await describe([{ Name: 'tag-key', Values: [`kubernetes.io/cluster/${cluster.slice(0, -1)}*`] }])).toEqual([...ids].sort());
    expect(await describe([{ Name: 'tag-value', Values: ['share?'] }, { Name: 'vpc-id', Values: [vpcId] }])).toEqual([...ids].sort());
    expect(await describe([{ Name: 'tag:kubernetes.io/role/elb', Values: ['0'] }, { Name: 'vpc-id', Values: [vpcId] }])).toEqual([]);
  });

  it('pages with MaxResults and NextToken, and enforces the MaxResults range', async () => {
    const { ec2 } = aws();
    const vpcId = await vpc('10.60.0.0/16');
    for (let i = 0; i < 7; i++) await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.60.${i}.0/24` }));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], MaxResults: 5, NextToken: token }));
      seen.push(...page.Subnets!.map((s) => s.SubnetId!));
      token = page.NextToken;
    } while (token);
    expect(new Set(seen).size).toBe(7);
    expect((await failure(ec2.send(new DescribeSubnetsCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue');
  });

  it('refuses to delete a subnet with instances or load balancers in it', async () => {
    const { ec2, elbv2 } = aws();
    const vpcId = await vpc('10.70.0.0/16');
    const withInstance = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.70.1.0/24' }))).Subnet!.SubnetId!;
    await launch(ec2, withInstance, uniqueName('i'));
    expect(await failure(ec2.send(new DeleteSubnetCommand({ SubnetId: withInstance })))).toMatchObject({ name: 'DependencyViolation', status: 400 });
    const withLb = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.70.2.0/24' }))).Subnet!.SubnetId!;
    await elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [withLb] }));
    expect((await failure(ec2.send(new DeleteSubnetCommand({ SubnetId: withLb })))).name).toBe('DependencyViolation');
    const free = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.70.3.0/24' }))).Subnet!.SubnetId!;
    await ec2.send(new DeleteSubnetCommand({ SubnetId: free }));
    expect(await failure(ec2.send(new DescribeSubnetsCommand({ SubnetIds: [free] })))).toMatchObject({
      name: 'InvalidSubnetID.NotFound',
      message: `The subnet ID '${free}' does not exist`,
    });
  });
});

describe('CreateTags / DeleteTags', () => {
  it('tags and untags any resource by id', async () => {
    const { ec2 } = aws();
    const vpcId = await vpc();
    await ec2.send(new CreateTagsCommand({ Resources: [vpcId], Tags: [{ Key: 'team', Value: 'net' }, { Key: 'env', Value: 'dev' }, { Key: 'tier', Value: 'x' }] }));
    await ec2.send(new DeleteTagsCommand({ Resources: [vpcId], Tags: [{ Key: 'team' }, { Key: 'env', Value: 'prod' }] }));
    const tags = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!.Tags!.map((t) => t.Key).sort();
    // "env" stays: a value given with DeleteTags must match.
    expect(tags).toEqual(['Name', 'env', 'tier']);
    expect((await failure(ec2.send(new CreateTagsCommand({ Resources: ['subnet-0123456789abcdef0'], Tags: [{ Key: 'k', Value: 'v' }] })))).name).toBe(
      'InvalidSubnetID.NotFound',
    );
  });
});

describe('DescribeAvailabilityZones', () => {
  it("lists the region's zones", async () => {
    const out = await aws().ec2.send(new DescribeAvailabilityZonesCommand({}));
    const names = out.AvailabilityZones!.map((z) => z.ZoneName);
    expect(names).toEqual(expect.arrayContaining(['us-east-1a', 'us-east-1b', 'us-east-1c']));
    expect(out.AvailabilityZones?.[0]).toMatchObject({ State: 'available', RegionName: 'us-east-1' });
    const one = await aws().ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-name', Values: ['us-east-1b'] }] }));
    expect(one.AvailabilityZones?.map((z) => z.ZoneName)).toEqual(['us-east-1b']);
  });
});
