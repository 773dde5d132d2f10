import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RunInstancesCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1ServicePort } from '@kubernetes/client-node';
import { collectGarbage } from '../../src/reconcile/gc';
import { nodeFor } from '../../src/local/seed';
import { startWorld, type World } from '../support/world';

/**
 * The nodes' security groups admit the load balancers through ferry's one backend group:
 * a rule count that does not grow with the Services, removed with the last Service that
 * needs it, and never a touch on a rule ferry did not make.
 */
describe('backend security-group rules', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
  }, 30_000);
  afterAll(() => world.close());

  const nodeGroup = async () =>
    (await world.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [world.seeded.nodeSecurityGroupId] }))).SecurityGroups![0]!;
  const backendGroups = async () =>
    (await world.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:ferry.io/resource', Values: ['BackendSecurityGroup'] }, { Name: `tag:ferry.io/cluster`, Values: [world.cluster] }] })))
      .SecurityGroups ?? [];
  /** The node group's rules as "protocol from-to source", ferry's and others'. */
  const rules = (permissions: IpPermission[] = []) =>
    permissions
      .flatMap((p) => [
        ...(p.UserIdGroupPairs ?? []).map((g) => `${p.IpProtocol} ${p.FromPort}-${p.ToPort} ${g.GroupId}`),
        ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol} ${p.FromPort}-${p.ToPort} ${r.CidrIp}`),
      ])
      .sort();
  const port = (n: number, protocol = 'TCP'): V1ServicePort => ({ name: `p${n}`, port: n, targetPort: n, protocol });

  test('the first Service creates the backend group, attaches it to its NLB and opens the nodes to it', async () => {
    // A rule of the cluster's own, which ferry must leave alone throughout.
    await world.aws.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: world.seeded.nodeSecurityGroupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }],
      }),
    );
    await world.createService('s0');
    const report = await world.reconcile('s0');
    expect(report.outcome).toBe('ensured');
    const [backend] = await backendGroups();
    expect(backend).toBeDefined();
    const lb = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [report.actions.find((a) => a.op === 'CreateLoadBalancer')!.name as string] })))
      .LoadBalancers![0]!;
    expect(lb.SecurityGroups).toContain(backend!.GroupId);
    expect(rules((await nodeGroup()).IpPermissions)).toEqual([`tcp 10256-10256 ${backend!.GroupId}`, 'tcp 22-22 10.0.0.0/8', `tcp 30000-32767 ${backend!.GroupId}`]);
  });

  test('once the sweep has recorded what every node group admits, a new Service reads no node group: 14 calls, as before ferry managed the rules', async () => {
    await collectGarbage(world.kube, world.aws, { ...world.options, awsConcurrency: 4 });
    const [backend] = await backendGroups();
    expect(backend!.Tags).toContainEqual({ Key: 'ferry.io/granted', Value: 'tcp:10256-10256 tcp:30000-32767' });
    await world.createService('cheap');
    world.aws.calls.reset();
    expect((await world.reconcile('cheap')).outcome).toBe('ensured');
    expect(world.aws.calls.total()).toBe(14);
    expect(world.aws.calls.byOperation()).not.toHaveProperty('DescribeInstances');
    // A rule the record does not list (the UDP range) sends the next Service to the nodes' groups.
    await world.createService('cheap-udp', { ports: [port(5353, 'UDP')] });
    world.aws.calls.reset();
    expect((await world.reconcile('cheap-udp')).outcome).toBe('ensured');
    expect(world.aws.calls.byOperation()).toMatchObject({ DescribeInstances: 1 });
    for (const name of ['cheap', 'cheap-udp']) {
      await world.core.deleteNamespacedService({ namespace: 'default', name });
      expect((await world.reconcile(name)).outcome).toBe('deleted');
    }
  });

  test('the rule count stays flat from 1 to 200 Services; a UDP Service adds the UDP range once', async () => {
    const counts: number[] = [];
    for (let n = 1; n < 200; n++) {
      await world.createService(`s${n}`, { ports: [port(1000 + (n % 50))] });
      expect((await world.reconcile(`s${n}`)).outcome).toBe('ensured');
      if ([9, 49, 199].includes(n)) counts.push(rules((await nodeGroup()).IpPermissions).length);
    }
    expect(counts).toEqual([3, 3, 3]);
    await world.createService('dns', { ports: [port(53, 'UDP')] });
    expect((await world.reconcile('dns')).outcome).toBe('ensured');
    const [backend] = await backendGroups();
    expect(rules((await nodeGroup()).IpPermissions)).toContain(`udp 30000-32767 ${backend!.GroupId}`);
    expect(rules((await nodeGroup()).IpPermissions)).toHaveLength(4);
  }, 120_000);

  test('a health-check port outside the NodePort range gets its own rule, and loses it with its Service', async () => {
    await world.createService('custom-hc', {}, { 'ferry.io/healthcheck-port': '8080' });
    expect((await world.reconcile('custom-hc')).outcome).toBe('ensured');
    const [backend] = await backendGroups();
    expect(rules((await nodeGroup()).IpPermissions)).toContain(`tcp 8080-8080 ${backend!.GroupId}`);
    await world.core.deleteNamespacedService({ namespace: 'default', name: 'custom-hc' });
    expect((await world.reconcile('custom-hc')).outcome).toBe('deleted');
    expect(rules((await nodeGroup()).IpPermissions)).not.toContain(`tcp 8080-8080 ${backend!.GroupId}`);
    expect(rules((await nodeGroup()).IpPermissions)).toHaveLength(4);
  });

  test('a node whose security groups carry no cluster tag is refused with what to tag', async () => {
    const { GroupId } = await world.aws.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'untagged-nodes', Description: 'no cluster tag', VpcId: world.seeded.vpcId }));
    const subnet = world.seeded.subnets.find((s) => s.role === 'private')!;
    const out = await world.aws.ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: subnet.id, SecurityGroupIds: [GroupId!] }));
    const instance = out.Instances![0]!;
    const node = await world.core.createNode({ body: nodeFor({ id: instance.InstanceId!, zone: subnet.zone, privateIp: instance.PrivateIpAddress! }, 90) });
    await world.createService('lonely');
    const report = await world.reconcile('lonely', true);
    expect(report.outcome).toBe('refused');
    expect(report.message).toMatch(new RegExp(`no security group of node ${instance.InstanceId} is tagged kubernetes\\.io/cluster/${world.cluster}`));
    await world.core.deleteNode({ name: node.metadata!.name! });
    await world.core.deleteNamespacedService({ namespace: 'default', name: 'lonely' });
    await world.reconcile('lonely');
  });

  test('ferry.io/manage-backend-security-group-rules=false leaves the NLB without the backend group', async () => {
    await world.createService('self-managed', {}, { 'ferry.io/manage-backend-security-group-rules': 'false' });
    const report = await world.reconcile('self-managed');
    const created = report.actions.find((a) => a.op === 'CreateLoadBalancer')!;
    const lb = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [created.name as string] }))).LoadBalancers![0]!;
    const [backend] = await backendGroups();
    expect(lb.SecurityGroups).not.toContain(backend!.GroupId);
    expect(lb.SecurityGroups).toHaveLength(1);
  });

  test('the rules and the backend group go with the last Service that needs them; the cluster\'s own rule stays', async () => {
    const services = await world.core.listNamespacedService({ namespace: 'default' });
    for (const s of services.items) {
      if (s.spec?.type !== 'LoadBalancer') continue;
      await world.core.deleteNamespacedService({ namespace: 'default', name: s.metadata!.name! });
      await world.reconcile(s.metadata!.name!);
    }
    expect(rules((await nodeGroup()).IpPermissions)).toEqual(['tcp 22-22 10.0.0.0/8']);
    expect(await backendGroups()).toEqual([]);
    // Nothing left for the sweep to do.
    expect((await collectGarbage(world.kube, world.aws, { ...world.options })).backend).toEqual({ done: [] });
  }, 60_000);
});
