import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyLoadBalancerAttributesCommand,
  SetIpAddressTypeCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { createNetwork, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function createNlb(name: string, extra: Partial<ConstructorParameters<typeof CreateLoadBalancerCommand>[0]> = {}): Promise<LoadBalancer> {
  const out = await aws().elbv2.send(new CreateLoadBalancerCommand({ Name: name, Type: 'network', Subnets: [net.subnetIds[0], net.subnetIds[1]], ...extra }));
  return out.LoadBalancers![0]!;
}

describe('CreateLoadBalancer', () => {
  it('creates an active network load balancer shaped like AWS', async () => {
    const name = uniqueName('nlb');
    const lb = await createNlb(name);
    expect(lb.LoadBalancerArn).toMatch(new RegExp(`^arn:aws:elasticloadbalancing:us-east-1:\\d{12}:loadbalancer/net/${name}/[0-9a-f]{16}$`));
    expect(lb.DNSName).toMatch(new RegExp(`^${name}-[0-9a-f]+\\.elb\\.us-east-1\\.amazonaws\\.com$`));
    expect(lb).toMatchObject({
      LoadBalancerName: name,
      Type: 'network',
      Scheme: 'internet-facing',
      IpAddressType: 'ipv4',
      VpcId: net.vpcId,
      State: { Code: 'active' },
    });
    expect(lb.CreatedTime).toBeInstanceOf(Date);
    expect(lb.CanonicalHostedZoneId).toBeTruthy();
    expect(lb.AvailabilityZones?.map((z) => [z.ZoneName, z.SubnetId])).toEqual([
      ['us-east-1a', net.subnetIds[0]],
      ['us-east-1b', net.subnetIds[1]],
    ]);
    expect(lb.SecurityGroups).toBeUndefined();
  });

  it('accepts internal schemes, subnet mappings and security groups', async () => {
    const lb = await createNlb(uniqueName('int'), {
      Scheme: 'internal',
      Subnets: undefined,
      SubnetMappings: [{ SubnetId: net.subnetIds[2] }],
      SecurityGroups: [net.securityGroupId],
    });
    expect(lb.Scheme).toBe('internal');
    expect(lb.AvailabilityZones?.map((z) => z.ZoneName)).toEqual(['us-east-1c']);
    expect(lb.SecurityGroups).toEqual([net.securityGroupId]);
  });

  it.each([
    ['a'.repeat(33), `The load balancer name '${'a'.repeat(33)}' cannot be longer than '32' characters`],
    ['bad_name', "The load balancer name 'bad_name' can only contain characters that are alphanumeric characters and hyphens(-)"],
    ['-lead', "The load balancer name '-lead' cannot begin with a hyphen(-)"],
    ['trail-', "The load balancer name 'trail-' cannot end with a hyphen(-)"],
    ['internal-thing', "The load balancer name 'internal-thing' cannot begin with 'internal-'"],
  ])('rejects the name %j with a ValidationError', async (name, message) => {
    const err = await failure(createNlb(name));
    expect(err).toMatchObject({ name: 'ValidationError', message, status: 400 });
  });

  it('accepts a 32-character name of letters, digits and hyphens', async () => {
    const name = `x${uniqueName('n').replace(/[^a-z0-9-]/g, '')}`.padEnd(32, '0').slice(0, 32);
    await expect(createNlb(name)).resolves.toMatchObject({ LoadBalancerName: name });
  });

  it('is idempotent for identical settings and refuses different ones', async () => {
    const name = uniqueName('idem');
    const first = await createNlb(name);
    const again = await createNlb(name);
    expect(again.LoadBalancerArn).toBe(first.LoadBalancerArn);
    const err = await failure(createNlb(name, { Scheme: 'internal' }));
    expect(err).toMatchObject({ name: 'DuplicateLoadBalancerNameException', message: `A load balancer with the same name '${name}' exists, but with different settings` });
  });

  it('checks the subnets: they must exist, share a VPC and use each zone once', async () => {
    expect(await failure(createNlb(uniqueName('x'), { Subnets: ['subnet-0000000000000000f'] }))).toMatchObject({ name: 'SubnetNotFoundException' });
    const { ec2 } = aws();
    const extra = await ec2.send(new CreateSubnetCommand({ VpcId: net.vpcId, CidrBlock: '10.0.9.0/24', AvailabilityZone: 'us-east-1a' }));
    expect(await failure(createNlb(uniqueName('x'), { Subnets: [net.subnetIds[0], extra.Subnet!.SubnetId!] }))).toMatchObject({
      name: 'InvalidConfigurationRequestException',
      message: 'A load balancer cannot be attached to multiple subnets in the same Availability Zone',
    });
    const other = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
    const otherSubnet = await ec2.send(new CreateSubnetCommand({ VpcId: other.Vpc!.VpcId!, CidrBlock: '10.1.1.0/24', AvailabilityZone: 'us-east-1b' }));
    expect(await failure(createNlb(uniqueName('x'), { Subnets: [net.subnetIds[0], otherSubnet.Subnet!.SubnetId!] }))).toMatchObject({ name: 'InvalidSubnetException' });
  });

  it('rejects unknown security groups and load balancer types other than network', async () => {
    expect(await failure(createNlb(uniqueName('x'), { SecurityGroups: ['sg-00000000000000000'] }))).toMatchObject({ name: 'InvalidSecurityGroupException' });
    const err = await failure(createNlb(uniqueName('x'), { Type: 'application' }));
    expect(err.name).toBe('ValidationError');
    expect(err.message).toContain('network');
  });
});

describe('DescribeLoadBalancers', () => {
  it('finds load balancers by name and by ARN', async () => {
    const a = await createNlb(uniqueName('find'));
    const b = await createNlb(uniqueName('find'));
    const { elbv2 } = aws();
    const byName = await elbv2.send(new DescribeLoadBalancersCommand({ Names: [b.LoadBalancerName!, a.LoadBalancerName!] }));
    expect(byName.LoadBalancers?.map((lb) => lb.LoadBalancerArn).sort()).toEqual([a.LoadBalancerArn, b.LoadBalancerArn].sort());
    const byArn = await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [a.LoadBalancerArn!] }));
    expect(byArn.LoadBalancers).toEqual([a]);
  });

  it('fails with LoadBalancerNotFound when any name or ARN is missing', async () => {
    const a = await createNlb(uniqueName('nf'));
    const { elbv2 } = aws();
    expect(await failure(elbv2.send(new DescribeLoadBalancersCommand({ Names: [a.LoadBalancerName!, 'missing-one'] })))).toEqual({
      name: 'LoadBalancerNotFoundException',
      message: "Load balancers '[missing-one]' not found",
      status: 400,
    });
    const ghost = a.LoadBalancerArn!.replace(/[0-9a-f]{16}$/, '0000000000000000');
    expect(await failure(elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [ghost] })))).toEqual({
      name: 'LoadBalancerNotFoundException',
      message: 'One or more load balancers not found',
      status: 400,
    });
  });

  it('pages through every load balancer with Marker and PageSize', async () => {
    const created = new Set<string>();
    for (let i = 0; i < 5; i++) created.add((await createNlb(uniqueName('page'))).LoadBalancerArn!);
    const { elbv2 } = aws();
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await elbv2.send(new DescribeLoadBalancersCommand({ PageSize: 2, Marker: marker }));
      expect(page.LoadBalancers!.length).toBeLessThanOrEqual(2);
      seen.push(...page.LoadBalancers!.map((lb) => lb.LoadBalancerArn!));
      marker = page.NextMarker;
      pages++;
    } while (marker);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    for (const arn of created) expect(seen).toContain(arn);
  });

  it('rejects a page size outside 1-400', async () => {
    const err = await failure(aws().elbv2.send(new DescribeLoadBalancersCommand({ PageSize: 401 })));
    expect(err.name).toBe('ValidationError');
  });
});

