import type { V1ServicePort } from '@kubernetes/client-node';
import { startWorld, type World } from '../support/world';

/**
 * Services of 1 to 60 ports through every reconcile path (create, full check, the
 * checkpoint path after a node joins, delete) at AWS concurrency 1, 4 and 8. A reconcile
 * that waits on itself never finishes, so each step races a deadline of its own and a hang
 * fails the test with the step's name instead of the suite's timeout.
 */
const PORT_COUNTS = [1, 2, 5, 6, 7, 13, 26, 50, 51, 60];
const STEP_MS = 20_000;

function ports(count: number): V1ServicePort[] {
  return Array.from({ length: count }, (_, i) => ({ name: `p${i}`, port: 1000 + i, targetPort: 8000 + i, protocol: 'TCP' }));
}

async function within<T>(step: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step}: no result within ${STEP_MS / 1000}s (the reconcile hangs)`)), STEP_MS);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each([1, 4, 8])('a Service of 1 to 60 ports at FERRY_AWS_CONCURRENCY=%i', (concurrency) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2, awsConcurrency: concurrency });
  }, 30_000);
  afterAll(() => world.close());

  test.each(PORT_COUNTS)('%i ports: create, full check, node joins, delete', async (count) => {
    const name = `p${count}`;
    await world.createService(name, { ports: ports(count) });
    world.aws.calls.reset();
    const created = await within(`${count} ports: create`, world.reconcile(name));
    if (count > 50) {
      expect(created.outcome).toBe('refused');
      expect(created.message).toMatch(/at most 50 listeners/);
      expect(world.aws.calls.total()).toBe(0);
      expect(created.actions).toEqual([]);
      await world.core.deleteNamespacedService({ namespace: 'default', name });
      return;
    }
    expect(created.outcome).toBe('ensured');
    expect(created.actions.filter((a) => a.op === 'CreateListener')).toHaveLength(count);

    const full = await within(`${count} ports: full check`, world.reconcile(name, true));
    expect(full.outcome).toBe('in-sync');

    await world.addNode();
    const joined = await within(`${count} ports: node joins (checkpoint path)`, world.reconcile(name));
    expect(joined.outcome).toBe('ensured');
    expect(joined.actions.map((a) => a.op)).toEqual(Array(count).fill('RegisterTargets'));

    await world.core.deleteNamespacedService({ namespace: 'default', name });
    const deleted = await within(`${count} ports: delete`, world.reconcile(name));
    expect(deleted.outcome).toBe('deleted');
  }, 4 * STEP_MS);
});
