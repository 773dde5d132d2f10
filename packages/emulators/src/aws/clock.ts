/**
 * The emulator's notion of "now". SQS is a service of clocks (visibility timeouts, the
 * five-minute deduplication window, retention, the 60-second PurgeQueue and DeleteQueue
 * cool-downs) and a test cannot wait thirty real seconds for a message to come back, so
 * the clock is injectable: pass a {@link ManualClock} to `AwsEmulator.start({ clock })`
 * and move time with `advance`. Long polls still wait in real time (their bound is a
 * request timeout, not a property of the world); moving a manual clock wakes them so
 * they see messages that just became visible.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Subscribes to jumps in time; returns the unsubscribe function. */
  onChange?(listener: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  private current: number;
  private readonly listeners = new Set<() => void>();

  /** Starts at `start` (default 2025-01-01T00:00:00Z) and moves only when told to. */
  constructor(start: number | Date = Date.UTC(2025, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward; advance(${ms})`);
    this.set(this.current + ms);
  }

  set(to: number | Date): void {
    const next = typeof to === 'number' ? to : to.getTime();
    if (!(next >= this.current)) throw new RangeError(`a clock only moves forward; set(${new Date(next).toISOString()})`);
    this.current = next;
    for (const listener of [...this.listeners]) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
