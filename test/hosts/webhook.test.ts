import fc from 'fast-check';
import { handleWebhook, MAX_BODY_BYTES, newWebhookStats, type WebhookDeps, type WebhookRequest } from '../../src/hosts/webhook';
import type { QueuedMessage } from '../../src/queue/messages';
import { review } from '../support/admission';
import { CLUSTER, newNode, newService, svc } from '../support/fixtures';

const TOKEN = 'tok-3f9a2c71d0e84b6a9c1f5e7d2b4a6c80';

function deps(overrides: Partial<WebhookDeps> = {}): WebhookDeps & { sent: QueuedMessage[] } {
  const sent: QueuedMessage[] = [];
  return {
    token: TOKEN,
    queue: { send: async (m) => void sent.push(...m) },
    config: CLUSTER,
    enqueueTimeoutMs: 50,
    stats: newWebhookStats(),
    ...overrides,
    sent,
  };
}

function post(body: unknown, opts: { path?: string; headers?: Record<string, string>; raw?: Buffer } = {}): WebhookRequest {
  return {
    method: 'POST',
    path: opts.path ?? `/admit/${TOKEN}`,
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: opts.raw ?? Buffer.from(JSON.stringify(body)),
  };
}

describe('webhook security', () => {
  const valid = review('Service', 'CREATE', newService('web'));

  test.each([
    ['no token at all', { path: '/admit' }],
    ['a wrong token in the path', { path: '/admit/not-the-token' }],
    ['a token that is a prefix of the real one', { path: `/admit/${TOKEN.slice(0, -1)}` }],
    ['a wrong bearer token', { path: '/', headers: { authorization: 'Bearer nope' } }],
    ['the token in another scheme', { path: '/', headers: { authorization: `Basic ${TOKEN}` } }],
  ])('%s gets 401 and the body is never looked at', async (_, opts) => {
    const d = deps();
    // Not JSON: a 400 would show that it had been parsed.
    const res = await handleWebhook(post(undefined, { ...opts, raw: Buffer.from('{not json') }), d);
    expect(res.status).toBe(401);
    expect(d.sent).toEqual([]);
  });

  test('the token works in the path and as a Bearer header', async () => {
    expect((await handleWebhook(post(valid), deps())).status).toBe(200);
    expect((await handleWebhook(post(valid, { path: '/', headers: { authorization: `Bearer ${TOKEN}` } }), deps())).status).toBe(200);
  });

  test('bodies over 1 MiB get 413', async () => {
    const res = await handleWebhook(post(undefined, { raw: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) }), deps());
    expect(res).toEqual(expect.objectContaining({ status: 413, body: `request body of ${MAX_BODY_BYTES + 1} bytes is over the limit of ${MAX_BODY_BYTES}\n` }));
  });

  test.each([
    [Buffer.from('{"apiVersion":'), /^request body is not JSON: /],
    [Buffer.from('[]'), /^request body is not an AdmissionReview v1: the body must be a JSON object/],
    [Buffer.from(JSON.stringify({ ...valid, apiVersion: 'admission.k8s.io/v1beta1' })), /apiVersion must be "admission.k8s.io\/v1", got "admission.k8s.io\/v1beta1"/],
  ])('a malformed body gets 400 naming what is wrong', async (raw, message) => {
    const res = await handleWebhook(post(undefined, { raw }), deps());
    expect(res.status).toBe(400);
    expect(res.body).toMatch(message);
  });

  test('GET is refused', async () => {
    expect((await handleWebhook({ ...post(valid), method: 'GET' }, deps())).status).toBe(405);
  });

  test('an allowed review answers with the request uid and queues the Service', async () => {
    const d = deps();
    const res = await handleWebhook(post(valid), d);
    expect(JSON.parse(res.body)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: (valid.request as { uid: string }).uid, allowed: true },
    });
    expect(d.sent.map((m) => m.group)).toEqual(['default/web']);
  });

  test('a denial carries the schema\'s message', async () => {
    const res = await handleWebhook(post(review('Service', 'CREATE', newService('web', svc.annotate({ 'ferry.io/name': '-x' })))), deps());
    expect(JSON.parse(res.body).response).toEqual(
      expect.objectContaining({ allowed: false, status: expect.objectContaining({ message: expect.stringContaining('annotation ferry.io/name="-x" is invalid') }) }),
    );
  });

  test('dryRun requests enqueue nothing', async () => {
    const d = deps();
    await handleWebhook(post(review('Service', 'CREATE', newService('web'), null, { dryRun: true })), d);
    expect(d.sent).toEqual([]);
  });

  test('a queue that cannot be reached in time still gets an answer, and the miss is counted', async () => {
    const d = deps({ queue: { send: () => new Promise(() => undefined) } });
    const started = Date.now();
    const res = await handleWebhook(post(valid), d);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).response.allowed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(d.stats.queueMisses).toBe(1);
    const failing = deps({ queue: { send: () => Promise.reject(new Error('AccessDenied')) } });
    expect((await handleWebhook(post(valid), failing)).status).toBe(200);
    expect(failing.stats.queueMisses).toBe(1);
  });
});

