/**
 * The proxier's live TCP connections, so that `close()` can stop listening at once and
 * still let established connections finish (bounded by a timeout) — which is what lets an
 * agent restart without breaking them: the new agent binds the ports while the old one
 * drains. Shared, with the clock and the log, by every listener of a proxier.
 */
export class LiveConnections {
  private readonly live = new Set<{ abort(): void }>();
  private idleWaiters: (() => void)[] = [];

  add(connection: { abort(): void }): void {
    this.live.add(connection);
  }

  delete(connection: { abort(): void }): void {
    this.live.delete(connection);
    if (this.live.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  get size(): number {
    return this.live.size;
  }

  /** Resolves true once no connection is left, or false after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.live.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(done);
    });
  }

  /** Ends every connection left (both sides reset). */
  abortAll(): void {
    for (const connection of [...this.live]) connection.abort();
  }
}

/** What the TCP and UDP listeners share with their proxier. */
export interface ListenerContext {
  now(): number;
  log(line: string): void;
  connections: LiveConnections;
}
