import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateVpcCommand, CreateSubnetCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { createNetwork, failure, launch, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function targetGroup(targetType: 'instance' | 'ip'): Promise<TargetGroup> {
  const out = await aws().elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName(targetType), Protocol: 'TCP', Port: 31000, VpcId: net.vpcId, TargetType: targetType }));
  return out.TargetGroups![0]!;
}

async function health(tg: TargetGroup): Promise<[string, number, string, string | undefined][]> {
  const out = await aws().elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
  return out.TargetHealthDescriptions!.map((d) => [d.Target!.Id!, d.Target!.Port!, d.TargetHealth!.State!, d.TargetHealth!.Reason]);
}

async function attach(tg: TargetGroup, subnets: string[] = [...net.subnetIds]): Promise<void> {
  const { elbv2 } = aws();
  const lb = (await elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: subnets }))).LoadBalancers![0]!;
  await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Port: 80, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
}

describe('instance targets', () => {
  it('registers running instances at the target group port by default, or at a given port', async () => {
    const { ec2, elbv2 } = aws();
    const a = await launch(ec2, net.subnetIds[0], uniqueName('node'));
    const b = await launch(ec2, net.subnetIds[1], uniqueName('node'));
    const tg = await targetGroup('instance');
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a.id }, { Id: b.id, Port: 32000 }] }));
    // Not behind a listener yet: unused / Target.NotInUse.
    expect(await health(tg)).toEqual([
      [a.id, 31000, 'unused', 'Target.NotInUse'],
      [b.id, 32000, 'unused', 'Target.NotInUse'],
    ]);
    await attach(tg);
    expect(await health(tg)).toEqual([
      [a.id, 31000, 'healthy', undefined],
      [b.id, 32000, 'healthy', undefined],
    ]);
    const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    expect(out.TargetHealthDescriptions?.[1]?.HealthCheckPort).toBe('32000');
  });

  it('treats registering twice and deregistering the unregistered as no-ops, and drops deregistered targets at once', async () => {
    const { ec2, elbv2 } = aws();
    const a = await launch(ec2, net.subnetIds[0], uniqueName('node'));
    const tg = await targetGroup('instance');
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a.id }] }));
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a.id }] }));
    expect(await health(tg)).toHaveLength(1);
    await elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a.id, Port: 9999 }] }));
    expect(await health(tg)).toHaveLength(1);
    await elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a.id }] }));
    expect(await health(tg)).toEqual([]);
  });

  it('rejects instances that do not exist, are not running, or live in another VPC', async () => {
    const { ec2, elbv2 } = aws();
    const tg = await targetGroup('instance');
    const register = (Id: string) => elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id }] }));
    expect((await failure(register('i-0000000000000000f'))).name).toBe('InvalidTargetException');
    const gone = await launch(ec2, net.subnetIds[0], uniqueName('gone'));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone.id] }));
    expect(await failure(register(gone.id))).toMatchObject({
      name: 'InvalidTargetException',
      message: `The following targets are not in a running state and cannot be registered: '${gone.id}'`,
    });
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }));
    const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.2.1.0/24' }));
    const elsewhere = await launch(ec2, subnet.Subnet!.SubnetId!, uniqueName('far'));
    expect((await failure(register(elsewhere.id))).name).toBe('InvalidTargetException');
  });

  it('reports a terminated target as unused / Target.InvalidState', async () => {
    const { ec2, elbv2 } = aws();
    const a = await launch(ec2, net.subnetIds[0], uniqueName('node'));
    const tg = await targetGroup('instance');
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: a.id }] }));
    await attach(tg);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [a.id] }));
    expect(await health(tg)).toEqual([[a.id, 31000, 'unused', 'Target.InvalidState']]);
  });
});

describe('ip targets', () => {
  it('accepts addresses in the VPC, and private addresses outside it with zone "all"', async () => {
    const { elbv2 } = aws();
    const tg = await targetGroup('ip');
    await elbv2.send(
      new RegisterTargetsCommand({
        TargetGroupArn: tg.TargetGroupArn,
        Targets: [{ Id: '10.0.1.10' }, { Id: '192.168.7.7', AvailabilityZone: 'all' }],
      }),
    );
    await attach(tg);
    expect(await health(tg)).toEqual([
      ['10.0.1.10', 31000, 'healthy', undefined],
      ['192.168.7.7', 31000, 'healthy', undefined],
    ]);
  });

  it('rejects malformed, public, or out-of-VPC addresses without zone "all"', async () => {
    const { elbv2 } = aws();
    const tg = await targetGroup('ip');
    const register = (Id: string) => elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id }] }));
    expect((await failure(register('10.0.1.300'))).name).toBe('InvalidTargetException');
    expect((await failure(register('8.8.8.8'))).name).toBe('InvalidTargetException');
    expect((await failure(register('172.16.0.5'))).name).toBe('ValidationError');
  });

  it('reports targets in zones the load balancer does not use as Target.NotInUse', async () => {
    const { elbv2 } = aws();
    const tg = await targetGroup('ip');
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.0.1.20' }, { Id: '10.0.2.20' }] }));
    await attach(tg, [net.subnetIds[0]]);
    expect(await health(tg)).toEqual([
      ['10.0.1.20', 31000, 'healthy', undefined],
      ['10.0.2.20', 31000, 'unused', 'Target.NotInUse'],
    ]);
  });

  it('answers for requested targets, registered or not', async () => {
    const { elbv2 } = aws();
    const tg = await targetGroup('ip');
    await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.0.1.30' }] }));
    const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: '10.0.1.31' }] }));
    expect(out.TargetHealthDescriptions?.map((d) => d.TargetHealth)).toEqual([
      { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' },
    ]);
  });
});
