import { ThrottledError } from '../../src/errors';
import { MemoryWorkQueue } from '../../src/queue/memory';
import { fanoutMessage, serviceMessage, type WorkMessage } from '../../src/queue/messages';

describe('the in-process queue', () => {
  test('work for one Service never runs twice at once; different Services run in parallel', async () => {
    const running = new Map<string, number>();
    let overlap = 0;
    let parallel = 0;
    const queue = new MemoryWorkQueue({
      workers: 4,
      process: async (m: WorkMessage) => {
        const key = m.kind === 'service' ? m.name : 'fanout';
        running.set(key, (running.get(key) ?? 0) + 1);
        if (running.get(key)! > 1) overlap++;
        parallel = Math.max(parallel, [...running.values()].reduce((a, b) => a + b, 0));
        await new Promise((r) => setTimeout(r, 5));
        running.set(key, running.get(key)! - 1);
      },
    });
    for (let i = 0; i < 20; i++) {
      await queue.send([serviceMessage('default', `svc-${i % 3}`, `d${i}`)]);
      await new Promise((r) => setTimeout(r, 1));
    }
    await queue.idle();
    expect(overlap).toBe(0);
    expect(parallel).toBeGreaterThan(1);
  });

  test('throttled work is deferred however often, never dropped: deferrals count toward no limit', async () => {
    let tries = 0;
    const queue = new MemoryWorkQueue({
      workers: 1,
      backoffMs: 1,
      maxBackoffMs: 2,
      maxFailures: 2,
      process: async () => {
        if (++tries < 6) throw new ThrottledError('Throttling: Rate exceeded');
      },
    });
    await queue.send([serviceMessage('default', 'busy', 'b')]);
    await queue.idle();
    expect(tries).toBe(6);
    expect(queue.deadLetters).toBe(0);
  });

  test('a delayed message waits its delay', async () => {
    const ran: number[] = [];
    const queue = new MemoryWorkQueue({ workers: 1, process: async () => void ran.push(Date.now()) });
    const sent = Date.now();
    await queue.send([serviceMessage('default', 'later', 'l', true, 1)]);
    await queue.idle();
    expect(ran[0]! - sent).toBeGreaterThanOrEqual(990);
  });

  test('a message that always fails is dropped after maxFailures tries, and the other Services go on', async () => {
    const tries = new Map<string, number>();
    const logged: string[] = [];
    const queue = new MemoryWorkQueue({
      workers: 1,
      backoffMs: 1,
      maxBackoffMs: 4,
      maxFailures: 3,
      log: (e) => void logged.push(`${e.level}: ${e.msg}`),
      process: async (m) => {
        const name = m.kind === 'service' ? m.name : 'fanout';
        tries.set(name, (tries.get(name) ?? 0) + 1);
        if (name === 'poison') throw new Error('always fails');
      },
    });
    await queue.send([serviceMessage('default', 'poison', 'p'), serviceMessage('default', 'fine', 'f')]);
    await queue.idle();
    expect(tries.get('poison')).toBe(3);
    expect(tries.get('fine')).toBe(1);
    expect(queue.deadLetters).toBe(1);
    expect(logged).toContain('error: work failed too often; dropped until the next resync');
  });

  test('duplicates waiting for one Service collapse into one run, a full check winning', async () => {
    const seen: WorkMessage[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new MemoryWorkQueue({
      workers: 1,
      process: async (m) => {
        seen.push(m);
        if (seen.length === 1) await gate;
      },
    });
    await queue.send([serviceMessage('default', 'a', '1')]);
    await queue.send([serviceMessage('default', 'a', '2'), serviceMessage('default', 'a', '3', true), serviceMessage('default', 'a', '4')]);
    await queue.send([fanoutMessage('node x', 'n1'), fanoutMessage('node y', 'n2')]);
    release();
    await queue.idle();
    expect(seen).toEqual([
      { kind: 'service', namespace: 'default', name: 'a' },
      { kind: 'service', namespace: 'default', name: 'a', full: true },
      { kind: 'fanout', reason: 'node x' },
    ]);
  });

  test('a failure retries with exponential backoff until it succeeds', async () => {
    const attempts: number[] = [];
    const queue = new MemoryWorkQueue({
      workers: 1,
      backoffMs: 10,
      process: async () => {
        attempts.push(Date.now());
        if (attempts.length < 4) throw new Error('throttled');
      },
    });
    await queue.send([serviceMessage('default', 'a', '1')]);
    await queue.idle();
    expect(attempts).toHaveLength(4);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[2]).toBeGreaterThanOrEqual(38);
  });

  test('a retry timer that fires before Date.now() says the retry is due still runs it', async () => {
    // Timers and Date.now() are different clocks: seen from Date.now(), a timer may fire early.
    const realNow = Date.now.bind(Date);
    let skew = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    try {
      let attempts = 0;
      const queue = new MemoryWorkQueue({
        workers: 1,
        backoffMs: 20,
        process: async () => {
          attempts++;
          if (attempts > 1) return;
          // Once the retry is booked, Date.now() falls 5 ms behind the timers.
          setTimeout(() => (skew = -5), 0);
          throw new Error('throttled');
        },
      });
      await queue.send([serviceMessage('default', 'a', '1')]);
      await queue.idle();
      expect(attempts).toBe(2);
    } finally {
      clock.mockRestore();
    }
  }, 2000);
});
