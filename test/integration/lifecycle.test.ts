import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  DeleteListenerCommand,
  DeleteTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { inventory } from '../../src/aws/inventory';
import { buildModel } from '../../src/model/build';
import { deepCheckReads } from '../../src/plan/budget';
import type { ActionOf } from '../../src/plan/actions';
import { embeddedTest, startWorld, type World } from '../support/world';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ELBV2_READS = new Set([
  'DescribeLoadBalancers',
  'DescribeLoadBalancerAttributes',
  'DescribeListeners',
  'DescribeListenerCertificates',
  'DescribeListenerAttributes',
  'DescribeTargetGroups',
  'DescribeTargetGroupAttributes',
  'DescribeTargetHealth',
  'DescribeTags',
]);

/**
 * One Service through its whole life, with the real SDK and client-node over HTTP:
 * create, unchanged (checkpoint), --full, a node added, an annotation changed, deleted.
 * Call counts come from the SDK clients' own counter, so this also runs against LocalStack.
 */
describe('a LoadBalancer Service from creation to deletion', () => {
  let world: World;
  const calls = () => world.aws.calls.byOperation();
  const writes = () => Object.fromEntries(Object.entries(calls()).filter(([op]) => !op.startsWith('Describe')));
  /** Every target group of the Service holds exactly these instances. */
  const expectRegistered = async (ids: string[]) => {
    const [lb] = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
    const groups = (await world.aws.elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb!.LoadBalancerArn }))).TargetGroups!;
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      const health = await world.aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
      expect(health.TargetHealthDescriptions!.map((d) => d.Target!.Id).sort()).toEqual([...ids].sort());
    }
  };

  beforeAll(async () => {
    world = await startWorld({ nodes: 3 });
    await world.createService('web');
  }, 30_000);
  afterAll(() => world.close());
  beforeEach(() => world.aws.calls.reset());

  test('the first reconcile creates the NLB, its listeners, target groups and targets, and writes status', async () => {
    const report = await world.reconcile('web');
    expect(report.outcome).toBe('ensured');

    const created = report.actions.find((a): a is ActionOf<'CreateLoadBalancer'> => a.op === 'CreateLoadBalancer')!;
    const lb = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [created.name] }))).LoadBalancers![0]!;
    expect(lb).toEqual(expect.objectContaining({ Type: 'network', Scheme: 'internal' }));
    expect(lb.AvailabilityZones).toHaveLength(3);
    // The Service's own group (its source ranges) and the cluster's backend group.
    expect(lb.SecurityGroups).toHaveLength(2);

    const listeners = (await world.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners!;
    expect(listeners.map((l) => [l.Port, l.Protocol]).sort()).toEqual([
      [443, 'TCP'],
      [80, 'TCP'],
    ]);
    const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
    const groups = (await world.aws.elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!;
    expect(groups.map((g) => [g.Protocol, g.Port, g.TargetType, g.HealthCheckPort, g.HealthCheckPath]).sort()).toEqual(
      service.spec!.ports!.map((p) => ['TCP', p.nodePort, 'instance', '10256', '/healthz']).sort(),
    );
    for (const g of groups) {
      const health = await world.aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
      expect(health.TargetHealthDescriptions!.map((d) => d.Target!.Id).sort()).toEqual(world.seeded.instances.map((i) => i.id).sort());
      expect(new Set(health.TargetHealthDescriptions!.map((d) => d.Target!.Port))).toEqual(new Set([g.Port]));
    }
    const sg = (await world.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: lb.SecurityGroups }))).SecurityGroups![0]!;
    expect(sg.IpPermissions!.map((p) => [p.IpProtocol, p.FromPort, p.IpRanges![0]!.CidrIp]).sort()).toEqual([
      ['tcp', 443, '0.0.0.0/0'],
      ['tcp', 80, '0.0.0.0/0'],
    ]);

    expect(service.status?.loadBalancer?.ingress).toEqual([{ hostname: lb.DNSName }]);
    expect(service.metadata?.finalizers).toContain('ferry.io/load-balancer-cleanup');
    const events = await world.core.listNamespacedEvent({ namespace: 'default' });
    expect(events.items.filter((e) => e.involvedObject.name === 'web').map((e) => e.reason).sort()).toEqual([
      'EnsuredLoadBalancer',
      'EnsuringLoadBalancer',
    ]);
  });

  test('an unchanged Service costs zero AWS calls', async () => {
    expect((await world.reconcile('web')).outcome).toBe('unchanged');
    expect(world.aws.calls.total()).toBe(0);
  });

  test('--full compares everything with read calls only, as many ELBv2 reads as the resync budgets for it', async () => {
    world.aws.calls.reset();
    const report = await world.reconcile('web', true);
    expect(report.outcome).toBe('in-sync');
    expect(writes()).toEqual({});
    const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
    const spec = buildModel(service, (await world.core.listNode()).items, world.options).loadBalancer!;
    const elbv2Reads = Object.entries(calls()).filter(([op]) => ELBV2_READS.has(op)).reduce((n, [, c]) => n + c, 0);
    expect(elbv2Reads).toBe(deepCheckReads(spec));
  });

  test('a node added costs one RegisterTargets per target group and not a single read', async () => {
    await world.addNode();
    world.aws.calls.reset();
    const report = await world.reconcile('web');
    expect(report.outcome).toBe('ensured');
    expect(calls()).toEqual({ RegisterTargets: 2 });
    const events = await world.core.listNamespacedEvent({ namespace: 'default' });
    expect(events.items.map((e) => e.reason)).toContain('UpdatedLoadBalancer');
    await expectRegistered(world.seeded.instances.map((i) => i.id));
  });

  test('a node removed costs one DeregisterTargets per target group and not a single read', async () => {
    const gone = world.seeded.instances.pop()!;
    await world.core.deleteNode({ name: (await world.core.listNode()).items.find((n) => n.spec?.providerID?.endsWith(gone.id))!.metadata!.name! });
    world.aws.calls.reset();
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    expect(calls()).toEqual({ DeregisterTargets: 2 });
    await expectRegistered(world.seeded.instances.map((i) => i.id));
  });

  embeddedTest('a node change that fails part way sends only what is left when it is retried', async () => {
    await world.addNode();
    world.aws.calls.reset();
    // The first group's RegisterTargets lands, the second's fails as a call throttled past the SDK's retries would.
    world.awsEmulator!.faults.failAfter(1);
    try {
      await expect(world.reconcile('web')).rejects.toThrow(/FerryInjectedFault/);
    } finally {
      world.awsEmulator!.faults.clear();
    }
    expect(calls()).toEqual({ RegisterTargets: 2 });
    world.aws.calls.reset();
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    expect(calls()).toEqual({ RegisterTargets: 1 });
    await expectRegistered(world.seeded.instances.map((i) => i.id));
  });

  test('a target group deleted behind ferry\'s back: the node change reads AWS after all and repairs it', async () => {
    const [lb] = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
    const [first] = (await world.aws.elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb!.LoadBalancerArn }))).TargetGroups!;
    const listeners = (await world.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb!.LoadBalancerArn }))).Listeners!;
    const listener = listeners.find((l) => l.DefaultActions?.[0]?.TargetGroupArn === first!.TargetGroupArn)!;
    await world.aws.elbv2.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
    await world.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: first!.TargetGroupArn }));
    await world.addNode();
    world.aws.calls.reset();
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    expect(writes()).toMatchObject({ CreateTargetGroup: 1, CreateListener: 1 });
    await expectRegistered(world.seeded.instances.map((i) => i.id));
  });

  test('a changed annotation is modified in place', async () => {
    await world.core.patchNamespacedService(
      { namespace: 'default', name: 'web', body: { metadata: { annotations: { 'ferry.io/healthcheck-interval': '30', 'ferry.io/cross-zone': 'true' } } } },
      mergePatch,
    );
    world.aws.calls.reset();
    await world.reconcile('web');
    expect(writes()).toEqual({ ModifyLoadBalancerAttributes: 1, ModifyTargetGroup: 2 });
  });

  test('deleting the Service deletes everything and then releases the finalizer', async () => {
    await world.core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    world.aws.calls.reset();
    const report = await world.reconcile('web');
    expect(report.outcome).toBe('deleted');
    // The last Service also takes the nodes' backend rules and the backend group along.
    expect(writes()).toEqual({ DeleteLoadBalancer: 1, DeleteSecurityGroup: 2, DeleteTargetGroup: 2, RevokeSecurityGroupIngress: 1 });
    const left = await inventory(world.aws, world.cluster);
    expect(left).toEqual({ loadBalancers: [], targetGroups: [], securityGroups: [] });
    await expect(world.core.readNamespacedService({ namespace: 'default', name: 'web' })).rejects.toMatchObject({ code: 404 });
    expect((await world.reconcile('web')).outcome).toBe('absent');
  });
});
