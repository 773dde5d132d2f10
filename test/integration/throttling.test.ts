import { FIXED_PORTS, embeddedTest, startWorld, type World } from '../support/world';

describe('with 30% of AWS calls throttled', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 3, backoffBaseMs: 2 });
  }, 30_000);
  afterAll(() => world.close());

  embeddedTest('create and delete still converge to the same states as without throttling', async () => {
    const emulator = world.awsEmulator!;
    const empty = emulator.snapshot();
    await world.createService('web', FIXED_PORTS);
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    const ensured = emulator.snapshot();
    await world.setType('web', 'ClusterIP');
    expect((await world.reconcile('web')).outcome).toBe('deleted');

    emulator.clearCalls();
    world.aws.calls.reset();
    emulator.faults.throttle(0.3, { seed: 7 });
    await world.setType('web', 'LoadBalancer');
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    expect(emulator.snapshot()).toEqual(ensured);
    await world.setType('web', 'ClusterIP');
    expect((await world.reconcile('web')).outcome).toBe('deleted');
    expect(emulator.snapshot()).toEqual(empty);

    const throttled = emulator.calls.filter((c) => c.errorCode === 'Throttling' || c.errorCode === 'RequestLimitExceeded');
    expect(throttled.length).toBeGreaterThan(3);
    expect(world.aws.calls.retries()).toBe(throttled.length);
  }, 60_000);
});
