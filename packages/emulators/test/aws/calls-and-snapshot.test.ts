import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteVpcCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  SetSubnetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsEmulator } from '../../src/aws';
import { credentials, embeddedOnly, failure, region } from './harness';

interface Session {
  readonly emu: AwsEmulator;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  close(): Promise<void>;
}

async function session(): Promise<Session> {
  const emu = await AwsEmulator.start();
  const ec2 = new EC2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
  const elbv2 = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
  return {
    emu,
    ec2,
    elbv2,
    close: async () => {
      ec2.destroy();
      elbv2.destroy();
      await emu.close();
    },
  };
}

embeddedOnly('recorded calls', () => {
  it('records every call with its outcome, and counts them by action', async () => {
    const s = await session();
    try {
      const before = Date.now();
      const vpc = await s.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      await s.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.Vpc!.VpcId!] }));
      await failure(s.ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })));
      await s.elbv2.send(new CreateTargetGroupCommand({ Name: 'tg', Protocol: 'TCP', Port: 80, VpcId: vpc.Vpc!.VpcId }));
      expect(s.emu.calls).toHaveLength(4);
      expect(s.emu.calls[0]).toEqual({
        service: 'ec2',
        action: 'CreateVpc',
        mutating: true,
        params: { CidrBlock: '10.0.0.0/16' },
        status: 200,
        startedAt: expect.any(Number),
        durationMs: expect.any(Number),
      });
      expect(s.emu.calls[0]!.startedAt).toBeGreaterThanOrEqual(before);
      expect(s.emu.calls[2]).toMatchObject({ action: 'DescribeVpcs', mutating: false, status: 400, errorCode: 'InvalidVpcID.NotFound', params: { 'VpcId.1': 'vpc-0123456789abcdef0' } });
      expect(s.emu.calls[3]).toMatchObject({ service: 'elbv2', action: 'CreateTargetGroup', mutating: true });

      expect(s.emu.countCalls()).toEqual({ CreateTargetGroup: 1, CreateVpc: 1, DescribeVpcs: 1 });
      expect(Object.keys(s.emu.countCalls({ includeFailed: true }))).toEqual(['CreateTargetGroup', 'CreateVpc', 'DescribeVpcs']);
      expect(s.emu.countCalls({ includeFailed: true })).toEqual({ CreateTargetGroup: 1, CreateVpc: 1, DescribeVpcs: 2 });
      expect(s.emu.countCalls({ mutating: true })).toEqual({ CreateTargetGroup: 1, CreateVpc: 1 });
      expect(s.emu.countCalls({ service: 'elbv2' })).toEqual({ CreateTargetGroup: 1 });
      s.emu.clearCalls();
      expect(s.emu.calls).toEqual([]);
      expect(s.emu.countCalls()).toEqual({});
    } finally {
      await s.close();
    }
  });
});

embeddedOnly('shared EC2 / ELBv2 state', () => {
  it('lets ELBv2 see EC2 resources and EC2 see ELBv2 use of them', async () => {
    const s = await session();
    try {
      const vpc = (await s.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
      const subnet = (await s.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.0.1.0/24' }))).Subnet!;
      await s.elbv2.send(new CreateLoadBalancerCommand({ Name: 'shared', Type: 'network', Subnets: [subnet.SubnetId!] }));
      // The load balancer node takes an address in the subnet, and keeps the VPC alive.
      const after = (await s.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet.SubnetId!] }))).Subnets![0]!;
      expect(after.AvailableIpAddressCount).toBe(subnet.AvailableIpAddressCount! - 1);
      expect((await failure(s.ec2.send(new DeleteVpcCommand({ VpcId: vpc })))).name).toBe('DependencyViolation');
    } finally {
      await s.close();
    }
  });
});

/**
 * Builds one load balancer setup. `detour` takes the long way round: different creation
 * order, resources created wrong and fixed, extra resources created and removed, tags
 * added after creation.
 */
