/**
 * The parsers of the agent's option values, one per kind of value: each takes the text as
 * read (from a flag, the --config file or the environment) and the label of where it came
 * from, and returns the value or throws a ConfigError naming the label, the value and what
 * is accepted.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors';
import { parseDuration } from '../util/duration';
import { parseCidr, parseHostPort, type Cidr } from '../util/net';
import { INTERFACE_NAME } from './pod-traffic';

/** A flag's text as read: a string for a flag with a value, true or false for a switch, undefined when absent. */
export type Text = string | boolean | undefined;

export const text = (value: Text): string => (typeof value === 'string' ? value : '');
export const optional = (value: Text): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function oneOf<T extends string>(flag: string, value: string, accepted: readonly T[]): T {
  if ((accepted as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${flag} ${JSON.stringify(value)} is not supported: expected one of ${accepted.join(', ')}`);
}

/** Go-style durations as kube-proxy takes them: `30s`, `1m30s`, `500ms`, `0s`, `0`. */
export function duration(flag: string, value: string): number {
  const ms = value === '0' ? 0 : parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a duration: expected e.g. 30s, 1m30s or 500ms`);
  return ms;
}

export function optionalDuration(flag: string, value: Text): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = duration(flag, value);
  return ms > 0 ? ms : undefined;
}

export function count(flag: string, value: Text): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 2 ** 31 - 1) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a count: expected a whole number from 0 to 2147483647`);
  return Number(value) > 0 ? Number(value) : undefined;
}

/** Go's booleans: the flag alone is true; `=true`, `=false` (and 1, 0) say which. */
export function bool(flag: string, value: Text): boolean {
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  if (/^(true|1|t)$/i.test(value)) return true;
  if (/^(false|0|f)$/i.test(value)) return false;
  throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a boolean: expected true or false`);
}

export function bind(flag: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (!parseHostPort(value, { ipOnly: true })) {
    throw new ConfigError(`${flag} ${JSON.stringify(value)} is not an address to listen on: expected IP:port such as 0.0.0.0:10256 or [::]:10256 (empty disables it)`);
  }
  return value;
}

export function ipAddress(flag: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (isIP(value) === 0) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not an IP address: expected e.g. 10.0.0.5, 0.0.0.0 or ::`);
  // kube-proxy: an unspecified address leaves the node IP to the Node object.
  return value === '0.0.0.0' || value === '::' ? undefined : value;
}

export function interfaceName(flag: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (!INTERFACE_NAME.test(value)) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not an interface name: expected 1 to 15 letters, digits, '_', '.', ':', '@' or '-'`);
  return value;
}

function cidrs(flag: string, value: string): Cidr[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return list.map((entry) => {
    const cidr = parseCidr(entry);
    if (!cidr) throw new ConfigError(`${flag} entry ${JSON.stringify(entry)} is not a CIDR: expected comma-separated CIDRs such as 10.0.0.0/8,fd00::/64`);
    return cidr;
  });
}

/** kube-proxy's keywords: `primary` is the default (the Node's addresses), `all` every address. */
export function nodePortCidrs(flag: string, value: string): string[] {
  const words = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (words.includes('primary')) {
    if (words.length > 1) throw new ConfigError(`${flag} ${JSON.stringify(value)} mixes primary with other entries: expected primary alone, or CIDRs (and all)`);
    return [];
  }
  if (words.includes('localhost')) {
    throw new ConfigError(`${flag} entry "localhost" is not supported: the agent never serves NodePorts on loopback addresses; expected CIDRs, primary or all`);
  }
  return cidrs(flag, words.flatMap((w) => (w === 'all' ? ['0.0.0.0/0', '::/0'] : [w])).join(',')).map((c) => `${c.address}/${c.prefix}`);
}

/** At most one CIDR per family (kube-proxy's dual-stack pair), each as its network address. */
export function clusterCidrs(flag: string, value: string): string[] {
  const list = cidrs(flag, value);
  for (const family of [4, 6] as const) {
    if (list.filter((c) => c.family === family).length > 1) throw new ConfigError(`${flag} ${JSON.stringify(value)} has two IPv${family} CIDRs: expected one per family, such as 10.244.0.0/16,fd00:10:244::/56`);
  }
  return list.map(networkOf);
}

/** `10.244.1.5/16` → `10.244.0.0/16`: nft refuses host bits in a prefix. */
export function networkOf(cidr: Cidr): string {
  const bytes = cidr.family === 4 ? cidr.address.split('.').map(Number) : ipv6Bytes(cidr.address);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, cidr.prefix - 8 * i));
    bytes[i]! &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  if (cidr.family === 4) return `${bytes.join('.')}/${cidr.prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // Compressing the longest run of zero groups is what nft and ip print; not needed to be valid.
  return `${groups.join(':')}/${cidr.prefix}`;
}

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const h = parse(head);
  const t = parse(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (groups: string[]) =>
    groups.flatMap((g) => (g.includes('.') ? g.split('.').map(Number).reduce<string[]>((out, b, i, all) => (i % 2 === 0 ? [...out, ((b << 8) | all[i + 1]!).toString(16)] : out), []) : [g]));
  const hh = expand(h);
  const tt = expand(t);
  const groups = address.includes('::') ? [...hh, ...Array(8 - hh.length - tt.length).fill('0'), ...tt] : hh;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

export function gates(flag: string, value: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const entry of value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(true|false)$/i.exec(entry);
    if (!match) throw new ConfigError(`${flag} entry ${JSON.stringify(entry)} is not a feature gate: expected Name=true or Name=false`);
    out[match[1]!] = match[2]!.toLowerCase() === 'true';
  }
  return out;
}
