/**
 * PROXY protocol headers before the agent's health checks: the parser on its own, then real
 * bytes over real TCP connections to the node health server (:10256) and a
 * healthCheckNodePort server — what an NLB target group with proxy_protocol_v2.enabled sends.
 */
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { ProxyHealth, ServiceHealthServers, startHealthServer } from '../../../src/agent/health';
import { boundPort, closeServer, listen, sendJson } from '../../../src/agent/http';
import { readProxyHeader, V2_MAX_PAYLOAD, V2_SIGNATURE } from '../../../src/agent/proxy-protocol';
import { newNode } from './fixtures';

/** A v2 header: `command` 0 LOCAL / 1 PROXY, `family` 0x11 TCP over IPv4, 0x21 IPv6, 0x00 UNSPEC; `payload` after the 16 bytes. */
function v2(command: number, family: number, payload: Buffer): Buffer {
  const fixed = Buffer.alloc(16);
  V2_SIGNATURE.copy(fixed);
  fixed[12] = 0x20 | command;
  fixed[13] = family;
  fixed.writeUInt16BE(payload.length, 14);
  return Buffer.concat([fixed, payload]);
}

/** IPv4 addresses and ports as AWS sends them, plus a TLV (type 0xEA, AWS's VPC endpoint id). */
function ipv4Payload(): Buffer {
  const addresses = Buffer.from([198, 51, 100, 22, 10, 0, 0, 1, 0x8b, 0x3e, 0x28, 0x00]); // 198.51.100.22:35646 → 10.0.0.1:10240
  const tlvValue = Buffer.from('\x01vpce-0123456789abcdef0', 'latin1');
  const tlv = Buffer.concat([Buffer.from([0xea]), Buffer.from([tlvValue.length >> 8, tlvValue.length & 0xff]), tlvValue]);
  return Buffer.concat([addresses, tlv]);
}

const LOCAL = v2(0, 0x00, Buffer.alloc(0));
const GET = (path: string, close = true) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: target\r\n${close ? 'Connection: close\r\n' : ''}\r\n`, 'latin1');

describe('readProxyHeader', () => {
  test.each([
    ['v2 LOCAL, no addresses (an NLB health check)', LOCAL, { kind: 'header', header: { version: 2, command: 'local', length: 16 } }],
    ['v2 PROXY over IPv4 with a TLV', v2(1, 0x11, ipv4Payload()), { kind: 'header', header: { version: 2, command: 'proxy', length: 16 + ipv4Payload().length, source: { address: '198.51.100.22', port: 35646 } } }],
    ['v1 TCP4', Buffer.from('PROXY TCP4 198.51.100.22 203.0.113.7 35646 80\r\nGET', 'latin1'), { kind: 'header', header: { version: 1, command: 'proxy', length: 47, source: { address: '198.51.100.22', port: 35646 } } }],
    ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 4000 80\r\n', 'latin1'), { kind: 'header', header: { version: 1, command: 'proxy', length: 44, source: { address: '2001:db8::1', port: 4000 } } }],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n', 'latin1'), { kind: 'header', header: { version: 1, command: 'local', length: 15 } }],
    ['plain HTTP', GET('/healthz'), { kind: 'none' }],
    ['plain HTTP starting with P (POST, PROPFIND)', Buffer.from('PROPFIND / HTTP/1.1\r\n', 'latin1'), { kind: 'none' }],
    ['an empty line before the request (HTTP allows it)', Buffer.from('\r\n\r\nGET / HTTP/1.1\r\n', 'latin1'), { kind: 'none' }],
    ['a v2 signature not complete yet', V2_SIGNATURE.subarray(0, 7), { kind: 'more' }],
    ['a v2 header whose payload is still arriving', v2(1, 0x11, ipv4Payload()).subarray(0, 20), { kind: 'more' }],
    ['a v1 header without its CRLF yet', Buffer.from('PROXY TCP4 1.2.3.4', 'latin1'), { kind: 'more' }],
  ])('%s', (_, bytes, expected) => {
    expect(readProxyHeader(bytes)).toEqual(expected);
  });

  test.each([
    ['v2 with version 1', (() => { const b = Buffer.from(LOCAL); b[12] = 0x10; return b; })(), /version 1/],
    ['v2 with command 2', (() => { const b = Buffer.from(LOCAL); b[12] = 0x22; return b; })(), /command 2/],
    ['v2 with family 4', v2(1, 0x41, Buffer.alloc(12)), /address family 4/],
    ['v2 with transport 3', v2(1, 0x13, Buffer.alloc(12)), /transport 3/],
    ['v2 PROXY over IPv6 with only 12 bytes', v2(1, 0x21, Buffer.alloc(12)), /needs 36/],
    ['v2 longer than the bound', v2(0, 0x00, Buffer.alloc(V2_MAX_PAYLOAD + 1)), new RegExp(`at most ${V2_MAX_PAYLOAD}`)],
    ['v1 with a bad address', Buffer.from('PROXY TCP4 999.1.1.1 10.0.0.1 1 2\r\n', 'latin1'), /invalid address or port/],
    ['v1 TCP4 with IPv6 addresses', Buffer.from('PROXY TCP4 ::1 ::2 1 2\r\n', 'latin1'), /invalid address or port/],
    ['v1 with a port over 65535', Buffer.from('PROXY TCP4 1.1.1.1 2.2.2.2 70000 2\r\n', 'latin1'), /invalid address or port/],
    ['v1 with an unknown protocol', Buffer.from('PROXY UDP4 1.1.1.1 2.2.2.2 1 2\r\n', 'latin1'), /is not "PROXY TCP4/],
    ['v1 without a CRLF in 107 bytes', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`, 'latin1'), /without CRLF/],
    ['v1 with a control byte', Buffer.from('PROXY TCP4 1.1.1.1\x00', 'latin1'), /not printable/],
  ])('refused: %s', (_, bytes, reason) => {
    const result = readProxyHeader(bytes);
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.reason).toMatch(reason);
  });
});

