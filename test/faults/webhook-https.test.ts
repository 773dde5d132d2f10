import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { HTTP_LIMITS, serveWebhook } from '../../src/hosts/controller/https';
import { loadOrGenerateTls, type TlsPair } from '../../src/hosts/tls';
import { MAX_BODY_BYTES, newWebhookStats, type WebhookDeps } from '../../src/hosts/webhook';
import type { QueuedMessage } from '../../src/queue/messages';
import { review } from '../support/admission';
import { CLUSTER, newService } from '../support/fixtures';
import { flood, idleTcp, probe, requestHead, trickle, type Outcome, type Target } from './webhook-clients';

/**
 * `ferry controller`'s webhook through its real HTTPS server, against clients that lie about
 * their length, never finish, or never start. Each must be answered or cut within a bound,
 * and none may make the server read (and hold) a body it has not authorized.
 */

const TOKEN = 'faults-https-token-0123456789abcdef';
const MiB = 1024 * 1024;
// Slack over a configured timeout: Node checks request timeouts every 500 ms here, and the
// machine running the suite is shared.
const SLACK_MS = 2_500;

describe('the HTTPS webhook under hostile clients', () => {
  let tls: TlsPair;
  let server: Awaited<ReturnType<typeof serveWebhook>>;
  let target: Target;
  const sent: QueuedMessage[] = [];
  /** Raw bytes each TCP connection delivered to the server by the time it closed, by client port. */
  const bytesRead = new Map<number, number>();
  const deps: WebhookDeps = {
    token: TOKEN,
    queue: { send: async (m) => void sent.push(...m) },
    config: CLUSTER,
    controllerUsernames: ['system:serviceaccount:ferry-system:ferry-controller'],
    enqueueTimeoutMs: 100,
    stats: newWebhookStats(),
  };

  beforeAll(async () => {
    tls = await loadOrGenerateTls({ names: ['localhost', '127.0.0.1'] });
    server = await serveWebhook(tls, { host: '127.0.0.1', port: 0 }, deps);
    server.server.on('connection', (socket: Socket) => {
      const port = socket.remotePort ?? 0;
      socket.once('close', () => bytesRead.set(port, socket.bytesRead));
    });
    target = { host: '127.0.0.1', port: Number(new URL(server.url).port), ca: tls.ca };
  }, 60_000);
  afterAll(() => server.close());

  /** What the server read from the client's connection, once the server has closed it. */
  async function serverRead(out: Outcome): Promise<number> {
    const deadline = Date.now() + 5_000;
    while (!bytesRead.has(out.localPort) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return bytesRead.get(out.localPort) ?? Number.NaN;
  }

  function admitOnce(agent?: Agent): Promise<{ status: number; allowed: boolean; port: number }> {
    return new Promise((resolve, reject) => {
      const req = request(`${server.url}/admit/${TOKEN}`, { method: 'POST', ca: tls.ca, agent, headers: { 'content-type': 'application/json' }, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        const port = res.socket.localPort ?? 0;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, allowed: JSON.parse(Buffer.concat(chunks).toString()).response.allowed, port }));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.end(JSON.stringify(review('Service', 'CREATE', newService('web'))));
    });
  }

  test('the limits suit an API server that waits 3 s and reuses connections', () => {
    expect(HTTP_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(HTTP_LIMITS.requestTimeoutMs);
    expect(HTTP_LIMITS.requestTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(HTTP_LIMITS.handshakeTimeoutMs).toBeLessThanOrEqual(5_000);
    expect(HTTP_LIMITS.keepAliveTimeoutMs).toBeGreaterThan(3_000);
    expect(HTTP_LIMITS.maxConnections).toBeGreaterThanOrEqual(64);
  });

  test('no token and a declared 100 MiB body: 401 at once, and the body is never read', async () => {
    const out = await probe(target, requestHead('/admit', { 'Content-Length': 100 * MiB }), flood(100 * MiB), 5_000);
    expect(out.ended).not.toBe('deadline');
    expect(out.closedAfterMs).toBeLessThan(3_000);
    // A client still sending may see the reset before the answer; if it saw an answer, it is 401.
    if (out.status !== undefined) expect(out.status).toBe(401);
    const read = await serverRead(out);
    expect(read).toBeLessThan(MiB);
  });

  test('no token and a chunked body that never ends: 401 at once, and the body is never read', async () => {
    const out = await probe(target, requestHead('/admit/wrong-token', { 'Transfer-Encoding': 'chunked' }), flood(100 * MiB, 64 * 1024, true), 5_000);
    expect(out.ended).not.toBe('deadline');
    expect(out.closedAfterMs).toBeLessThan(3_000);
    if (out.status !== undefined) expect(out.status).toBe(401);
    const read = await serverRead(out);
    expect(read).toBeLessThan(MiB);
  });

  test('a small request with a wrong token, as a misconfigured API server sends it, reads its 401', async () => {
    const body = JSON.stringify(review('Service', 'CREATE', newService('web')));
    const out = await probe(target, requestHead('/admit/not-the-token', { 'Content-Length': Buffer.byteLength(body) }), (s) => s.write(body), 5_000);
    expect(out.status).toBe(401);
    expect(out.response).toMatch(/unauthorized: give the webhook token in the path/);
  });

  test('no token with Expect: 100-continue: 401, and no "go ahead" is ever sent', async () => {
    const out = await probe(target, requestHead('/admit', { 'Content-Length': 100 * MiB, Expect: '100-continue' }), undefined, 5_000);
    expect(out.status).toBe(401);
    expect(out.response).not.toMatch(/100 Continue/);
    expect(out.closedAfterMs).toBeLessThan(3_000);
  });

  test('with the token, a declared 100 MiB body is refused (413) before it is read', async () => {
    const out = await probe(target, requestHead(`/admit/${TOKEN}`, { 'Content-Length': 100 * MiB }), flood(100 * MiB), 5_000);
    expect(out.ended).not.toBe('deadline');
    if (out.status !== undefined) expect(out.status).toBe(413);
    const read = await serverRead(out);
    expect(read).toBeLessThan(MiB);
  });

  test('with the token, a chunked body is cut the moment it passes 1 MiB', async () => {
    const out = await probe(target, requestHead(`/admit/${TOKEN}`, { 'Transfer-Encoding': 'chunked' }), flood(100 * MiB, 64 * 1024, true), 10_000);
    expect(out.ended).not.toBe('deadline');
    if (out.status !== undefined) expect(out.status).toBe(413);
    const read = await serverRead(out);
    expect(read).toBeGreaterThan(MAX_BODY_BYTES);
    // The limit plus what was in flight when it passed (TLS records and socket buffers).
    expect(read).toBeLessThan(MAX_BODY_BYTES + MiB);
  });

  test('slow senders, slow headers and idle connections are all cut within their timeouts', async () => {
    const bound = (timeout: number) => timeout + SLACK_MS;
    const [slowBody, slowHeaders, idleTls, idleTcpOnly] = await Promise.all([
      // Authorized, so only the request timeout stands between it and holding a connection forever.
      probe(target, requestHead(`/admit/${TOKEN}`, { 'Content-Length': 1000 }), trickle(1000), 20_000),
      probe(target, 'POST /admit/', trickle(1000), 20_000),
      probe(target, '', undefined, 20_000),
      idleTcp(target, 20_000),
    ]);
    expect(slowBody.ended).not.toBe('deadline');
    expect(slowBody.closedAfterMs).toBeLessThan(bound(HTTP_LIMITS.requestTimeoutMs));
    if (slowBody.status !== undefined) expect(slowBody.status).toBe(408);
    expect(slowHeaders.ended).not.toBe('deadline');
    expect(slowHeaders.closedAfterMs).toBeLessThan(bound(HTTP_LIMITS.headersTimeoutMs));
    expect(idleTls.ended).not.toBe('deadline');
    expect(idleTls.closedAfterMs).toBeLessThan(bound(HTTP_LIMITS.headersTimeoutMs));
    expect(idleTcpOnly.ended).not.toBe('deadline');
    expect(idleTcpOnly.closedAfterMs).toBeLessThan(bound(HTTP_LIMITS.handshakeTimeoutMs));
  }, 30_000);

  test('connections past the cap are closed as soon as they are accepted, and the API server still gets through afterwards', async () => {
    const extra = 40;
    const all = Array.from({ length: HTTP_LIMITS.maxConnections + extra }, () => idleTcp(target, 20_000));
    const settled = await Promise.all(all);
    const early = settled.filter((o) => o.closedAfterMs < HTTP_LIMITS.handshakeTimeoutMs);
    expect(early.length).toBeGreaterThanOrEqual(extra);
    expect(settled.every((o) => o.ended !== 'deadline')).toBe(true);
    expect(await admitOnce()).toEqual(expect.objectContaining({ status: 200, allowed: true }));
  }, 30_000);

  test('while 50 slow senders hold connections, an admission is answered and the connection is reused', async () => {
    const slow = Array.from({ length: 50 }, () => probe(target, requestHead(`/admit/${TOKEN}`, { 'Content-Length': 1000 }), trickle(1000), 20_000));
    const agent = new Agent({ keepAlive: true, ca: tls.ca });
    try {
      const first = await admitOnce(agent);
      const second = await admitOnce(agent);
      expect(first).toEqual(expect.objectContaining({ status: 200, allowed: true }));
      expect(second.port).toBe(first.port);
    } finally {
      agent.destroy();
    }
    expect((await Promise.all(slow)).every((o) => o.ended !== 'deadline')).toBe(true);
    expect(sent.length).toBeGreaterThan(0);
  }, 30_000);
});
