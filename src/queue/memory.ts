import { describeError, isDeferral } from '../errors';
import { backoffDelay } from '../util/backoff';
import type { Log } from '../util/log';
import type { QueuedMessage, WorkMessage, WorkQueue } from './messages';

export interface MemoryQueueOptions {
  workers: number;
  /** Runs one message; a throw schedules a retry with backoff. */
  process(message: WorkMessage, id: string): Promise<void>;
  /** First retry delay; doubles per failure up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Failures after which a message is dropped (SQS's maxReceiveCount and dead-letter queue):
   * a message that always fails must not keep a worker busy forever. The resync queues the
   * Service again at its own pace.
   */
  maxFailures?: number;
  log?: Log;
}

export const DEFAULT_MAX_FAILURES = 8;

interface Pending {
  message: WorkMessage;
  id: string;
  failures: number;
  /** Times it was deferred (throttled, in progress): these count toward no limit. */
  deferrals: number;
  notBefore: number;
}

/**
 * `ferry controller`'s queue, with SQS FIFO's guarantees where they matter: work for one
 * group (one Service) never runs twice at once, and a message for a group that already has
 * one waiting is merged into it (level-based work only needs to happen once more). Groups
 * run in parallel on `workers` workers. Failures retry with exponential backoff.
 */
export class MemoryWorkQueue implements WorkQueue {
  readonly delays = true;
  private readonly waiting = new Map<string, Pending>();
  private readonly running = new Set<string>();
  private readonly order: string[] = [];
  /** The one timer that wakes the queue for the earliest retry, and when it is due. */
  private wake: { at: number; timer: NodeJS.Timeout } | undefined;
  private active = 0;
  private sequence = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: MemoryQueueOptions) {}

  async send(messages: readonly QueuedMessage[]): Promise<void> {
    const now = Date.now();
    for (const m of messages) this.add(m.group, m.message, 0, m.delaySeconds ? now + m.delaySeconds * 1000 : 0);
    this.pump();
  }

  /** Resolves when nothing is waiting, running or scheduled for retry (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get depth(): number {
    return this.waiting.size;
  }

  /** Messages dropped after `maxFailures` failures. */
  deadLetters = 0;

  stop(): void {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = undefined;
    this.waiting.clear();
    this.order.length = 0;
    this.settleIdle();
  }

  private add(group: string, message: WorkMessage, failures: number, notBefore = 0, deferrals = 0): void {
    if (this.stopped) return;
    const existing = this.waiting.get(group);
    if (existing) {
      existing.message = merge(existing.message, message);
      existing.failures = Math.min(existing.failures, failures);
      existing.deferrals = Math.min(existing.deferrals, deferrals);
      existing.notBefore = Math.min(existing.notBefore, notBefore);
      return;
    }
    this.waiting.set(group, { message, id: `m${++this.sequence}`, failures, deferrals, notBefore });
    this.order.push(group);
  }

  private pump(): void {
    const now = Date.now();
    let nextRetry = Infinity;
    for (let i = 0; i < this.order.length && this.active < this.options.workers; i++) {
      const group = this.order[i]!;
      const item = this.waiting.get(group);
      if (!item || this.running.has(group)) continue;
      if (item.notBefore > now) {
        nextRetry = Math.min(nextRetry, item.notBefore);
        continue;
      }
      this.order.splice(i--, 1);
      this.waiting.delete(group);
      void this.run(group, item);
    }
    if (nextRetry < Infinity) this.wakeAt(nextRetry);
    this.settleIdle();
  }

  /**
   * Pumps again at `at`. Whatever a pump finds not yet due re-arms this, so a timer that
   * fires a millisecond early (timers and Date.now() are different clocks) cannot strand a retry.
   */
  private wakeAt(at: number): void {
    if (this.stopped || (this.wake && this.wake.at <= at)) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(() => {
      this.wake = undefined;
      this.pump();
    }, Math.max(0, at - Date.now()));
    timer.unref();
    this.wake = { at, timer };
  }

  private async run(group: string, item: Pending): Promise<void> {
    this.active++;
    this.running.add(group);
    try {
      await this.options.process(item.message, item.id);
    } catch (err) {
      if (isDeferral(err)) {
        // Throttled, or waiting on AWS (an adoption's health checks): back off, spread out,
        // but never give up on it.
        const deferrals = item.deferrals + 1;
        const delay = backoffDelay({ baseMs: this.options.backoffMs ?? 1000, maxMs: this.options.maxBackoffMs ?? 300_000, jitter: true }, deferrals, err);
        this.options.log?.({ level: 'info', msg: 'work deferred', group, deferrals, delayMs: delay, reason: describeError(err) });
        this.add(group, item.message, item.failures, Date.now() + delay, deferrals);
        return;
      }
      const failures = item.failures + 1;
      if (failures >= (this.options.maxFailures ?? DEFAULT_MAX_FAILURES)) {
        this.deadLetters++;
        this.options.log?.({ level: 'error', msg: 'work failed too often; dropped until the next resync', group, failures, error: describeError(err) });
        return;
      }
      const delay = backoffDelay({ baseMs: this.options.backoffMs ?? 1000, maxMs: this.options.maxBackoffMs ?? 300_000 }, failures, err);
      this.options.log?.({ level: 'warn', msg: 'work failed; retrying', group, failures, delayMs: delay, error: describeError(err) });
      this.add(group, item.message, failures, Date.now() + delay, item.deferrals);
    } finally {
      this.running.delete(group);
      this.active--;
      this.pump();
    }
  }

  private isIdle(): boolean {
    return this.waiting.size === 0 && this.active === 0;
  }

  private settleIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** Two pending messages of one group are one: a full check wins over a quick one. */
function merge(a: WorkMessage, b: WorkMessage): WorkMessage {
  if (a.kind === 'service' && b.kind === 'service') return { ...a, ...((a.full || b.full) ? { full: true } : {}) };
  return a;
}
