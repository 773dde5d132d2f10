/**
 * Wake-ups for long polls. A ReceiveMessage with WaitTimeSeconds parks on its queue's
 * key and returns as soon as something that could make a message receivable happens
 * (a send, a visibility change, a delete that unblocks a FIFO group, the manual clock
 * moving) rather than when its wait runs out, as AWS's long polling does. The server
 * owns one instance and closes it with the emulator, so no timer outlives `close()`.
 */
interface Waiter {
  readonly key: string;
  readonly timer: NodeJS.Timeout;
  readonly wake: () => void;
}

export class Signals {
  private readonly waiting = new Set<Waiter>();
  private closed = false;

  /**
   * Waits up to `ms` for {@link notify} on `key`. Resolves true when woken or timed out
   * (the caller re-checks its condition either way), false once the emulator is closed.
   */
  wait(key: string, ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        timer: setTimeout(() => waiter.wake(), Math.max(0, ms)),
        wake: () => {
          clearTimeout(waiter.timer);
          this.waiting.delete(waiter);
          resolve(!this.closed);
        },
      };
      this.waiting.add(waiter);
    });
  }

  notify(key: string): void {
    for (const waiter of [...this.waiting]) if (waiter.key === key) waiter.wake();
  }

  notifyAll(): void {
    for (const waiter of [...this.waiting]) waiter.wake();
  }

  close(): void {
    this.closed = true;
    this.notifyAll();
  }
}
