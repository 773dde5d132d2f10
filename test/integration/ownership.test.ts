import {
  CreateLoadBalancerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { inventory } from '../../src/aws/inventory';
import { collectGarbage } from '../../src/reconcile/gc';
import { startWorld, type World } from '../support/world';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** ferry never touches a load balancer without its own cluster's tag, and gc only deletes its orphans. */
describe('ownership', () => {
  let world: World;
  let foreignArn: string;
  let otherClusterArn: string;

  const describeForeign = async (arn: string) => {
    const [lb, tags, listeners] = await Promise.all([
      world.aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] })),
      world.aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] })),
      world.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: arn })),
    ]);
    return { lb: lb.LoadBalancers, tags: tags.TagDescriptions, listeners: listeners.Listeners };
  };

  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
    const subnets = world.seeded.subnets.filter((s) => s.role === 'private').map((s) => s.id);
    const create = (Name: string, Tags?: Array<{ Key: string; Value: string }>) =>
      world.aws.elbv2.send(new CreateLoadBalancerCommand({ Name, Type: 'network', Scheme: 'internal', Subnets: subnets, Tags }));
    foreignArn = (await create(`foreign-${world.cluster}`)).LoadBalancers![0]!.LoadBalancerArn!;
    otherClusterArn = (
      await create(`other-${world.cluster}`, [
        { Key: 'ferry.io/cluster', Value: 'someone-else' },
        { Key: 'ferry.io/service', Value: 'default/ghost' },
      ])
    ).LoadBalancers![0]!.LoadBalancerArn!;
  }, 30_000);
  afterAll(() => world.close());

  test('ferry.io/name naming an untagged load balancer is refused with an Event and the load balancer is untouched', async () => {
    const before = await describeForeign(foreignArn);
    await world.createService('claim', {}, { 'ferry.io/name': `foreign-${world.cluster}` });
    world.aws.calls.reset();
    const report = await world.reconcile('claim');
    expect(report.outcome).toBe('refused');
    expect(report.message).toBe(
      `annotation ferry.io/name="foreign-${world.cluster}": load balancer foreign-${world.cluster} is not tagged ferry.io/cluster=${world.cluster}; ferry does not touch it`,
    );
    expect(Object.keys(world.aws.calls.byOperation()).every((op) => op.startsWith('Describe'))).toBe(true);
    expect(await describeForeign(foreignArn)).toEqual(before);
    const events = await world.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=claim' });
    expect(events.items.map((e) => [e.type, e.reason, e.message])).toEqual([['Warning', 'SyncLoadBalancerFailed', `Error syncing load balancer: ${report.message}`]]);
    const service = await world.core.readNamespacedService({ namespace: 'default', name: 'claim' });
    expect(service.metadata?.finalizers ?? []).toEqual([]);
  });

  test('a refused Service that keeps failing bumps one Event instead of piling them up', async () => {
    await world.reconcile('claim');
    const events = await world.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=claim' });
    expect(events.items.map((e) => e.count)).toEqual([2]);
  });

  test('gc deletes this cluster\'s orphans and nothing else', async () => {
    // An orphan: its Service went while ferry was not looking (the finalizer removed by hand).
    await world.createService('orphan');
    expect((await world.reconcile('orphan')).outcome).toBe('ensured');
    await world.core.patchNamespacedService({ namespace: 'default', name: 'orphan', body: { metadata: { finalizers: null } } }, mergePatch);
    await world.core.deleteNamespacedService({ namespace: 'default', name: 'orphan' });
    // A live Service of this cluster, which gc must keep.
    await world.createService('live');
    expect((await world.reconcile('live')).outcome).toBe('ensured');
    const foreign = await describeForeign(foreignArn);
    const otherCluster = await describeForeign(otherClusterArn);

    const report = await collectGarbage(world.kube, world.aws, { ...world.options });
    expect(report.services.map((s) => [s.service, s.error, s.deleted.length])).toEqual([['default/orphan', undefined, 4]]);

    const left = await inventory(world.aws, world.cluster);
    // The live Service still needs the cluster's backend group.
    expect(new Set([...left.loadBalancers, ...left.targetGroups, ...left.securityGroups].map((r) => r.tags['ferry.io/service']))).toEqual(
      new Set(['default/live', 'cluster-wide']),
    );
    expect(await describeForeign(foreignArn)).toEqual(foreign);
    expect(await describeForeign(otherClusterArn)).toEqual(otherCluster);
    expect((await collectGarbage(world.kube, world.aws, { ...world.options })).services).toEqual([]);
  });
});
