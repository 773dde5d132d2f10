import {
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { processWork } from '../../src/hosts/worker';
import type { QueuedMessage, WorkQueue } from '../../src/queue/messages';
import { resync, type ResyncReport } from '../../src/reconcile/resync';
import { startWorld, type World } from '../support/world';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const SERVICES = ['alpha', 'bravo', 'charlie', 'delta'];
const INTERVAL_SECONDS = 300;
/**
 * A budget so small that one window spans many intervals (4 Services × 9 reads at 0.01 reads/s
 * over 300 s intervals: 12 intervals), so that these tests show drift is found within one
 * window, not merely within one resync.
 */
const READ_BUDGET = 0.01;

/**
 * Every kind of drift is still found within one window of the paced resync: what the sweep
 * shows (a load balancer deleted by hand, a leaked target group) at the next resync, what
 * only a deep check shows (a listener changed, a target deregistered) when that Service's
 * deep check comes round, and a change no webhook reported at the next resync.
 */
describe('the paced resync finds every kind of drift within one window', () => {
  let world: World;
  let interval = 0;
  const queued: QueuedMessage[] = [];
  /** Collects what the resync queues; the test runs it at once, whatever its delay. */
  const queue: WorkQueue = { delays: true, send: async (messages) => void queued.push(...messages) };

  beforeAll(async () => {
    world = await startWorld({ nodes: 3 });
    for (const name of SERVICES) {
      await world.createService(name);
      expect((await world.reconcile(name)).outcome).toBe('ensured');
    }
  }, 60_000);
  afterAll(() => world.close());

  /** One resync at the next interval, then everything it queued, as the workers would run it. */
  async function nextInterval(): Promise<{ report: ResyncReport; outcomes: Map<string, string> }> {
    const report = await resync(world.kube, world.aws, queue, {
      ...world.options,
      readBudget: READ_BUDGET,
      intervalSeconds: INTERVAL_SECONDS,
      now: interval++ * INTERVAL_SECONDS * 1000,
    });
    const outcomes = new Map<string, string>();
    for (const { message } of queued.splice(0)) {
      const result = await processWork(message, 'test', { kube: world.kube, reconciler: world.reconciler, queue, config: world.options });
      if (result.kind === 'reconciled') outcomes.set(result.report.service.split('/')[1]!, result.report.outcome);
    }
    return { report, outcomes };
  }

  /**
   * Resyncs until `repaired` holds, at most one window; returns the intervals it took and
   * every difference the sweeps reported meanwhile.
   */
  async function withinOneWindow(repaired: () => Promise<boolean>): Promise<{ intervals: number; drifted: string[] }> {
    const drifted: string[] = [];
    let window = Infinity;
    for (let i = 1; i <= window; i++) {
      const { report } = await nextInterval();
      window = report.deep.windowSeconds / INTERVAL_SECONDS;
      expect(window).toBeGreaterThan(SERVICES.length);
      drifted.push(...report.drifted.map((d) => d.service));
      if (await repaired()) return { intervals: i, drifted };
    }
    throw new Error(`not repaired within one window of ${window} intervals`);
  }

  const loadBalancerOf = async (name: string): Promise<LoadBalancer | undefined> => {
    const all = (await world.aws.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
    const service = await world.core.readNamespacedService({ namespace: 'default', name });
    const hostname = service.status?.loadBalancer?.ingress?.[0]?.hostname;
    return all.find((lb) => lb.DNSName === hostname);
  };
  const listenersOf = async (lb: LoadBalancer) => (await world.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners!;
  const groupsOf = async (lb: LoadBalancer) => (await world.aws.elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!;

  test('a converged fleet: the resync queues no reconcile but its share of deep checks, and those find nothing', async () => {
    world.aws.calls.reset();
    const { report, outcomes } = await nextInterval();
    expect(report).toMatchObject({ services: 4, inSync: 4, changed: [], drifted: [] });
    expect(report.deep.windowSeconds).toBe(12 * INTERVAL_SECONDS);
    expect([...outcomes.values()].every((o) => o === 'in-sync')).toBe(true);
  });

  test('a load balancer deleted by hand is found by the next sweep and made again', async () => {
    const lb = (await loadBalancerOf('alpha'))!;
    await world.aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    const { report, outcomes } = await nextInterval();
    expect(report.drifted).toEqual([{ service: 'default/alpha', difference: expect.stringMatching(/^load balancer k8s-default-alpha-\w+ is gone$/) }]);
    expect(outcomes.get('alpha')).toBe('ensured');
    expect(await loadBalancerOf('alpha')).toBeDefined();
  });

  test('a listener changed by hand is found by that Service\'s deep check, within one window', async () => {
    const lb = (await loadBalancerOf('bravo'))!;
    const http = (await listenersOf(lb)).find((l) => l.Port === 80)!;
    // Moved to another port, still forwarding to its group: nothing a batched call shows.
    await world.aws.elbv2.send(new ModifyListenerCommand({ ListenerArn: http.ListenerArn, Port: 8080 }));
    const { drifted } = await withinOneWindow(async () => (await listenersOf(lb)).map((l) => l.Port).sort().join() === '443,80');
    // The deep check found it: no sweep could.
    expect(drifted).toEqual([]);
  });

  test('a target deregistered by hand is found by that Service\'s deep check, within one window', async () => {
    const lb = (await loadBalancerOf('charlie'))!;
    const [group] = await groupsOf(lb);
    const health = async () => (await world.aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: group!.TargetGroupArn }))).TargetHealthDescriptions!;
    const [victim] = await health();
    await world.aws.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: group!.TargetGroupArn, Targets: [victim!.Target!] }));
    expect(await health()).toHaveLength(2);
    const { drifted } = await withinOneWindow(async () => (await health()).length === 3);
    expect(drifted).toEqual([]);
  });

  test('a Service changed with no admission request (a missed webhook) is reconciled at the next resync', async () => {
    await world.core.patchNamespacedService(
      { namespace: 'default', name: 'delta', body: { metadata: { annotations: { 'ferry.io/healthcheck-interval': '30' } } } },
      mergePatch,
    );
    const { report, outcomes } = await nextInterval();
    expect(report.changed).toEqual(['default/delta']);
    expect(outcomes.get('delta')).toBe('ensured');
    const lb = (await loadBalancerOf('delta'))!;
    expect((await groupsOf(lb)).map((g) => g.HealthCheckIntervalSeconds)).toEqual([30, 30]);
  });

  test('a leaked target group (its Service gone, its record lost) is deleted by the next sweep', async () => {
    const vpcId = (await loadBalancerOf('alpha'))!.VpcId!;
    const tags = [
      { Key: 'ferry.io/cluster', Value: world.cluster },
      { Key: 'ferry.io/service', Value: 'default/gone' },
      { Key: 'ferry.io/resource', Value: 'TargetGroup' },
    ];
    const leaked = (await world.aws.elbv2.send(new CreateTargetGroupCommand({ Name: 'k8s-default-gone-0123456789', Protocol: 'TCP', Port: 30999, VpcId: vpcId, TargetType: 'instance', Tags: tags })))
      .TargetGroups![0]!;
    const { report } = await nextInterval();
    expect(report.gc.services).toEqual([{ service: 'default/gone', deleted: ['delete target group k8s-default-gone-0123456789'] }]);
    await expect(world.aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [leaked.TargetGroupArn!] }))).rejects.toMatchObject({ Code: 'TargetGroupNotFound' });
  });

  test('a stray target group of a live Service (named by neither its model nor its record, used by no listener) is deleted too', async () => {
    const vpcId = (await loadBalancerOf('alpha'))!.VpcId!;
    const tags = [
      { Key: 'ferry.io/cluster', Value: world.cluster },
      { Key: 'ferry.io/service', Value: 'default/alpha' },
      { Key: 'ferry.io/resource', Value: 'TargetGroup' },
    ];
    await world.aws.elbv2.send(new CreateTargetGroupCommand({ Name: 'k8s-default-alpha-aaaaaaaaaa', Protocol: 'TCP', Port: 30998, VpcId: vpcId, TargetType: 'instance', Tags: tags }));
    const { report } = await nextInterval();
    expect(report.gc.services).toEqual([{ service: 'default/alpha', deleted: ['delete target group k8s-default-alpha-aaaaaaaaaa'] }]);
    // alpha itself is untouched.
    expect((await groupsOf((await loadBalancerOf('alpha'))!))).toHaveLength(2);
  });
});