describe('webhook fuzz', () => {
  // Arbitrary JSON, and AdmissionReviews with arbitrary values in every field the handler reads.
  const anything = fc.jsonValue({ maxDepth: 4 });
  const objectish = fc.oneof(anything, fc.constant(null), fc.record({ metadata: fc.dictionary(fc.constantFrom('name', 'namespace', 'uid', 'annotations', 'finalizers', 'labels', 'deletionTimestamp', 'resourceVersion'), anything), spec: fc.dictionary(fc.constantFrom('type', 'loadBalancerClass', 'providerID', 'taints', 'ports'), anything), status: fc.dictionary(fc.constantFrom('addresses', 'loadBalancer'), anything) }));
  const reviews = fc.record({
    apiVersion: fc.oneof(fc.constant('admission.k8s.io/v1'), anything),
    kind: fc.oneof(fc.constant('AdmissionReview'), anything),
    request: fc.oneof(
      anything,
      fc.record({
        uid: fc.oneof(fc.string({ maxLength: 200 }), anything),
        kind: fc.oneof(fc.constantFrom({ group: '', version: 'v1', kind: 'Service' }, { group: '', version: 'v1', kind: 'Node' }), anything),
        resource: fc.oneof(fc.constantFrom({ group: '', version: 'v1', resource: 'services' }), anything),
        operation: fc.oneof(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'), anything),
        name: fc.oneof(fc.string(), anything),
        namespace: fc.oneof(fc.string(), anything),
        object: objectish,
        oldObject: objectish,
        dryRun: fc.oneof(fc.boolean(), anything),
        subResource: fc.oneof(fc.constant(undefined), anything),
      }),
    ),
  });

  test('1,500 arbitrary bodies: never a 5xx, never a throw, every answer well-formed', async () => {
    const realistic = [newService('x'), newNode('node-1')];
    await fc.assert(
      fc.asyncProperty(fc.oneof(reviews, anything, fc.constantFrom(...realistic.map((o) => review(o.kind as 'Service', 'UPDATE', o, o)))), async (body) => {
        const errors: unknown[] = [];
        const res = await handleWebhook(post(body), deps({ log: (e) => void (e.level === 'error' && errors.push(e)) }));
        // The catch-all answer is a safety net; no input may need it.
        expect(errors).toEqual([]);
        expect(res.status).toBeLessThan(500);
        if (res.status === 200) {
          const out = JSON.parse(res.body);
          expect(out.kind).toBe('AdmissionReview');
          expect(typeof out.response.allowed).toBe('boolean');
        } else {
          expect([400, 413]).toContain(res.status);
        }
      }),
      { numRuns: 1500, seed: 20261126 },
    );
  });

  test('arbitrary bytes and paths: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.oneof(fc.constant(`/admit/${TOKEN}`), fc.string()), async (bytes, path) => {
        const res = await handleWebhook(post(undefined, { raw: Buffer.from(bytes), path }), deps());
        expect([200, 400, 401]).toContain(res.status);
      }),
      { numRuns: 1000, seed: 7 },
    );
  });
});
