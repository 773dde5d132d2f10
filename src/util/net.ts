import { BlockList, isIP } from 'node:net';

/**
 * Addresses as users write them, parsed once on top of `node:net`. Each parser returns
 * undefined for anything else, so the caller can name its flag or field in the refusal.
 */

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port`, port 0–65535; with `ipOnly`, the host must be an IP address. */
export function parseHostPort(text: string, options: { ipOnly?: boolean } = {}): HostPort | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || port > 65535) return undefined;
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  if (options.ipOnly && isIP(host) === 0) return undefined;
  return { host, port };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatHostPort({ host, port }: HostPort): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** `10.0.0.0/8` or `fd00::/64`; IPv6 is returned in lower case. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefix = '', extra] = text.trim().split('/');
  const family = isIP(address);
  if (extra !== undefined || family === 0 || !/^\d{1,3}$/.test(prefix)) return undefined;
  const bits = Number(prefix);
  if (bits > (family === 4 ? 32 : 128)) return undefined;
  return { address: family === 6 ? address.toLowerCase() : address, prefix: bits, family: family === 6 ? 6 : 4 };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}

/** A set of CIDRs to test addresses against. */
export function cidrSet(cidrs: readonly Cidr[]): { has(ip: string): boolean } {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family === 6 ? 'ipv6' : 'ipv4');
  return { has: (ip) => isIP(ip) !== 0 && list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4') };
}
