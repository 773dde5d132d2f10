/**
 * ClientIP session affinity for one service entry: client address → endpoint, expiring
 * `timeoutSeconds` after the client's last new connection (or UDP session), as kube-proxy's
 * userspace mode did (it refreshed `lastUsed` on every pick). Pure: the clock is passed in.
 */
export class AffinityTable {
  private readonly entries = new Map<string, { endpoint: string; lastUsed: number }>();

  constructor(private timeoutMs: number) {}

  setTimeout(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
  }

  /** The client's endpoint if its entry has not expired; expired entries are dropped. */
  lookup(client: string, now: number): string | undefined {
    const entry = this.entries.get(client);
    if (entry === undefined) return undefined;
    if (now - entry.lastUsed >= this.timeoutMs) {
      this.entries.delete(client);
      return undefined;
    }
    return entry.endpoint;
  }

  /** Pins (or re-pins, after a failed connect) the client and restarts its timeout. */
  record(client: string, endpoint: string, now: number): void {
    const entry = this.entries.get(client);
    if (entry !== undefined) {
      entry.endpoint = endpoint;
      entry.lastUsed = now;
    } else {
      this.entries.set(client, { endpoint, lastUsed: now });
    }
  }

  /** Drops expired entries and those of endpoints that are gone, so the table stays bounded. */
  sweep(now: number, liveEndpoints?: ReadonlySet<string>): void {
    for (const [client, entry] of this.entries) {
      const gone = liveEndpoints !== undefined && !liveEndpoints.has(entry.endpoint);
      if (gone || now - entry.lastUsed >= this.timeoutMs) this.entries.delete(client);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
