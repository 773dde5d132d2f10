import type { Clock } from './clock';
import type { ServiceName } from './service';
import {
  EC2_RESOURCES,
  ec2RequestBucket,
  ec2ResourceCount,
  ELBV2_ACCOUNT,
  ELBV2_CATEGORIES,
  elbv2Category,
  TAGGING_CATEGORIES,
  taggingCategory,
  type BucketLimit,
  type Elbv2Category,
  type TaggingCategory,
} from './throttling-limits';

/**
 * AWS's request throttling, opt-in (`AwsEmulator.start({ throttling: true })`): EC2, ELBv2
 * and Resource Groups Tagging API calls spend tokens from the account's documented buckets
 * (throttling-limits.ts) and a call that finds a bucket empty is answered with the
 * service's throttling error, which the SDK's standard retry strategy backs off from. One
 * emulator is one account in one Region: every client, whatever its credentials or signing
 * Region, shares the buckets. SQS and Secrets Manager are not throttled.
 */
export interface ThrottlingOptions {
  /**
   * Seconds of AWS time per second of the clock (default 1): the buckets refill `scale`
   * times faster, so a benchmark can run minutes of fleet work in seconds. The SDK's
   * backoff still waits real time, so with `scale` > 1 a retry waits relatively less
   * than on AWS (README "Request throttling").
   */
  scale?: number;
  /** The clock the buckets refill on; default the emulator's clock. */
  clock?: Clock;
}

export type BucketCategory = Elbv2Category | TaggingCategory | 'account' | 'unfiltered non-mutating' | 'uncategorized' | 'resources';

/** The services whose calls spend tokens. */
export type ThrottledService = 'ec2' | 'elbv2' | 'tagging';

export interface BucketStats {
  readonly service: ThrottledService;
  /** ELBv2 and Tagging: its category (ELBv2 also `account`); EC2: the action, `X (unfiltered)` or `X (instances)`. */
  readonly name: string;
  readonly category: BucketCategory;
  readonly capacity: number;
  readonly refillPerSecond: number;
  /** Tokens now, fractional while refilling. */
  readonly tokens: number;
  /** Calls that took tokens from this bucket. */
  readonly admitted: number;
  /** Calls refused because this bucket was short (a call short in two buckets counts in both). */
  readonly throttled: number;
}

export interface CallCounts {
  readonly admitted: number;
  readonly throttled: number;
}

export interface ServiceThrottlingStats extends CallCounts {
  /** Per action, keys sorted. */
  readonly byAction: Readonly<Record<string, CallCounts>>;
}

export interface ThrottlingStats extends CallCounts {
  readonly ec2: ServiceThrottlingStats;
  readonly elbv2: ServiceThrottlingStats;
  /** Resource Groups Tagging API (GetResources & co.). */
  readonly tagging: ServiceThrottlingStats;
  /** Every bucket used so far (ELBv2's five always), by service and name. */
  readonly buckets: readonly BucketStats[];
}

export interface ThrottlingControls {
  stats(): ThrottlingStats;
  /** Zeroes the counts; tokens are left as they are, so a benchmark can count phase by phase. */
  resetStats(): void;
  /** A fresh account: every bucket full, every count zero. */
  reset(): void;
  /**
   * Admits every call without spending or counting until `resume()`, for setting up a
   * world (nodes, VPCs) outside the measured run. Buckets keep refilling meanwhile.
   */
  suspend(): void;
  resume(): void;
  readonly suspended: boolean;
}

// Below this, float residue from refilling is taken as a whole token: 50 refills of 0.2 must make 10.
const EPSILON = 1e-9;

class TokenBucket {
  admitted = 0;
  throttled = 0;
  private level: number;
  private at: number;

  constructor(
    readonly service: ThrottledService,
    readonly name: string,
    readonly category: BucketCategory,
    readonly limit: BucketLimit,
    private readonly now: () => number,
  ) {
    this.level = limit.capacity;
    this.at = now();
  }

  tokens(): number {
    const now = this.now();
    // A system clock stepping back refills nothing rather than draining.
    const elapsed = Math.max(0, now - this.at);
    this.level = Math.min(this.limit.capacity, this.level + (elapsed * this.limit.refillPerSecond) / 1000);
    this.at = now;
    return this.level;
  }

  has(count: number): boolean {
    return this.tokens() + EPSILON >= count;
  }

  take(count: number): void {
    this.level = Math.max(0, this.tokens() - count);
    this.admitted++;
  }

  fill(): void {
    this.level = this.limit.capacity;
    this.at = this.now();
  }

  stats(): BucketStats {
    return {
      service: this.service,
      name: this.name,
      category: this.category,
      capacity: this.limit.capacity,
      refillPerSecond: this.limit.refillPerSecond,
      tokens: Math.round(this.tokens() * 1e6) / 1e6,
      admitted: this.admitted,
      throttled: this.throttled,
    };
  }
}

type Charge = readonly [TokenBucket, number];

