import { parseIpv4 } from '../cidr';

/**
 * PROXY protocol version 2 headers (haproxy.org proxy-protocol.txt, section 2.2), the
 * binary form NLBs send when a target group has `proxy_protocol_v2.enabled`: the
 * 12-byte signature, version 2 with the PROXY command, AF_INET with STREAM (TCP, TLS) or
 * DGRAM (UDP, on every datagram), then source and destination addresses and ports.
 * No TLVs: NLB adds one (0xEA, the VPC endpoint id) only for PrivateLink traffic.
 * Health check connections get the LOCAL command with no addresses, as the NLB guide
 * says ("the client connection information is not sent").
 */
const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const VERSION_2_PROXY = 0x21;
const VERSION_2_LOCAL = 0x20;
const INET_STREAM = 0x11;
const INET_DGRAM = 0x12;

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

function ipv4Bytes(address: string): number {
  const value = parseIpv4(address.replace(/^::ffff:/i, ''));
  if (value === undefined) throw new TypeError(`PROXY protocol v2: '${address}' is not an IPv4 address`);
  return value;
}

export function proxyHeader(transport: 'tcp' | 'udp', source: Endpoint, destination: Endpoint): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 4 + 12);
  SIGNATURE.copy(header, 0);
  header[12] = VERSION_2_PROXY;
  header[13] = transport === 'tcp' ? INET_STREAM : INET_DGRAM;
  header.writeUInt16BE(12, 14);
  header.writeUInt32BE(ipv4Bytes(source.address), 16);
  header.writeUInt32BE(ipv4Bytes(destination.address), 20);
  header.writeUInt16BE(source.port, 24);
  header.writeUInt16BE(destination.port, 26);
  return header;
}

/** The header of a health check connection: LOCAL, family unspecified, no addresses. */
export function localHeader(): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 4);
  SIGNATURE.copy(header, 0);
  header[12] = VERSION_2_LOCAL;
  header[13] = 0x00;
  header.writeUInt16BE(0, 14);
  return header;
}
