import { AwsError } from './errors';
import { seededRng, type Rng } from './random';
import type { Throttles } from './service';

/**
 * Fault injection, decided per call before the handler runs. Each kind answers in
 * exactly the shape AWS uses so that the SDK's standard retry strategy classifies it
 * the way it would classify the real thing:
 *
 * - throttling: ELBv2 `400 Throttling "Rate exceeded"`, EC2 `503 RequestLimitExceeded`,
 *   SQS `403 RequestThrottled`, Secrets Manager `400 ThrottlingException`, Tagging
 *   `400 ThrottledException` (every one of these codes is on the SDK's throttling list, so
 *   they are retried with backoff);
 * - server errors: `500 InternalFailure` or `503 ServiceUnavailable` (5xx is transient);
 * - failAfter: `400 FerryInjectedFault`, which no retry strategy retries, standing in
 *   for a process that dies after its k-th write.
 *
 * `throttle(rate)` refuses calls at random, whatever the load; AWS's own rate limits
 * (token buckets that a burst empties) are `start({ throttling })`, in throttling.ts.
 */
export interface FaultOptions {
  readonly seed?: number;
}

export interface FaultControls {
  throttle(rate: number, options?: FaultOptions & { actions?: string[] }): void;
  serverErrors(rate: number, options?: FaultOptions): void;
  latency(ms: number): void;
  failAfter(k: number, options?: { mutatingOnly?: boolean }): void;
  clear(): void;
}

const DEFAULT_SEED = 1;

function checkRate(rate: number): void {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rate must be between 0 and 1, got ${rate}`);
}

export class FaultInjector implements FaultControls {
  private throttling: { rate: number; rng: Rng; actions: ReadonlySet<string> | undefined } | undefined;
  private serverFailures: { rate: number; rng: Rng } | undefined;
  private cutoff: { limit: number; succeeded: number; mutatingOnly: boolean } | undefined;
  private delay = 0;

  throttle(rate: number, options: FaultOptions & { actions?: string[] } = {}): void {
    checkRate(rate);
    this.throttling = { rate, rng: seededRng(options.seed ?? DEFAULT_SEED), actions: options.actions ? new Set(options.actions) : undefined };
  }

  serverErrors(rate: number, options: FaultOptions = {}): void {
    checkRate(rate);
    this.serverFailures = { rate, rng: seededRng(options.seed ?? DEFAULT_SEED) };
  }

  latency(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be a non-negative number of milliseconds, got ${ms}`);
    this.delay = ms;
  }

  failAfter(k: number, options: { mutatingOnly?: boolean } = {}): void {
    if (!(Number.isInteger(k) && k >= 0)) throw new RangeError(`failAfter needs a non-negative integer, got ${k}`);
    this.cutoff = { limit: k, succeeded: 0, mutatingOnly: options.mutatingOnly ?? true };
  }

  clear(): void {
    this.throttling = undefined;
    this.serverFailures = undefined;
    this.cutoff = undefined;
    this.delay = 0;
  }

  get latencyMs(): number {
    return this.delay;
  }

  /** The error to answer this call with instead of running it, if a fault applies. */
  before(service: Throttles, action: string): AwsError | undefined {
    if (this.cutoff && this.cutoff.succeeded >= this.cutoff.limit) {
      const what = this.cutoff.mutatingOnly ? 'mutating calls' : 'calls';
      return new AwsError('FerryInjectedFault', `Injected fault: every call fails after ${this.cutoff.limit} successful ${what}`, 400);
    }
    const throttling = this.throttling;
    if (throttling && (!throttling.actions || throttling.actions.has(action)) && throttling.rng() < throttling.rate) {
      return service.throttlingError();
    }
    const failures = this.serverFailures;
    if (failures && failures.rng() < failures.rate) {
      return failures.rng() < 0.5
        ? new AwsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500)
        : new AwsError('ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', 503);
    }
    return undefined;
  }

  /** Counts a call the service answered, for failAfter. */
  after(mutating: boolean, succeeded: boolean): void {
    if (this.cutoff && succeeded && (mutating || !this.cutoff.mutatingOnly)) this.cutoff.succeeded++;
  }
}