describe('DeleteLoadBalancer', () => {
  it('deletes, and succeeds again for a load balancer that is already gone', async () => {
    const lb = await createNlb(uniqueName('del'));
    const { elbv2 } = aws();
    await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    await expect(elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).resolves.toBeDefined();
    expect((await failure(elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] })))).name).toBe('LoadBalancerNotFoundException');
  });

  it('refuses while deletion protection is enabled', async () => {
    const lb = await createNlb(uniqueName('prot'));
    const { elbv2 } = aws();
    await elbv2.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'deletion_protection.enabled', Value: 'true' }] }));
    expect(await failure(elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn })))).toMatchObject({ name: 'OperationNotPermittedException', status: 400 });
    await elbv2.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }] }));
    await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  });
});

describe('load balancer attributes', () => {
  it('reports the NLB attribute keys with their defaults', async () => {
    const internetFacing = await createNlb(uniqueName('attr'));
    const internal = await createNlb(uniqueName('attr'), { Scheme: 'internal' });
    const { elbv2 } = aws();
    const attrs = async (arn: string | undefined): Promise<Record<string, string>> =>
      Object.fromEntries((await elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }))).Attributes!.map((a) => [a.Key, a.Value]));
    expect(await attrs(internetFacing.LoadBalancerArn)).toEqual({
      'access_logs.s3.enabled': 'false',
      'access_logs.s3.bucket': '',
      'access_logs.s3.prefix': '',
      'deletion_protection.enabled': 'false',
      'ipv6.deny_all_igw_traffic': 'false',
      'load_balancing.cross_zone.enabled': 'false',
      'dns_record.client_routing_policy': 'any_availability_zone',
      'zonal_shift.config.enabled': 'false',
      'secondary_ips.auto_assigned.per_subnet': '0',
    });
    expect((await attrs(internal.LoadBalancerArn))['ipv6.deny_all_igw_traffic']).toBe('true');
  });

  it('modifies known keys and rejects unknown keys and bad values', async () => {
    const lb = await createNlb(uniqueName('mod'));
    const { elbv2 } = aws();
    const out = await elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Attributes: [
          { Key: 'load_balancing.cross_zone.enabled', Value: 'true' },
          { Key: 'dns_record.client_routing_policy', Value: 'availability_zone_affinity' },
        ],
      }),
    );
    expect(out.Attributes).toEqual(expect.arrayContaining([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]));
    const modify = (Key: string, Value: string) => elbv2.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key, Value }] }));
    expect(await failure(modify('idle_timeout.timeout_seconds', '60'))).toMatchObject({
      name: 'ValidationError',
      message: "Load balancer attribute key 'idle_timeout.timeout_seconds' is not recognized",
    });
    expect((await failure(modify('deletion_protection.enabled', 'yes'))).name).toBe('ValidationError');
    expect((await failure(modify('dns_record.client_routing_policy', 'nearest'))).name).toBe('ValidationError');
    // A rejected request changes nothing.
    const attrs = await elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    expect(attrs.Attributes).toEqual(expect.arrayContaining([{ Key: 'deletion_protection.enabled', Value: 'false' }]));
  });
});

