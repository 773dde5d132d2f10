import {
  AllocateAddressCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeAddressesCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type LoadBalancer,
  type SubnetMapping,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createNetwork, embeddedOnly, failure, launch, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function createNlb(mappings: SubnetMapping[], extra: Partial<ConstructorParameters<typeof CreateLoadBalancerCommand>[0]> = {}): Promise<LoadBalancer> {
  const out = await aws().elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('nlb'), Type: 'network', SubnetMappings: mappings, ...extra }));
  return out.LoadBalancers![0]!;
}

async function eip(): Promise<{ allocationId: string; publicIp: string }> {
  const out = await aws().ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
  return { allocationId: out.AllocationId!, publicIp: out.PublicIp! };
}

async function describeLb(arn: string): Promise<LoadBalancer> {
  return (await aws().elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0]!;
}

describe('Elastic IPs in subnet mappings', () => {
  it('show in LoadBalancerAddresses and as associated in DescribeAddresses, until the load balancer is deleted', async () => {
    const [a, b] = [await eip(), await eip()];
    const lb = await createNlb([
      { SubnetId: net.subnetIds[0], AllocationId: a.allocationId },
      { SubnetId: net.subnetIds[1], AllocationId: b.allocationId },
    ]);
    const zones = (await describeLb(lb.LoadBalancerArn!)).AvailabilityZones!;
    expect(zones.map((z) => z.LoadBalancerAddresses)).toEqual([
      [{ IpAddress: a.publicIp, AllocationId: a.allocationId }],
      [{ IpAddress: b.publicIp, AllocationId: b.allocationId }],
    ]);
    const address = (await aws().ec2.send(new DescribeAddressesCommand({ AllocationIds: [a.allocationId] }))).Addresses![0]!;
    expect(address.AssociationId).toMatch(/^eipassoc-/);
    expect(address.NetworkInterfaceId).toMatch(/^eni-/);
    const released = await failure(aws().ec2.send(new ReleaseAddressCommand({ AllocationId: a.allocationId })));
    expect(released).toMatchObject({ name: 'InvalidIPAddress.InUse', status: 400 });

    await aws().elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    const free = (await aws().ec2.send(new DescribeAddressesCommand({ AllocationIds: [a.allocationId] }))).Addresses![0]!;
    expect(free.AssociationId).toBeUndefined();
    await aws().ec2.send(new ReleaseAddressCommand({ AllocationId: a.allocationId }));
  });

  it('let a retried CreateLoadBalancer answer the first one', async () => {
    const a = await eip();
    const name = uniqueName('retry');
    const mappings = [{ SubnetId: net.subnetIds[0], AllocationId: a.allocationId }];
    const first = await createNlb(mappings, { Name: name });
    const again = await createNlb(mappings, { Name: name });
    expect(again.LoadBalancerArn).toBe(first.LoadBalancerArn);
    const b = await eip();
    const different = await failure(createNlb([{ SubnetId: net.subnetIds[0], AllocationId: b.allocationId }], { Name: name }));
    expect(different).toMatchObject({ name: 'DuplicateLoadBalancerNameException' });
  });

  it('are for internet-facing load balancers only', async () => {
    const a = await eip();
    const err = await failure(createNlb([{ SubnetId: net.subnetIds[0], AllocationId: a.allocationId }], { Scheme: 'internal' }));
    expect(err).toMatchObject({ name: 'InvalidConfigurationRequestException', status: 400 });
  });

  it('must exist and be free', async () => {
    const missing = await failure(createNlb([{ SubnetId: net.subnetIds[0], AllocationId: 'eipalloc-0123456789abcdef0' }]));
    expect(missing).toMatchObject({ name: 'AllocationIdNotFoundException', status: 400 });
    const a = await eip();
    await createNlb([{ SubnetId: net.subnetIds[0], AllocationId: a.allocationId }]);
    const taken = await failure(createNlb([{ SubnetId: net.subnetIds[1], AllocationId: a.allocationId }]));
    expect(taken).toMatchObject({ name: 'ResourceInUseException', message: 'The allocation IDs are not available for use' });
  });
});

