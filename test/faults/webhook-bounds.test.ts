import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serveWebhook } from '../../src/hosts/controller/https';
import { loadOrGenerateTls } from '../../src/hosts/tls';
import { handleWebhook, newWebhookStats, type WebhookDeps } from '../../src/hosts/webhook';
import { CLUSTER } from '../support/fixtures';
import type { Measured } from './webhook-bounds-child';
import { nestedArrays, nestedObjects, reviewWithRaw, worstCaseReviews } from './webhook-hostile';

/**
 * Issue 9, item 5: one admission request stalled the webhook for 1.7 s and got a 2.7 MB
 * reply (3,640 unknown keys), and 100,000 nested arrays overflowed the stack. The worst
 * Services an API server accepts (256 KiB of annotations, sent twice in an UPDATE) must
 * now be answered with under 8 KiB, and in a bounded time.
 *
 * The target is 50 ms, and `npm run bench -- webhook` reports each case against it. Here
 * the bound is twice that in CPU time: on a shared machine running ten other processes the
 * worst case (22,000 keys, most of it JSON.parse) measures up to 1.5 times its idle cost,
 * and a test must not fail for that; the regression it guards against cost 1.7 s.
 */

const TOKEN = 'faults-bounds-token-0123456789abcdef';
const TARGET_MS = 50;
const BOUND_MS = 2 * TARGET_MS;
const MAX_REPLY = 8 * 1024;

function deps(errors: unknown[] = []): WebhookDeps {
  return {
    token: TOKEN,
    queue: { send: async () => undefined },
    config: CLUSTER,
    controllerUsernames: ['system:serviceaccount:ferry-system:ferry-controller'],
    enqueueTimeoutMs: 100,
    stats: newWebhookStats(),
    log: (e) => void (e.level === 'error' && errors.push(e)),
  };
}

/**
 * The handler's CPU time, the least of `runs`: CPU time does not grow while the shared
 * machine runs someone else, and the least of several runs drops a collection that
 * happened to land in one of them.
 */
async function cpuMs(body: Buffer, runs: number): Promise<{ ms: number; reply: { status: number; body: string } }> {
  let best = Infinity;
  let reply = { status: 0, body: '' };
  const d = deps();
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    reply = await handleWebhook({ method: 'POST', path: `/admit/${TOKEN}`, headers: {}, body }, d);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return { ms: best, reply };
}

describe('the worst Services a real API server would send', () => {
  let measured: Measured[];
  beforeAll(async () => {
    // Timed in a process of its own, so that Jest's heap and collections are not in the figures.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(__dirname, 'webhook-bounds-child.ts'), '9'], {
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    measured = JSON.parse(stdout) as Measured[];
  }, 150_000);

  test.each(worstCaseReviews().map((c) => c.name))('%s: denied with a reply under 8 KiB, a message of at most 4 KiB, in bounded time', (name) => {
    const m = measured.find((x) => x.name === name)!;
    expect(m.status).toBe(200);
    const response = JSON.parse(m.reply).response;
    expect(response.allowed).toBe(false);
    expect(Buffer.byteLength(m.reply)).toBeLessThan(MAX_REPLY);
    expect(Buffer.byteLength(response.status.message)).toBeLessThanOrEqual(4096);
    expect(m.cpuMs).toBeLessThan(BOUND_MS);
  });
});

describe('nesting', () => {
  test.each(['apiVersion', 'uid', 'object', 'userInfo', 'annotations', 'kind.kind'] as const)('100,000 levels in %s: a 400 naming the depth, at once, and no stack overflow', async (field) => {
    for (const raw of [nestedArrays(100_000), nestedObjects(100_000)]) {
      const errors: unknown[] = [];
      const res = await handleWebhook({ method: 'POST', path: `/admit/${TOKEN}`, headers: {}, body: reviewWithRaw(field, raw) }, deps(errors));
      expect(errors).toEqual([]);
      expect(res.status).toBe(400);
      expect(res.body).toMatch(/nests arrays or objects deeper than 100 levels/);
      expect((await cpuMs(reviewWithRaw(field, raw), 3)).ms).toBeLessThan(TARGET_MS);
    }
  });
});

describe('through the HTTPS server', () => {
  test('the worst Services, sent at once, are each answered within the API server\'s 3 s with under 8 KiB', async () => {
    const tls = await loadOrGenerateTls({ names: ['localhost', '127.0.0.1'] });
    const server = await serveWebhook(tls, { host: '127.0.0.1', port: 0 }, deps());
    try {
      const post = (body: Buffer) =>
        new Promise<{ status: number; bytes: number }>((resolve, reject) => {
          const req = request(`${server.url}/admit/${TOKEN}`, { method: 'POST', ca: tls.ca, headers: { 'content-type': 'application/json' }, timeout: 3_000 }, (res) => {
            let bytes = 0;
            res.on('data', (c: Buffer) => (bytes += c.length));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
          });
          req.on('timeout', () => req.destroy(new Error('no answer within the API server\'s 3 s')));
          req.on('error', reject);
          req.end(body);
        });
      const answers = await Promise.all(cases().map((body) => post(body)));
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.bytes).toBeLessThan(MAX_REPLY);
      }
    } finally {
      await server.close();
    }
  }, 60_000);

  function cases(): Buffer[] {
    return worstCaseReviews().map(({ body }) => Buffer.from(JSON.stringify(body)));
  }
});
