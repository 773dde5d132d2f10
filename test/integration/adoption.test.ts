import { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { InProgressError } from '../../src/errors';
import { toTags } from '../../src/aws/convert';
import { FIXED_PORTS, startWorld, type World } from '../support/world';

/**
 * Taking over an NLB another controller built, as that controller builds it: the DNS name
 * stays, and at every step each listener forwards to a target group with a healthy target.
 */
describe('adopting an existing NLB', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
  }, 30_000);
  afterAll(() => world.close());

  const elb = () => world.aws.elbv2;

  /** The Service's two ports, on NodePorts of their own per test (the API server refuses a reused one). */
  const portsFrom = (base: number) => ({
    ports: FIXED_PORTS.ports.map((p, i) => ({ ...p, nodePort: base + i })),
  });

  /** An NLB with two listeners on the Service's NodePorts, built the way `how` builds one. */
  async function foreignNlb(name: string, how: 'lbc' | 'cpa', ports: ReturnType<typeof portsFrom>): Promise<LoadBalancer> {
    const subnets = world.seeded.subnets.filter((s) => s.role === 'public').map((s) => s.id);
    const tags =
      how === 'lbc'
        ? [
            { Key: 'elbv2.k8s.aws/cluster', Value: world.cluster },
            { Key: 'service.k8s.aws/stack', Value: `default/${name}` },
            { Key: 'service.k8s.aws/resource', Value: 'LoadBalancer' },
          ]
        : [
            { Key: `kubernetes.io/cluster/${world.cluster}`, Value: 'owned' },
            { Key: 'kubernetes.io/service-name', Value: `default/${name}` },
          ];
    // LBC gives its NLBs a front-end security group; the cloud provider creates them without any.
    const securityGroups =
      how === 'lbc'
        ? [(await world.aws.ec2.send(new CreateSecurityGroupCommand({ GroupName: `k8s-${name}-lbc`, Description: 'LBC frontend', VpcId: world.seeded.vpcId }))).GroupId!]
        : [];
    const lb = (
      await elb().send(
        new CreateLoadBalancerCommand({ Name: `${how}-${name}`, Type: 'network', Scheme: 'internet-facing', Subnets: subnets, SecurityGroups: securityGroups, Tags: tags }),
      )
    ).LoadBalancers![0]!;
    for (const { port, nodePort } of ports.ports) {
      const tg = (
        await elb().send(
          new CreateTargetGroupCommand({ Name: `${how}-${name}-${port}`, Protocol: 'TCP', Port: nodePort, VpcId: world.seeded.vpcId, TargetType: 'instance', Tags: tags }),
        )
      ).TargetGroups![0]!;
      await elb().send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: world.seeded.instances.map((i) => ({ Id: i.id, Port: nodePort })) }));
      await elb().send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Port: port, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
    }
    return lb;
  }

  /** Every Service port's listener forwards to a target group with a healthy target. */
  async function noGap(lb: LoadBalancer): Promise<void> {
    const listeners = (await elb().send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners!;
    for (const { port } of FIXED_PORTS.ports) {
      const listener = listeners.find((l) => l.Port === port);
      expect({ port, listener: listener !== undefined }).toEqual({ port, listener: true });
      const health = (await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: listener!.DefaultActions![0]!.TargetGroupArn }))).TargetHealthDescriptions!;
      expect({ port, healthy: health.some((h) => h.TargetHealth?.State === 'healthy') }).toEqual({ port, healthy: true });
    }
  }

  /** Reconciles until the adoption is done, checking the listeners after every step. */
  async function adopt(service: string, lb: LoadBalancer): Promise<number> {
    for (let step = 1; step <= 5; step++) {
      try {
        const report = await world.reconcile(service);
        await noGap(lb);
        expect(report.outcome).toBe('ensured');
        return step;
      } catch (err) {
        if (!(err instanceof InProgressError)) throw err;
        expect(err.message).toMatch(/keeps its old target group until .* has a healthy target \(warming up on listener 6553\d\)/);
        await noGap(lb);
      }
    }
    throw new Error('the adoption did not finish in 5 reconciles');
  }

  test.each([['lbc', 31100], ['cpa', 31200]] as const)('an NLB built the way %s builds one is taken over, its DNS name kept, with no gap', async (how, base) => {
    const ports = portsFrom(base);
    const lb = await foreignNlb(`web-${how}`, how, ports);
    const oldGroups = (await elb().send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!.map((g) => g.TargetGroupArn!);
    // The cloud provider's NLBs are named by hash, so its users give the ARN; LBC's users the name.
    await world.createService(`web-${how}`, ports, { 'ferry.io/adopt-load-balancer': how === 'cpa' ? lb.LoadBalancerArn! : lb.LoadBalancerName! });
    expect(await adopt(`web-${how}`, lb)).toBe(2);

    const after = (await elb().send(new DescribeLoadBalancersCommand({ Names: [lb.LoadBalancerName!] }))).LoadBalancers![0]!;
    expect(after.DNSName).toBe(lb.DNSName);
    const service = await world.core.readNamespacedService({ namespace: 'default', name: `web-${how}` });
    expect(service.status?.loadBalancer?.ingress?.[0]?.hostname).toBe(lb.DNSName);
    const tags = toTags((await elb().send(new DescribeTagsCommand({ ResourceArns: [lb.LoadBalancerArn!] }))).TagDescriptions![0]!.Tags);
    expect(tags).toMatchObject({ 'ferry.io/cluster': world.cluster, 'ferry.io/service': `default/web-${how}` });
    // The other controller's claim is gone, so it no longer takes the NLB for its own.
    expect(Object.keys(tags).filter((k) => k.startsWith('elbv2.k8s.aws/') || k.startsWith('service.k8s.aws/') || k.startsWith('kubernetes.io/'))).toEqual([]);

    const listeners = (await elb().send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners!;
    expect(listeners.map((l) => l.Port).sort()).toEqual([443, 80]);
    const now = (await elb().send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!;
    expect(now.every((g) => !oldGroups.includes(g.TargetGroupArn!))).toBe(true);
    const gone = await elb().send(new DescribeTargetGroupsCommand({ TargetGroupArns: oldGroups })).catch((err: Error) => err);
    expect(gone).toMatchObject({ name: 'TargetGroupNotFoundException' });

    if (how === 'lbc') {
      // ferry's own groups replace LBC's on the NLB.
      expect(after.SecurityGroups).toHaveLength(2);
    } else {
      // AWS gives no security groups to an NLB made without them: the nodes admit its
      // clients and health checks directly, through rules that name the Service.
      expect(after.SecurityGroups ?? []).toEqual([]);
      const node = (await world.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [world.seeded.nodeSecurityGroupId] }))).SecurityGroups![0]!;
      const direct = node.IpPermissions!.flatMap((p) => (p.IpRanges ?? []).filter((r) => r.Description?.endsWith(`default/web-${how}`)).map((r) => `${p.IpProtocol}/${p.FromPort} ${r.CidrIp}`));
      expect(direct).toEqual(expect.arrayContaining([`tcp/${base} 0.0.0.0/0`, `tcp/${base + 1} 0.0.0.0/0`, `tcp/10256 10.${world.seeded.instances[0]!.privateIp.split('.')[1]}.100.0/24`]));
    }
    expect((await world.reconcile(`web-${how}`, true)).outcome).toBe('in-sync');
  });

  test('an NLB another ferry Service owns is not adopted', async () => {
    await world.createService('owner');
    const owned = await world.reconcile('owner');
    const name = owned.actions.find((a) => a.op === 'CreateLoadBalancer')!.name as string;
    await world.createService('thief', {}, { 'ferry.io/adopt-load-balancer': name });
    const report = await world.reconcile('thief');
    expect(report.outcome).toBe('refused');
    expect(report.message).toMatch(new RegExp(`load balancer ${name} belongs to Service default/owner; ferry does not touch it`));
  });

  test('naming an NLB that does not exist is refused with what to do', async () => {
    await world.createService('ghost', {}, { 'ferry.io/adopt-load-balancer': 'no-such-nlb' });
    const report = await world.reconcile('ghost');
    expect(report.outcome).toBe('refused');
    expect(report.message).toMatch(/names no-such-nlb, which does not exist in this account and Region/);
  });
});