describe('private IPv4 addresses in subnet mappings', () => {
  it('show as PrivateIPv4Address of an internal load balancer, and RunInstances cannot take them', async () => {
    const lb = await createNlb([{ SubnetId: net.subnetIds[2], PrivateIPv4Address: '10.0.3.200' }], { Scheme: 'internal' });
    expect((await describeLb(lb.LoadBalancerArn!)).AvailabilityZones![0]!.LoadBalancerAddresses).toEqual([{ PrivateIPv4Address: '10.0.3.200' }]);
    const err = await failure(
      aws().ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: net.subnetIds[2], PrivateIpAddress: '10.0.3.200' })),
    );
    expect(err).toMatchObject({ name: 'InvalidIPAddress.InUse' });
  });

  it.each([
    ['outside the subnet', '10.0.1.10'],
    ['the network address', '10.0.3.0'],
    ['reserved by AWS (the DNS server)', '10.0.3.2'],
    ['the broadcast address', '10.0.3.255'],
  ])('refuses an address %s', async (_, ip) => {
    const err = await failure(createNlb([{ SubnetId: net.subnetIds[2], PrivateIPv4Address: ip }], { Scheme: 'internal' }));
    expect(err).toMatchObject({ name: 'InvalidConfigurationRequestException' });
  });

  it('refuses an address in use, and one on an internet-facing load balancer', async () => {
    const node = await launch(aws().ec2, net.subnetIds[2], uniqueName('node'));
    expect(await failure(createNlb([{ SubnetId: net.subnetIds[2], PrivateIPv4Address: node.ip }], { Scheme: 'internal' }))).toMatchObject({
      name: 'InvalidConfigurationRequestException',
    });
    expect(await failure(createNlb([{ SubnetId: net.subnetIds[2], PrivateIPv4Address: '10.0.3.201' }]))).toMatchObject({
      name: 'InvalidConfigurationRequestException',
    });
    expect(await failure(createNlb([{ SubnetId: net.subnetIds[2], PrivateIPv4Address: 'ten' }], { Scheme: 'internal' }))).toMatchObject({ name: 'ValidationError' });
  });
});

