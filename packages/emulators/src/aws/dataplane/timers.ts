/**
 * Every timer of the data plane, in AWS seconds scaled to real milliseconds. AWS's
 * intervals (health checks every 5–300 s, a 300 s deregistration delay, a 350 s idle
 * timeout) would make tests and the playground crawl, so one factor shrinks them all
 * alike: with `timeScale: 0.01` a 30 s interval passes in 300 ms and the ratios between
 * timers (timeout < interval, delay vs. interval) stay what AWS has.
 *
 * Timers are unref'd (they never keep a process alive on their own) and all cleared by
 * `close()`, so a closed emulator leaves none behind.
 */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(readonly scale: number) {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`dataPlane.timeScale must be a positive number; got ${scale}`);
  }

  /** Real milliseconds for a duration AWS states in seconds. */
  ms(awsSeconds: number): number {
    return Math.max(1, Math.round(awsSeconds * 1000 * this.scale));
  }

  /** Runs `fn` after `awsSeconds` (scaled); the returned function cancels it. */
  after(awsSeconds: number, fn: () => void): () => void {
    return this.afterMs(this.ms(awsSeconds), fn);
  }

  /** Runs `fn` after `ms` real milliseconds (already scaled); the returned function cancels it. */
  afterMs(ms: number, fn: () => void): () => void {
    if (this.closed) return () => {};
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.pending.add(timer);
    return () => {
      clearTimeout(timer);
      this.pending.delete(timer);
    };
  }

  get size(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
