/**
 * The PROXY protocol header (HAProxy's spec, https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt),
 * version 1 (text) and 2 (binary), parsed strictly: what a load balancer may put before the
 * bytes of a connection it forwards. Pure: {@link readProxyHeader} looks at the bytes read so
 * far and says whether they start with a header, how long it is, or that more are needed.
 *
 * Why the agent needs it: an AWS NLB target group with `proxy_protocol_v2.enabled` sends the
 * header on health-check connections too ("the proxy protocol header is also included in
 * health check connections from the load balancer", AWS: Network Load Balancer target
 * groups, Proxy protocol), with the LOCAL command and no addresses. A plain HTTP server
 * then fails every check: ingress-nginx #10982, istio #25875, contour #4833. The agent's
 * health servers (node health on :10256, healthCheckNodePorts) accept an optional header.
 *
 * Strict: a v2 header must have version 2, command LOCAL or PROXY, a known family and
 * transport, and for PROXY a length that holds the family's addresses; a v1 header must be
 * `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or `PROXY UNKNOWN…\r\n` within 107 bytes.
 * Anything else that starts like a header is refused (the connection is closed).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The v2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The spec's v1 maximum, CRLF included. */
export const V1_MAX_LENGTH = 107;
/**
 * The most v2 payload (after the 16-byte fixed part) accepted. The addresses take at most
 * 216 bytes (AF_UNIX); the rest is TLVs (AWS sends its VPC endpoint id in one). The spec
 * allows 65,535; a health check needs nowhere near that, and a bound keeps a peer from
 * making the agent buffer much before it knows whether the bytes are a header.
 */
export const V2_MAX_PAYLOAD = 1024;

/** Address lengths of v2's families (AF_INET, AF_INET6, AF_UNIX), for the PROXY command. */
const V2_ADDRESS_LENGTH: Record<number, number> = { 0x1: 12, 0x2: 36, 0x3: 216 };

export interface ProxyHeader {
  version: 1 | 2;
  /** v2 LOCAL (the load balancer's own connection, a health check) or a v1 UNKNOWN: no client address. */
  command: 'local' | 'proxy';
  /** Bytes the header takes: the request starts after them. */
  length: number;
  /** The client as the header gives it (TCP over IPv4 or IPv6), for logs. */
  source?: { address: string; port: number };
}

export type ReadResult =
  /** No header: the bytes are the request itself. */
  | { kind: 'none' }
  /** Could still be a header: read more (within the bounds). */
  | { kind: 'more' }
  | { kind: 'header'; header: ProxyHeader }
  /** Starts like a header but is not a valid one: close the connection. */
  | { kind: 'invalid'; reason: string };

/** Whether `bytes` and `prefix` agree on their common length. */
function agrees(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

/** Looks at the first bytes of a connection. */
export function readProxyHeader(bytes: Buffer): ReadResult {
  if (bytes.length === 0) return { kind: 'more' };
  if (agrees(bytes, V2_SIGNATURE)) return bytes.length < 16 ? { kind: 'more' } : readV2(bytes);
  if (agrees(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? { kind: 'more' } : readV1(bytes);
  return { kind: 'none' };
}

function readV2(bytes: Buffer): ReadResult {
  const versionCommand = bytes[12]!;
  const familyTransport = bytes[13]!;
  const payload = bytes.readUInt16BE(14);
  const version = versionCommand >> 4;
  const command = versionCommand & 0x0f;
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  if (version !== 2) return { kind: 'invalid', reason: `PROXY v2 header with version ${version}` };
  if (command > 1) return { kind: 'invalid', reason: `PROXY v2 header with command ${command} (expected LOCAL or PROXY)` };
  if (family > 3) return { kind: 'invalid', reason: `PROXY v2 header with address family ${family}` };
  if (transport > 2) return { kind: 'invalid', reason: `PROXY v2 header with transport ${transport}` };
  if (payload > V2_MAX_PAYLOAD) return { kind: 'invalid', reason: `PROXY v2 header of ${payload} bytes (at most ${V2_MAX_PAYLOAD} accepted)` };
  if (command === 1) {
    // PROXY: a real connection's addresses must be there (UNSPEC carries none).
    const needed = V2_ADDRESS_LENGTH[family] ?? 0;
    if (payload < needed) return { kind: 'invalid', reason: `PROXY v2 header of ${payload} bytes for an address family that needs ${needed}` };
  }
  if (bytes.length < 16 + payload) return { kind: 'more' };
  const header: ProxyHeader = { version: 2, command: command === 0 ? 'local' : 'proxy', length: 16 + payload };
  if (command === 1 && transport === 1 && family === 1) {
    header.source = { address: [...bytes.subarray(16, 20)].join('.'), port: bytes.readUInt16BE(24) };
  } else if (command === 1 && transport === 1 && family === 2) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(16 + i).toString(16));
    header.source = { address: groups.join(':'), port: bytes.readUInt16BE(48) };
  }
  return { kind: 'header', header };
}

function readV1(bytes: Buffer): ReadResult {
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (bytes.length >= V1_MAX_LENGTH) return { kind: 'invalid', reason: `PROXY v1 header without CRLF in its first ${V1_MAX_LENGTH} bytes` };
    // Only printable ASCII may come before the CRLF.
    return /^[\x20-\x7e\r]*$/.test(bytes.toString('latin1')) ? { kind: 'more' } : { kind: 'invalid', reason: 'PROXY v1 header with a byte that is not printable ASCII' };
  }
  const length = end + 2;
  if (length > V1_MAX_LENGTH) return { kind: 'invalid', reason: `PROXY v1 header of ${length} bytes (at most ${V1_MAX_LENGTH})` };
  const line = bytes.subarray(0, end).toString('latin1');
  // UNKNOWN: the sender could not tell the addresses; the rest of the line is to be ignored.
  if (/^PROXY UNKNOWN( [\x20-\x7e]*)?$/.test(line)) return { kind: 'header', header: { version: 1, command: 'local', length } };
  const match = /^PROXY (TCP4|TCP6) (\S+) (\S+) (\d{1,5}) (\d{1,5})$/.exec(line);
  if (!match) return { kind: 'invalid', reason: `PROXY v1 header ${JSON.stringify(line)} is not "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>"` };
  const [, proto, src, dst, sport, dport] = match;
  const valid = proto === 'TCP4' ? isIPv4 : isIPv6;
  const port = (p: string) => !/^0\d/.test(p) && Number(p) <= 65535;
  if (!valid(src!) || !valid(dst!) || !port(sport!) || !port(dport!)) return { kind: 'invalid', reason: `PROXY v1 header ${JSON.stringify(line)} has an invalid address or port` };
  return { kind: 'header', header: { version: 1, command: 'proxy', length, source: { address: src!, port: Number(sport) } } };
}