/** Sends `chunks` (with a pause between them) on one connection; resolves with everything the server sent before closing. */
function exchange(port: number, chunks: Buffer[], pauseMs = 0, timeoutMs = 5000): Promise<{ text: string; closedBy: 'server' | 'timeout' }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedBy: 'timeout' });
    }, timeoutMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedBy: 'server' });
    });
    socket.on('connect', async () => {
      try {
        for (const chunk of chunks) {
          if (socket.destroyed) return;
          socket.write(chunk);
          if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        }
      } catch (err) {
        reject(err);
      }
    });
  });
}

const status = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

describe('the node health server (:10256) behind a load balancer that sends PROXY headers', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    const health = new ProxyHealth(60_000);
    health.updated();
    server = await startHealthServer('127.0.0.1', 0, health, () => newNode());
    port = boundPort(server);
  });
  afterAll(() => closeServer(server));

  test('PPv2 LOCAL (what an NLB health check sends) then GET /healthz: 200 with the JSON', async () => {
    const { text } = await exchange(port, [Buffer.concat([LOCAL, GET('/healthz')])]);
    expect(status(text)).toEqual([200]);
    expect(text).toMatch(/"healthy":true/);
  });

  test('PPv2 PROXY over IPv4 with a TLV, sent a few bytes at a time', async () => {
    const bytes = Buffer.concat([v2(1, 0x11, ipv4Payload()), GET('/healthz')]);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(7 * i, 7 * i + 7));
    expect(status((await exchange(port, chunks, 2)).text)).toEqual([200]);
  });

  test('PPv1 then GET /livez; plain HTTP (no header) still works', async () => {
    expect(status((await exchange(port, [Buffer.from('PROXY TCP4 198.51.100.22 10.0.0.1 35646 10256\r\n', 'latin1'), GET('/livez')], 5)).text)).toEqual([200]);
    expect(status((await exchange(port, [GET('/healthz')])).text)).toEqual([200]);
  });

  test('one header, then two requests on the kept-alive connection', async () => {
    const { text } = await exchange(port, [Buffer.concat([LOCAL, GET('/healthz', false)]), GET('/livez')], 50);
    expect(status(text)).toEqual([200, 200]);
  });

  test('a malformed header closes the connection without an answer', async () => {
    const bad = Buffer.from(LOCAL);
    bad[12] = 0x2f; // command 15
    expect(await exchange(port, [Buffer.concat([bad, GET('/healthz')])])).toEqual({ text: '', closedBy: 'server' });
    expect(await exchange(port, [Buffer.from('PROXY TCP4 nope\r\nGET /healthz HTTP/1.1\r\n\r\n', 'latin1')])).toEqual({ text: '', closedBy: 'server' });
  });
});

describe('a healthCheckNodePort server behind a load balancer that sends PROXY headers', () => {
  test('PPv2 then GET: the Service JSON with its local endpoints', async () => {
    const probe = await startHealthServer('127.0.0.1', 0, new ProxyHealth(1), () => undefined);
    const port = boundPort(probe);
    await closeServer(probe); // a free port for the Service
    const servers = new ServiceHealthServers(() => ['127.0.0.1'], () => true);
    try {
      await servers.sync(new Map([['default/web', { namespace: 'default', name: 'web', port }]]), new Map([['default/web', 2]]));
      const { text } = await exchange(port, [Buffer.concat([v2(1, 0x11, ipv4Payload()), GET('/')])]);
      expect(status(text)).toEqual([200]);
      expect(text).toContain('"localEndpoints": 2');
    } finally {
      await servers.close();
    }
  });
});

describe('bounds', () => {
  test('a header that does not complete in time: the connection is closed', async () => {
    const server = await listen('127.0.0.1', 0, (_req, res) => sendJson(res, 200, '{}'), { proxyProtocol: true, headerTimeoutMs: 200 });
    try {
      const started = Date.now();
      const result = await exchange(boundPort(server), [V2_SIGNATURE.subarray(0, 10)], 0, 3000);
      expect(result).toEqual({ text: '', closedBy: 'server' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await closeServer(server);
    }
  });

  test('closing the server closes connections still sending their header', async () => {
    const server = await listen('127.0.0.1', 0, (_req, res) => sendJson(res, 200, '{}'), { proxyProtocol: true, headerTimeoutMs: 60_000 });
    const pending = exchange(boundPort(server), [V2_SIGNATURE.subarray(0, 10)], 0, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await closeServer(server);
    expect(await pending).toEqual({ text: '', closedBy: 'server' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
