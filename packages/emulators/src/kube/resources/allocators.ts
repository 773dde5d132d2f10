/**
 * ClusterIP and NodePort allocators (pkg/registry/core/service/ipallocator and
 * portallocator) with their error texts.
 *
 * Both reserve a low "static" band for user-requested values
 * (ServiceIPStaticSubrange / ServiceNodePortStaticSubrange: min(max(16, size/step), cap))
 * and hand out dynamic values from above it first. The real allocators pick randomly
 * inside the band; these walk it in order from where the last allocation stopped (next
 * fit), so results are deterministic for tests and snapshots and a value just released is
 * not handed straight to the next Service. Only IPv4 service CIDRs are supported (single-stack IPv4 cluster).
 */

export class AllocationError extends Error {}

export interface Pool<T> {
  allocate(value: T): void;
  allocateNext(): T;
  release(value: T): void;
}

/** calculateRangeOffset of both allocators. */
function staticBand(size: number, min: number, max: number, step: number): number {
  if (size <= min) return 0;
  return Math.min(Math.max(min, Math.floor(size / step)), max);
}

class OffsetBitmap {
  private readonly used = new Set<number>();
  /** Next-fit cursor: a value just released is not handed out again right away. */
  private cursor: number;
  constructor(
    readonly size: number,
    private readonly dynamicStart: number,
  ) {
    this.cursor = dynamicStart;
  }
  take(offset: number): boolean {
    if (this.used.has(offset)) return false;
    this.used.add(offset);
    return true;
  }
  takeNext(): number | undefined {
    const order = [
      [this.cursor, this.size],
      [this.dynamicStart, this.cursor],
      [0, this.dynamicStart],
    ] as const;
    for (const [from, to] of order) {
      for (let i = from; i < to; i++) {
        if (this.take(i)) {
          this.cursor = i + 1 < this.size ? i + 1 : this.dynamicStart;
          return i;
        }
      }
    }
    return undefined;
  }
  free(offset: number): void {
    this.used.delete(offset);
  }
}

export function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export class IPv4Allocator implements Pool<string> {
  /** The CIDR as Go prints it (network address normalised). */
  readonly cidr: string;
  private readonly base: number;
  private readonly bitmap: OffsetBitmap;

  constructor(cidr: string) {
    const [ip, bits] = cidr.split('/');
    const addr = ipv4ToInt(ip ?? '');
    const prefix = Number(bits);
    if (addr === undefined || !Number.isInteger(prefix) || prefix < 1 || prefix > 30) {
      throw new Error(`unsupported service CIDR ${JSON.stringify(cidr)}: an IPv4 CIDR with a prefix of /1 to /30 is required`);
    }
    const size = 2 ** (32 - prefix);
    const network = addr - (addr % size);
    this.cidr = `${intToIpv4(network)}/${prefix}`;
    // The network and broadcast addresses are never handed out.
    this.base = network + 1;
    const usable = size - 2;
    this.bitmap = new OffsetBitmap(usable, staticBand(usable, 16, 256, 16));
  }

  /** The first usable address: the `kubernetes` Service's ClusterIP. */
  get first(): string {
    return intToIpv4(this.base);
  }

  private offsetOf(ip: string): number | undefined {
    const n = ipv4ToInt(ip);
    if (n === undefined) return undefined;
    const offset = n - this.base;
    return offset >= 0 && offset < this.bitmap.size ? offset : undefined;
  }

  allocate(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset === undefined) throw new AllocationError(`the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`);
    if (!this.bitmap.take(offset)) throw new AllocationError('provided IP is already allocated');
  }

  allocateNext(): string {
    const offset = this.bitmap.takeNext();
    if (offset === undefined) throw new AllocationError('range is full');
    return intToIpv4(this.base + offset);
  }

  release(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset !== undefined) this.bitmap.free(offset);
  }
}

export class PortAllocator implements Pool<number> {
  private readonly bitmap: OffsetBitmap;

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new Error(`invalid node port range ${min}-${max}`);
    }
    const size = max - min + 1;
    this.bitmap = new OffsetBitmap(size, staticBand(size, 16, 128, 32));
  }

  get range(): string {
    return `${this.min}-${this.max}`;
  }

  allocate(port: number): void {
    if (port < this.min || port > this.max) {
      throw new AllocationError(`provided port is not in the valid range. The range of valid ports is ${this.range}`);
    }
    if (!this.bitmap.take(port - this.min)) throw new AllocationError('provided port is already allocated');
  }

  allocateNext(): number {
    const offset = this.bitmap.takeNext();
    if (offset === undefined) throw new AllocationError('range is full');
    return this.min + offset;
  }

  release(port: number): void {
    if (port >= this.min && port <= this.max) this.bitmap.free(port - this.min);
  }
}

/** What a create/update hook hands back to the registry: finish it one way or the other. */
export interface Transaction {
  commit(): void;
  revert(): void;
}

export const noTransaction: Transaction = { commit() {}, revert() {} };

export function combine(...txns: Transaction[]): Transaction {
  return {
    commit: () => txns.forEach((t) => t.commit()),
    revert: () => [...txns].reverse().forEach((t) => t.revert()),
  };
}

/**
 * portallocator.PortAllocationOperation, generalised: allocations happen at once and are
 * undone on revert; releases are deferred to commit, so a failed update keeps what the
 * old object held.
 */
export class AllocationOperation<T> implements Transaction {
  private readonly allocated: T[] = [];
  private readonly deferred: T[] = [];
  constructor(private readonly pool: Pool<T>) {}

  allocate(value: T): void {
    this.pool.allocate(value);
    this.allocated.push(value);
  }
  allocateNext(): T {
    const value = this.pool.allocateNext();
    this.allocated.push(value);
    return value;
  }
  releaseDeferred(value: T): void {
    this.deferred.push(value);
  }
  commit(): void {
    for (const value of this.deferred) this.pool.release(value);
    this.deferred.length = 0;
    this.allocated.length = 0;
  }
  revert(): void {
    for (const value of this.allocated) this.pool.release(value);
    this.deferred.length = 0;
    this.allocated.length = 0;
  }
}
