import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { ClientNodeKubeApi, type MetadataPatch } from '../../src/kube/api';
import { Reconciler } from '../../src/reconcile/reconciler';
import { startWorld, type World } from '../support/world';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Another writer changes the Service between ferry's read and its conditional write. */
class RacingKubeApi extends ClientNodeKubeApi {
  races = 0;
  constructor(private readonly world: World) {
    super(world.kc);
  }
  override async patchServiceMetadata(service: V1Service, patch: MetadataPatch): Promise<V1Service> {
    if (patch.resourceVersion && this.races < 1) {
      this.races++;
      await this.world.core.patchNamespacedService(
        { namespace: 'default', name: service.metadata!.name!, body: { metadata: { labels: { touched: 'yes' }, finalizers: ['example.com/keep'] } } },
        mergePatch,
      );
    }
    return super.patchServiceMetadata(service, patch);
  }
}

describe('a concurrent write to the Service', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 1 });
    await world.createService('web');
  }, 30_000);
  afterAll(() => world.close());

  test('gets a 409, and the reconcile reads again and keeps the other writer\'s finalizer', async () => {
    const kube = new RacingKubeApi(world);
    const report = await new Reconciler(kube, world.aws, world.options).reconcile('default', 'web');
    expect(kube.races).toBe(1);
    expect(report.outcome).toBe('ensured');
    const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
    expect(service.metadata!.finalizers).toEqual(['example.com/keep', 'ferry.io/load-balancer-cleanup']);
    expect(service.metadata!.labels).toEqual({ touched: 'yes' });
    const events = await world.core.listNamespacedEvent({ namespace: 'default' });
    expect(events.items.map((e) => e.reason)).not.toContain('SyncLoadBalancerFailed');
  });
});
