/**
 * Every connection (TCP, TLS) and UDP flow the data plane carries, by the target it goes
 * to and the listener node it came through, so draining, unhealthy targets, deleted
 * listeners and `close()` can end exactly the right ones.
 */
export interface Flow {
  /** The target's health record key, `<target group ARN>|<id>:<port>`; undefined while no target is chosen yet. */
  target: string | undefined;
  /** The frontend (listener node) it arrived on. */
  readonly frontend: string;
  /** Ends it abruptly: a TCP RST to both sides, or the UDP flow forgotten. */
  reset(): void;
  /** Ends it quietly (the emulator is closing): sockets destroyed without a RST. */
  end(): void;
}

export class Flows {
  private readonly all = new Set<Flow>();

  add(flow: Flow): void {
    this.all.add(flow);
  }

  delete(flow: Flow): void {
    this.all.delete(flow);
  }

  toTarget(target: string): Flow[] {
    return [...this.all].filter((flow) => flow.target === target);
  }

  resetTarget(target: string): void {
    for (const flow of this.toTarget(target)) flow.reset();
  }

  resetFrontend(frontend: string): void {
    for (const flow of [...this.all]) if (flow.frontend === frontend) flow.reset();
  }

  endFrontend(frontend: string): void {
    for (const flow of [...this.all]) if (flow.frontend === frontend) flow.end();
  }

  endAll(): void {
    for (const flow of [...this.all]) flow.end();
    this.all.clear();
  }

  get size(): number {
    return this.all.size;
  }
}
