import type { AwsSnapshot } from '@ferry/emulators';
import { FIXED_PORTS, embeddedTest, startWorld, type World } from '../support/world';

/**
 * A reconcile may die after any AWS call. For every k, the emulator lets k mutating calls
 * through and fails everything after, as if the process had crashed; the next reconcile
 * must reach exactly the state an uninterrupted one reaches, and leak nothing.
 */
describe('a reconcile interrupted after the k-th mutating AWS call', () => {
  let world: World;
  let empty: AwsSnapshot;
  let ensured: AwsSnapshot;
  let createWrites = 0;
  let deleteWrites = 0;

  const emulator = () => world.awsEmulator!;
  const mutating = () => emulator().calls.filter((c) => c.mutating && c.status === 200).length;
  const setType = (type: 'LoadBalancer' | 'ClusterIP') => world.setType('web', type);

  async function measure(): Promise<void> {
    empty = emulator().snapshot();
    emulator().clearCalls();
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    ensured = emulator().snapshot();
    createWrites = mutating();
    await setType('ClusterIP');
    emulator().clearCalls();
    expect((await world.reconcile('web')).outcome).toBe('deleted');
    deleteWrites = mutating();
    expect(emulator().snapshot()).toEqual(empty);
  }

  /** Fails the reconcile after k writes, then lets the next one run to the end. */
  async function interruptedThenResumed(k: number): Promise<void> {
    emulator().faults.failAfter(k);
    await expect(world.reconcile('web')).rejects.toThrow(/FerryInjectedFault/);
    emulator().faults.clear();
    await world.reconcile('web');
  }

  beforeAll(async () => {
    world = await startWorld({ nodes: 3 });
    if (!world.awsEmulator) return;
    await world.createService('web', FIXED_PORTS);
    await measure();
  }, 30_000);
  afterAll(() => world.close());

  embeddedTest('while creating: every k converges to the uninterrupted state', async () => {
    expect(createWrites).toBeGreaterThanOrEqual(9);
    for (let k = 1; k < createWrites; k++) {
      await setType('LoadBalancer');
      await interruptedThenResumed(k);
      expect({ k, state: emulator().snapshot() }).toEqual({ k, state: ensured });
      const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
      expect({ k, hostname: service.status?.loadBalancer?.ingress?.[0]?.hostname }).toEqual({
        k,
        hostname: expect.stringMatching(/\.elb\.us-east-1\.amazonaws\.com$/),
      });
      expect((await world.reconcile('web')).outcome).toBe('unchanged');
      await setType('ClusterIP');
      expect((await world.reconcile('web')).outcome).toBe('deleted');
      expect({ k, state: emulator().snapshot() }).toEqual({ k, state: empty });
    }
  }, 120_000);

  embeddedTest('while deleting: every k leaves nothing behind and releases the finalizer', async () => {
    expect(deleteWrites).toBeGreaterThanOrEqual(4);
    for (let k = 1; k < deleteWrites; k++) {
      await setType('LoadBalancer');
      expect((await world.reconcile('web')).outcome).toBe('ensured');
      await setType('ClusterIP');
      await interruptedThenResumed(k);
      expect({ k, state: emulator().snapshot() }).toEqual({ k, state: empty });
      const service = await world.core.readNamespacedService({ namespace: 'default', name: 'web' });
      expect({ k, finalizers: service.metadata?.finalizers ?? [] }).toEqual({ k, finalizers: [] });
    }
  }, 120_000);
});