export class Throttler implements ThrottlingControls {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly counts = new Map<string, { admitted: number; throttled: number }>();
  private paused = false;
  private readonly now: () => number;

  constructor(clock: Clock, options: ThrottlingOptions = {}) {
    const scale = options.scale ?? 1;
    if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`throttling scale must be a positive number, got ${String(scale)}`);
    const source = options.clock ?? clock;
    // Bucket time: the clock's milliseconds since start, sped up by scale (from an origin, so large scales keep precision).
    const origin = source.now();
    this.now = () => (source.now() - origin) * scale;
    this.bucket('elbv2', 'account', 'account', ELBV2_ACCOUNT);
    for (const [category, limit] of Object.entries(ELBV2_CATEGORIES)) this.bucket('elbv2', category, category as Elbv2Category, limit);
  }

  /** Spends the call's tokens, or spends none and answers false when any of its buckets is short. */
  admit(service: ServiceName, action: string, params: Readonly<Record<string, string>>): boolean {
    if (this.paused || (service !== 'ec2' && service !== 'elbv2' && service !== 'tagging')) return true;
    const charges = service === 'elbv2' ? this.elbv2Charges(action) : service === 'tagging' ? this.taggingCharges(action) : this.ec2Charges(action, params);
    // Tagging operations without a documented rate (GetComplianceSummary, reports) are not throttled or counted.
    if (charges.length === 0) return true;
    const counts = this.countsFor(service, action);
    // All or nothing: a refused call takes no token from the buckets that had some.
    const short = charges.filter(([bucket, count]) => !bucket.has(count));
    if (short.length > 0) {
      for (const [bucket] of short) bucket.throttled++;
      counts.throttled++;
      return false;
    }
    for (const [bucket, count] of charges) bucket.take(count);
    counts.admitted++;
    return true;
  }

  stats(): ThrottlingStats {
    const ec2 = this.serviceStats('ec2');
    const elbv2 = this.serviceStats('elbv2');
    const tagging = this.serviceStats('tagging');
    const buckets = [...this.buckets.values()].map((bucket) => bucket.stats()).sort((a, b) => compare(`${a.service}:${a.name}`, `${b.service}:${b.name}`));
    return {
      admitted: ec2.admitted + elbv2.admitted + tagging.admitted,
      throttled: ec2.throttled + elbv2.throttled + tagging.throttled,
      ec2,
      elbv2,
      tagging,
      buckets,
    };
  }

  resetStats(): void {
    this.counts.clear();
    for (const bucket of this.buckets.values()) {
      bucket.admitted = 0;
      bucket.throttled = 0;
    }
  }

  reset(): void {
    this.resetStats();
    for (const bucket of this.buckets.values()) bucket.fill();
  }

  suspend(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get suspended(): boolean {
    return this.paused;
  }

  private elbv2Charges(action: string): Charge[] {
    const category = elbv2Category(action);
    return [
      [this.bucket('elbv2', category, category, ELBV2_CATEGORIES[category]), 1],
      [this.bucket('elbv2', 'account', 'account', ELBV2_ACCOUNT), 1],
    ];
  }

  private ec2Charges(action: string, params: Readonly<Record<string, string>>): Charge[] {
    const request = ec2RequestBucket(action, params);
    const charges: Charge[] = [[this.bucket('ec2', request.name, request.category, request), 1]];
    const resources = EC2_RESOURCES[action];
    if (resources) charges.push([this.bucket('ec2', `${action} (instances)`, 'resources', resources), ec2ResourceCount(action, params)]);
    return charges;
  }

  /** One bucket per documented rate, shared by the operations it lists; created on first use. */
  private taggingCharges(action: string): Charge[] {
    const category = taggingCategory(action);
    return category ? [[this.bucket('tagging', category, category, TAGGING_CATEGORIES[category]), 1]] : [];
  }

  private bucket(service: ThrottledService, name: string, category: BucketCategory, limit: BucketLimit): TokenBucket {
    const key = `${service}:${name}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(service, name, category, { capacity: limit.capacity, refillPerSecond: limit.refillPerSecond }, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private countsFor(service: ThrottledService, action: string): { admitted: number; throttled: number } {
    const key = `${service}:${action}`;
    let counts = this.counts.get(key);
    if (!counts) {
      counts = { admitted: 0, throttled: 0 };
      this.counts.set(key, counts);
    }
    return counts;
  }

  private serviceStats(service: ThrottledService): ServiceThrottlingStats {
    const prefix = `${service}:`;
    const byAction: Record<string, CallCounts> = {};
    let admitted = 0;
    let throttled = 0;
    for (const [key, counts] of [...this.counts].sort(([a], [b]) => compare(a, b))) {
      if (!key.startsWith(prefix)) continue;
      byAction[key.slice(prefix.length)] = { ...counts };
      admitted += counts.admitted;
      throttled += counts.throttled;
    }
    return { admitted, throttled, byAction };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