async function build(s: Session, detour: boolean): Promise<void> {
  const { ec2, elbv2 } = s;
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'main' }] }] }))).Vpc!
    .VpcId!;
  const zones = detour ? ['c', 'b', 'a'] : ['a', 'b', 'c'];
  const subnets: Record<string, string> = {};
  for (const zone of zones) {
    const index = 'abc'.indexOf(zone) + 1;
    const out = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: `10.0.${index}.0/24`,
        AvailabilityZone: `us-east-1${zone}`,
        TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'kubernetes.io/role/elb', Value: '1' }] }],
      }),
    );
    subnets[zone] = out.Subnet!.SubnetId!;
  }
  const sg = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'nlb', Description: 'nlb' }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  const nodes: string[] = [];
  for (const name of detour ? ['node-b', 'node-a'] : ['node-a', 'node-b']) {
    const subnet = name === 'node-a' ? subnets['a']! : subnets['b']!;
    const ip = name === 'node-a' ? '10.0.1.10' : '10.0.2.10';
    const out = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: subnet, PrivateIpAddress: ip, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }] }),
    );
    nodes.push(out.Instances![0]!.InstanceId!);
  }
  if (detour) {
    const spare = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: subnets['c'] }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [spare.Instances![0]!.InstanceId!] }));
  }

  const ownership = [
    { Key: 'ferry.io/cluster', Value: 'dev' },
    { Key: 'ferry.io/service', Value: 'default/web' },
  ];
  const tg = (
    await elbv2.send(
      new CreateTargetGroupCommand({
        Name: 'k8s-web-80',
        Protocol: 'TCP',
        Port: 30080,
        VpcId: vpcId,
        HealthCheckProtocol: detour ? 'TCP' : 'HTTP',
        HealthCheckPath: detour ? undefined : '/healthz',
        HealthCheckPort: detour ? undefined : '10256',
        Tags: detour ? undefined : ownership,
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  if (detour) {
    // Settings not named keep their value, so the TCP check's 10 s timeout must be set to HTTP's 6 s.
    await elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: tg, HealthCheckProtocol: 'HTTP', HealthCheckPath: '/healthz', HealthCheckPort: '10256', HealthCheckTimeoutSeconds: 6 }),
    );
    await elbv2.send(new AddTagsCommand({ ResourceArns: [tg], Tags: ownership }));
    const spare = (await elbv2.send(new CreateTargetGroupCommand({ Name: 'spare', Protocol: 'UDP', Port: 53, VpcId: vpcId }))).TargetGroups![0]!.TargetGroupArn!;
    await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: spare }));
  }
  await elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] }));

  const lb = (
    await elbv2.send(
      new CreateLoadBalancerCommand({
        Name: 'k8s-default-web',
        Type: 'network',
        Subnets: detour ? [subnets['a']!] : [subnets['a']!, subnets['b']!],
        SecurityGroups: [sg],
        Tags: ownership,
      }),
    )
  ).LoadBalancers![0]!.LoadBalancerArn!;
  if (detour) await elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb, Subnets: [subnets['b']!, subnets['a']!] }));
  await elbv2.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }] }));

  const listener = (
    await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lb, Port: detour ? 8080 : 80, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }] }))
  ).Listeners![0]!.ListenerArn!;
  if (detour) await elbv2.send(new ModifyListenerCommand({ ListenerArn: listener, Port: 80 }));

  const targets = nodes.map((Id) => ({ Id }));
  if (detour) {
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [...targets, { Id: nodes[0]!, Port: 31999 }] }));
    await elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: nodes[0]!, Port: 31999 }] }));
  } else {
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: targets }));
  }
}

embeddedOnly('snapshot', () => {
  it('is equal for the same state reached by different paths, and JSON-serialisable', async () => {
    const [direct, roundabout] = [await session(), await session()];
    try {
      await build(direct, false);
      await build(roundabout, true);
      const snapshot = direct.emu.snapshot();
      expect(roundabout.emu.snapshot()).toEqual(snapshot);
      expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
      expect(snapshot.loadBalancers).toEqual([
        expect.objectContaining({
          name: 'k8s-default-web',
          scheme: 'internet-facing',
          subnets: ['10.0.1.0/24@us-east-1a', '10.0.2.0/24@us-east-1b'],
          securityGroups: ['nlb'],
          tags: { 'ferry.io/cluster': 'dev', 'ferry.io/service': 'default/web' },
        }),
      ]);
      expect(snapshot.listeners).toEqual([expect.objectContaining({ loadBalancer: 'k8s-default-web', port: 80, protocol: 'TCP', targetGroup: 'k8s-web-80' })]);
      expect(snapshot.targetGroups[0]).toMatchObject({ name: 'k8s-web-80', targets: ['node-a:30080', 'node-b:30080'], vpc: 'main' });
      expect(snapshot.targetGroups[0]!.attributes['deregistration_delay.timeout_seconds']).toBe('30');
      expect(snapshot.securityGroups.map((g) => g.name)).toEqual(['default', 'nlb']);
      expect(snapshot.instances.map((i) => i.name)).toEqual(['node-a', 'node-b']);
      // Nothing generated leaks into it.
      expect(JSON.stringify(snapshot)).not.toMatch(/arn:aws|\bvpc-|\bsubnet-|\bsg-|\bi-[0-9a-f]{17}|amazonaws\.com/);
    } finally {
      await direct.close();
      await roundabout.close();
    }
  });

  it('differs when the state differs', async () => {
    const [a, b] = [await session(), await session()];
    try {
      await build(a, false);
      await build(b, false);
      expect(b.emu.snapshot()).toEqual(a.emu.snapshot());
      const lb = b.emu.snapshot().loadBalancers[0]!;
      expect(lb.attributes['deletion_protection.enabled']).toBe('false');
      const out = await b.elbv2.send(new CreateTargetGroupCommand({ Name: 'extra', Protocol: 'TCP', Port: 1, VpcId: (await b.ec2.send(new DescribeVpcsCommand({}))).Vpcs![0]!.VpcId }));
      expect(out.TargetGroups).toHaveLength(1);
      expect(b.emu.snapshot()).not.toEqual(a.emu.snapshot());
    } finally {
      await a.close();
      await b.close();
    }
  });
});
