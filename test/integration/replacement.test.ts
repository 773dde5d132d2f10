import { DescribeLoadBalancersCommand, DescribeListenersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { inventory } from '../../src/aws/inventory';
import { EMBEDDED, startWorld, type World } from '../support/world';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Changes AWS cannot make in place: the new resource comes first, the old one goes after. */
describe('replacement', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
    await world.createService('web');
    await world.reconcile('web');
  }, 30_000);
  afterAll(() => world.close());

  test('a scheme change moves the Service to a new internet-facing NLB before the old one is deleted', async () => {
    const before = await inventory(world.aws, world.cluster);
    world.awsEmulator?.clearCalls();
    await world.core.patchNamespacedService(
      { namespace: 'default', name: 'web', body: { metadata: { annotations: { 'ferry.io/scheme': 'internet-facing' } } } },
      mergePatch,
    );
    expect((await world.reconcile('web')).outcome).toBe('ensured');

    const after = await inventory(world.aws, world.cluster);
    expect(after.loadBalancers.map((l) => l.scheme)).toEqual(['internet-facing']);
    expect(after.loadBalancers[0]!.name).not.toBe(before.loadBalancers[0]!.name);
    expect(after.securityGroups.map((g) => g.id)).toEqual(before.securityGroups.map((g) => g.id));
    expect(after.targetGroups.map((g) => g.name).some((n) => before.targetGroups.some((b) => b.name === n))).toBe(false);
    const publicSubnets = world.seeded.subnets.filter((s) => s.role === 'public').map((s) => s.id).sort();
    expect(after.loadBalancers[0]!.subnets).toEqual(publicSubnets);

    const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
    const lb = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [after.loadBalancers[0]!.name] }))).LoadBalancers![0]!;
    expect(service.status?.loadBalancer?.ingress).toEqual([{ hostname: lb.DNSName }]);
    expect((await world.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners).toHaveLength(2);

    if (EMBEDDED) {
      // Order on the wire: both new listeners exist before the old NLB is deleted.
      const order = world.awsEmulator!.calls.filter((c) => c.mutating).map((c) => c.action);
      expect(order.lastIndexOf('CreateListener')).toBeLessThan(order.indexOf('DeleteLoadBalancer'));
      expect(order.indexOf('DeleteLoadBalancer')).toBeLessThan(order.indexOf('DeleteTargetGroup'));
    }
  });

  test('adding UDP to a TCP port replaces its target group with a TCP_UDP one behind the same listener', async () => {
    const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
    const https = service.spec!.ports!.find((p) => p.port === 443)!;
    await world.core.patchNamespacedService(
      {
        namespace: 'default',
        name: 'web',
        body: { spec: { ports: [...service.spec!.ports!, { name: 'quic', port: 443, targetPort: 8443, protocol: 'UDP', nodePort: https.nodePort }] } },
      },
      mergePatch,
    );
    const before = await inventory(world.aws, world.cluster, true);
    const listenerArn = before.loadBalancers[0]!.listeners.find((l) => l.port === 443)!.arn;
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    const after = await inventory(world.aws, world.cluster, true);
    const listener = after.loadBalancers[0]!.listeners.find((l) => l.port === 443)!;
    expect(listener).toEqual(expect.objectContaining({ arn: listenerArn, protocol: 'TCP_UDP' }));
    expect(after.targetGroups.map((g) => g.protocol).sort()).toEqual(['TCP', 'TCP_UDP']);
    expect(after.securityGroups[0]!.ingress.map((r) => `${r.protocol}/${r.fromPort}`).sort()).toEqual(['tcp/443', 'tcp/80', 'udp/443']);
  });
});
