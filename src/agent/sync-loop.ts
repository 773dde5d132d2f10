/**
 * The one loop that applies changes (kube-proxy's BoundedFrequencyRunner plus its
 * `needFullSync` flag):
 * - a requested sync runs as soon as allowed, but at most once per `minSyncIntervalMs`
 *   (a burst of changes becomes one sync);
 * - a full sync runs at least every `syncPeriodMs`, repairing anything that drifted;
 * - after a failure the next sync is full (the kernel may hold anything) and waits an
 *   exponential backoff, from 1 s up to the sync period;
 * - syncs never overlap.
 */
import { backoffDelay } from '../util/backoff';

export type SyncKind = 'full' | 'partial';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface SyncLoopOptions {
  minSyncIntervalMs: number;
  syncPeriodMs: number;
  /** Does the work; throws on failure. */
  run(kind: SyncKind): Promise<void>;
  clock?: Clock;
  onError?(err: unknown, kind: SyncKind): void;
}

const FIRST_BACKOFF_MS = 1000;

export class SyncLoop {
  private readonly clock: Clock;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private requested = false;
  private needFull = true;
  private failures = 0;
  private lastStart = -Infinity;
  private lastEnd = -Infinity;
  private lastFull = -Infinity;
  private started = false;
  private stopped = false;

  constructor(private readonly options: SyncLoopOptions) {
    this.clock = options.clock ?? realClock;
  }

  /** Begins with a full sync. */
  start(): void {
    this.started = true;
    this.requested = true;
    this.schedule();
  }

  /** Asks for a sync; `full` forces a full one. */
  request(full = false): void {
    this.requested = true;
    if (full) this.needFull = true;
    this.schedule();
  }

  /** Stops scheduling; resolves when a running sync has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** When the next sync may run (for tests and logs). */
  nextDue(): number {
    const now = this.clock.now();
    const backoff = this.failures > 0 ? this.lastEnd + backoffDelay({ baseMs: FIRST_BACKOFF_MS, maxMs: this.options.syncPeriodMs }, this.failures) : -Infinity;
    const periodic = this.lastFull + this.options.syncPeriodMs;
    const requested = this.requested ? Math.max(now, this.lastStart + this.options.minSyncIntervalMs) : Infinity;
    return Math.max(backoff, Math.min(requested, periodic));
  }

  private schedule(): void {
    if (!this.started || this.stopped || this.running) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const delay = Math.max(0, this.nextDue() - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, delay);
  }

  private async runOnce(): Promise<void> {
    const now = this.clock.now();
    const kind: SyncKind = this.needFull || now - this.lastFull >= this.options.syncPeriodMs ? 'full' : 'partial';
    this.requested = false;
    this.needFull = false;
    this.lastStart = now;
    try {
      await this.options.run(kind);
      this.failures = 0;
      if (kind === 'full') this.lastFull = now;
    } catch (err) {
      this.failures += 1;
      this.needFull = true;
      this.requested = true;
      this.options.onError?.(err, kind);
    } finally {
      this.lastEnd = this.clock.now();
    }
  }
}
