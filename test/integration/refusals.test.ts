import { startWorld, type World } from '../support/world';

/** Services ferry cannot serve: an Event says why and what to change, and AWS sees no write. */
describe('Services ferry cannot serve', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
  }, 30_000);
  afterAll(() => world.close());

  test.each([
    [
      'an SCTP port',
      { ports: [{ name: 'sig', port: 3868, protocol: 'SCTP' }] },
      {},
      /spec\.ports\[0\] \(sig\) uses protocol SCTP: Network Load Balancers carry TCP and UDP only/,
    ],
    [
      'allocateLoadBalancerNodePorts: false',
      { allocateLoadBalancerNodePorts: false },
      {},
      /spec\.allocateLoadBalancerNodePorts is false: ferry's target groups point at NodePorts; set it to true/,
    ],
    ['no eligible subnets', {}, { 'ferry.io/subnets': 'no-such-subnet' }, /ferry\.io\/subnets names "no-such-subnet", but no subnet has that Name tag/],
    ['no eligible nodes', {}, { 'ferry.io/target-node-labels': 'pool=nowhere' }, /no eligible nodes: all 2 Nodes are .* filtered out by ferry\.io\/target-node-labels/],
    ['an invalid annotation', {}, { 'ferry.io/scheme': 'public' }, /annotation ferry\.io\/scheme="public" is invalid: expected `internal` or `internet-facing`/],
  ])('%s', async (name, spec, annotations, message) => {
    const service = `refused-${name.replace(/[^a-z]+/gi, '-').toLowerCase().replace(/-$/, '')}`;
    await world.createService(service, spec as never, annotations);
    world.aws.calls.reset();
    const report = await world.reconcile(service);
    expect(report.outcome).toBe('refused');
    expect(report.message).toMatch(message);
    expect(Object.keys(world.aws.calls.byOperation()).filter((op) => !op.startsWith('Describe'))).toEqual([]);
    const events = await world.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${service}` });
    expect(events.items.map((e) => e.reason)).toEqual(['SyncLoadBalancerFailed']);
    expect(events.items[0]!.message).toMatch(message);
    const after = await world.core.readNamespacedService({ namespace: 'default', name: service });
    expect(after.metadata?.finalizers ?? []).toEqual([]);
  });
});
