/**
 * A concurrency limiter: at most `concurrency` of the functions given to it run at once,
 * the rest wait in order. Give it leaf work only (one AWS call, say): a function that holds
 * a slot while it waits for another slot of the same limiter deadlocks once every slot is
 * held that way.
 */
export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

export function limiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

/**
 * Runs `fn` over every item at once and waits for all of them, even when some fail, so that
 * no call is still in flight when the caller moves on; then throws the first failure. How
 * many AWS calls run at once is the clients' limit (`AwsClients.scoped`), not this loop's.
 */
export async function settleAll<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = await Promise.allSettled(items.map((item) => fn(item)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
