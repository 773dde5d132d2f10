/**
 * ferry's error vocabulary, kept deliberately small (as in k8s.io/cloud-provider):
 *
 * - {@link ConfigError}: the user's input cannot be served as it is (an annotation,
 *   a Service field, the environment). Retrying does not help; the message says what
 *   to change. Reconciles turn it into a `SyncLoadBalancerFailed` Event.
 * - {@link RetryableError}: a transient condition (throttling that outlasted the
 *   backoff, a conflict, a dependency AWS has not released yet). The host retries,
 *   after `retryAfterMs` when given.
 * - {@link OwnershipError}: a resource ferry would have to touch is not ferry's.
 *   ferry never modifies it; the user has to resolve the clash.
 */
export class FerryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends FerryError {}

export class OwnershipError extends FerryError {}

export class RetryableError extends FerryError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Someone else changed the object between ferry's read and its conditional write. */
export class ConflictError extends RetryableError {}

/**
 * Work that is done as far as it can be for now (an adoption waiting for its new target
 * groups to pass health checks): not a failure, but the host should come back after
 * `retryAfterMs`.
 */
export class InProgressError extends RetryableError {}

/**
 * AWS kept answering "slow down" through every retry the SDK makes: the account's request
 * budget is spent (by ferry or by anyone else in it). Not the work's fault: the host comes
 * back later and does not count it towards giving up (a burst must never end in the
 * dead-letter queue).
 */
export class ThrottledError extends RetryableError {}

/** Work to come back to rather than a failure: it counts toward no dead-letter limit. */
export function isDeferral(err: unknown): err is InProgressError | ThrottledError {
  return err instanceof InProgressError || err instanceof ThrottledError;
}

/**
 * A unit of work ran out of time. What it did stays done (every step is safe to interrupt)
 * and the next attempt continues from what it observes.
 */
export class DeadlineError extends RetryableError {}

/** A message fit for a log line or an Event, whatever was thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
