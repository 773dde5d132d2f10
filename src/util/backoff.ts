/**
 * The one exponential backoff: `baseMs · 2^(failures−1)`, capped at `maxMs`, optionally with
 * full jitter (AWS's recommendation for many clients retrying one service). An error that
 * says how long to wait (`retryAfterMs`, as ferry's RetryableError carries) is honoured as
 * the floor, still within the cap.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Pick uniformly from [0, delay] so that retries of many callers spread out. */
  jitter?: boolean;
}

export function backoffDelay(policy: BackoffPolicy, failures: number, cause?: unknown, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  const delay = policy.jitter ? Math.round(random() * exponential) : exponential;
  return Math.min(policy.maxMs, Math.max(delay, retryAfterOf(cause)));
}

function retryAfterOf(cause: unknown): number {
  const value = (cause as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