describe('IPv6 addresses in subnet mappings', () => {
  let v6: { vpcId: string; subnetId: string; cidr: string; plainSubnetId: string };

  beforeAll(async () => {
    const vpc = (await aws().ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', AmazonProvidedIpv6CidrBlock: true }))).Vpc!;
    const block = vpc.Ipv6CidrBlockAssociationSet![0]!.Ipv6CidrBlock!;
    expect(block).toMatch(/^2600:1f18:[0-9a-f:]+\/56$/);
    const cidr = block.replace(/::\/56$/, '::/64');
    const subnet = (await aws().ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.1.1.0/24', Ipv6CidrBlock: cidr, AvailabilityZone: 'us-east-1a' }))).Subnet!;
    expect(subnet.Ipv6CidrBlockAssociationSet?.[0]?.Ipv6CidrBlock).toBe(cidr);
    const plain = (await aws().ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.1.2.0/24', AvailabilityZone: 'us-east-1b' }))).Subnet!;
    v6 = { vpcId: vpc.VpcId!, subnetId: subnet.SubnetId!, cidr, plainSubnetId: plain.SubnetId! };
  });

  it('show as IPv6Address of a dualstack load balancer', async () => {
    const ip = v6.cidr.replace(/::\/64$/, '::10');
    const lb = await createNlb([{ SubnetId: v6.subnetId, IPv6Address: ip }], { IpAddressType: 'dualstack' });
    expect((await describeLb(lb.LoadBalancerArn!)).AvailabilityZones![0]!.LoadBalancerAddresses).toEqual([{ IPv6Address: ip }]);
  });

  it('need dualstack, an IPv6 subnet, an address inside it and not reserved', async () => {
    const inside = v6.cidr.replace(/::\/64$/, '::11');
    expect(await failure(createNlb([{ SubnetId: v6.subnetId, IPv6Address: inside }]))).toMatchObject({ name: 'InvalidConfigurationRequestException' });
    expect(await failure(createNlb([{ SubnetId: v6.plainSubnetId, IPv6Address: inside }], { IpAddressType: 'dualstack' }))).toMatchObject({
      name: 'InvalidConfigurationRequestException',
    });
    expect(await failure(createNlb([{ SubnetId: v6.subnetId, IPv6Address: '2001:db8::1' }], { IpAddressType: 'dualstack' }))).toMatchObject({
      name: 'InvalidConfigurationRequestException',
    });
    expect(await failure(createNlb([{ SubnetId: v6.subnetId, IPv6Address: v6.cidr.replace(/::\/64$/, '::1') }], { IpAddressType: 'dualstack' }))).toMatchObject({
      name: 'InvalidConfigurationRequestException',
    });
  });

  it('refuses a subnet /64 outside the VPC’s /56', async () => {
    const err = await failure(aws().ec2.send(new CreateSubnetCommand({ VpcId: v6.vpcId, CidrBlock: '10.1.3.0/24', Ipv6CidrBlock: '2001:db8::/64' })));
    expect(err).toMatchObject({ name: 'InvalidSubnet.Range' });
  });
});

describe('SetSubnets on a Network Load Balancer', () => {
  it('adds and removes subnets; a subnet that stays keeps its addresses', async () => {
    const [a, b] = [await eip(), await eip()];
    const lb = await createNlb([{ SubnetId: net.subnetIds[0], AllocationId: a.allocationId }]);
    const added = await aws().elbv2.send(
      new SetSubnetsCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        SubnetMappings: [
          { SubnetId: net.subnetIds[0], AllocationId: a.allocationId },
          { SubnetId: net.subnetIds[1], AllocationId: b.allocationId },
        ],
      }),
    );
    expect(added.AvailabilityZones!.map((z) => z.LoadBalancerAddresses?.[0]?.AllocationId)).toEqual([a.allocationId, b.allocationId]);
    const changed = await failure(
      aws().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SubnetMappings: [{ SubnetId: net.subnetIds[0], AllocationId: b.allocationId }] })),
    );
    expect(changed).toMatchObject({ name: 'InvalidConfigurationRequestException' });
    const removed = await aws().elbv2.send(
      new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SubnetMappings: [{ SubnetId: net.subnetIds[1], AllocationId: b.allocationId }] }),
    );
    expect(removed.AvailabilityZones!.map((z) => z.SubnetId)).toEqual([net.subnetIds[1]]);
    // The removed subnet's Elastic IP is free again.
    await aws().ec2.send(new ReleaseAddressCommand({ AllocationId: a.allocationId }));
  });

  it('changes the subnet of a zone only in two steps', async () => {
    const extra = (await aws().ec2.send(new CreateSubnetCommand({ VpcId: net.vpcId, CidrBlock: '10.0.11.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!;
    const lb = await createNlb([{ SubnetId: net.subnetIds[0] }]);
    const swap = await failure(aws().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [extra.SubnetId!] })));
    expect(swap).toMatchObject({ name: 'InvalidConfigurationRequestException' });
    await aws().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [net.subnetIds[1]] }));
    const out = await aws().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [net.subnetIds[1], extra.SubnetId!] }));
    expect(out.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual([net.subnetIds[1], extra.SubnetId!].sort());
  });
});

embeddedOnly('SetSecurityGroups on an NLB created without security groups', () => {
  it('fails with AWS’s exact error', async () => {
    const lb = await createNlb([{ SubnetId: net.subnetIds[0] }]);
    const err = await failure(aws().elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: [net.securityGroupId] })));
    expect(err).toMatchObject({
      name: 'InvalidConfigurationRequestException',
      message: 'You cannot set security groups on a Network Load Balancer which was created without any security groups.',
      status: 400,
    });
  });
});