describe('SetSubnets, SetSecurityGroups, SetIpAddressType', () => {
  it('replaces the subnets', async () => {
    const lb = await createNlb(uniqueName('sets'));
    const out = await aws().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [...net.subnetIds] }));
    expect(out.AvailabilityZones?.map((z) => z.SubnetId)).toEqual([...net.subnetIds]);
  });

  it('sets security groups only on load balancers created with them', async () => {
    const { elbv2 } = aws();
    const plain = await createNlb(uniqueName('nosg'));
    expect((await failure(elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: plain.LoadBalancerArn, SecurityGroups: [net.securityGroupId] })))).name).toBe(
      'InvalidConfigurationRequestException',
    );
    const withGroups = await createNlb(uniqueName('sg'), { SecurityGroups: [net.securityGroupId] });
    const out = await elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: withGroups.LoadBalancerArn, SecurityGroups: [] }));
    expect(out.SecurityGroupIds ?? []).toEqual([]);
  });

  it('switches the IP address type', async () => {
    const lb = await createNlb(uniqueName('ip'));
    const out = await aws().elbv2.send(new SetIpAddressTypeCommand({ LoadBalancerArn: lb.LoadBalancerArn, IpAddressType: 'dualstack' }));
    expect(out.IpAddressType).toBe('dualstack');
  });
});
