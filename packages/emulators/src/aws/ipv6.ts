/**
 * IPv6 arithmetic for the Amazon-provided VPC /56, subnet /64s and the IPv6 addresses
 * of NLB subnet mappings. Addresses are 128-bit BigInts.
 */
export interface Ipv6Cidr {
  readonly base: bigint;
  readonly prefix: number;
}

export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.split('::').length > 2) return undefined;
  const [head = '', tail] = text.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 form: lower case, the longest run of zero groups (two or more) as `::`. */
export function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** A CIDR whose address is its network address. */
export function parseIpv6Cidr(text: string): Ipv6Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match?.[1] || match[2] === undefined) return undefined;
  const base = parseIpv6(match[1]);
  const prefix = Number(match[2]);
  if (base === undefined || prefix > 128) return undefined;
  if (base & ((1n << BigInt(128 - prefix)) - 1n)) return undefined;
  return { base, prefix };
}

export function ipv6CidrContains(cidr: Ipv6Cidr, ip: bigint): boolean {
  return ip >> BigInt(128 - cidr.prefix) === cidr.base >> BigInt(128 - cidr.prefix);
}

export function formatIpv6Cidr(cidr: Ipv6Cidr): string {
  return `${formatIpv6(cidr.base)}/${cidr.prefix}`;
}
