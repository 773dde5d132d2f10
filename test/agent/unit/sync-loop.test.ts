import { SyncLoop, type Clock, type SyncKind } from '../../../src/agent/sync-loop';

/** A clock the test moves by hand; timers fire in order as time passes. */
class FakeClock implements Clock {
  time = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  /** Advances time, running due timers and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.fn();
    }
    this.time = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function loopWith(options: { fail?: (n: number) => boolean } = {}) {
  const clock = new FakeClock();
  const runs: Array<{ at: number; kind: SyncKind }> = [];
  const loop = new SyncLoop({
    minSyncIntervalMs: 1000,
    syncPeriodMs: 30_000,
    clock,
    run: async (kind) => {
      runs.push({ at: clock.time, kind });
      if (options.fail?.(runs.length)) throw new Error('nft failed');
    },
  });
  return { clock, runs, loop };
}

test('starts with a full sync, then partial ones at most once per min-sync-interval', async () => {
  const { clock, runs, loop } = loopWith();
  loop.start();
  await clock.advance(0);
  expect(runs).toEqual([{ at: 0, kind: 'full' }]);
  for (let i = 0; i < 10; i++) {
    loop.request();
    await clock.advance(100);
  }
  // 10 requests over 1 s: one sync at the 1 s mark, none earlier.
  expect(runs).toEqual([{ at: 0, kind: 'full' }, { at: 1000, kind: 'partial' }]);
  await clock.advance(5000);
  expect(runs).toHaveLength(2);
});

test('a full sync every sync period even without changes', async () => {
  const { clock, runs, loop } = loopWith();
  loop.start();
  await clock.advance(65_000);
  expect(runs).toEqual([{ at: 0, kind: 'full' }, { at: 30_000, kind: 'full' }, { at: 60_000, kind: 'full' }]);
});

test('request(true) forces a full sync (e.g. the node changed)', async () => {
  const { clock, runs, loop } = loopWith();
  loop.start();
  await clock.advance(5000);
  loop.request(true);
  await clock.advance(0);
  expect(runs[1]).toEqual({ at: 5000, kind: 'full' });
});

test('after a failure: a full sync, retried with exponential backoff until it succeeds', async () => {
  const { clock, runs, loop } = loopWith({ fail: (n) => n >= 2 && n <= 4 });
  loop.start();
  await clock.advance(2000);
  loop.request();
  await clock.advance(20_000);
  // run 2 (partial) fails at 2 s; retries are full, 1 s, 2 s, 4 s after each failure.
  expect(runs.slice(0, 5)).toEqual([
    { at: 0, kind: 'full' },
    { at: 2000, kind: 'partial' },
    { at: 3000, kind: 'full' },
    { at: 5000, kind: 'full' },
    { at: 9000, kind: 'full' },
  ]);
  loop.request();
  await clock.advance(1000);
  expect(runs[5]).toEqual({ at: 22_000, kind: 'partial' });
});

test('stop waits for a running sync and schedules nothing more', async () => {
  const { clock, runs, loop } = loopWith();
  loop.start();
  await clock.advance(0);
  await loop.stop();
  loop.request();
  await clock.advance(60_000);
  expect(runs).toHaveLength(1);
});
