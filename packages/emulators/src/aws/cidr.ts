/** IPv4 arithmetic for VPC/subnet CIDR rules and private IP allocation. */
export interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** A CIDR whose address is the network address (AWS rejects `10.0.1.5/24`). */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match?.[1] || match[2] === undefined) return undefined;
  const base = parseIpv4(match[1]);
  const prefix = Number(match[2]);
  if (base === undefined || prefix > 32) return undefined;
  if (base % cidrSize({ base, prefix }) !== 0) return undefined;
  return { base, prefix };
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContainsIp(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.base && ip < cidr.base + cidrSize(cidr);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContainsIp(outer, inner.base);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** RFC 1918 and RFC 6598 ranges: the only addresses outside a VPC that NLB accepts as ip targets. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map((c) => parseCidr(c) as Cidr);

export function isPrivateIpv4(ip: number): boolean {
  return PRIVATE_RANGES.some((range) => cidrContainsIp(range, ip));
}

/** A loose IPv6 CIDR check for security group rules; the emulator does not route IPv6. */
export function isIpv6Cidr(text: string): boolean {
  const match = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  return !!match && match[1]!.includes(':') && Number(match[2]) <= 128;
}
