import fc from 'fast-check';
import { checkHead, handleWebhook, MAX_BODY_BYTES, MAX_JSON_DEPTH, newWebhookStats, type WebhookDeps, type WebhookRequest } from '../../src/hosts/webhook';
import { annotationDocs } from '../../src/model/annotations';
import type { QueuedMessage } from '../../src/queue/messages';
import { MAX_ANNOTATION_BYTES, nestedArrays, nestedObjects, reviewWithRaw } from '../faults/webhook-hostile';
import { review } from '../support/admission';
import { CLUSTER, newNode, newService, node, svc } from '../support/fixtures';

const TOKEN = 'tok-3f9a2c71d0e84b6a9c1f5e7d2b4a6c80';
const FERRY = 'system:serviceaccount:ferry-system:ferry-controller';

function deps(overrides: Partial<WebhookDeps> = {}): WebhookDeps & { sent: QueuedMessage[] } {
  const sent: QueuedMessage[] = [];
  return {
    token: TOKEN,
    queue: { send: async (m) => void sent.push(...m) },
    config: CLUSTER,
    controllerUsernames: [FERRY],
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

  test('the token, the method and a declared length are judged from the head alone, in that order', () => {
    const head = (path: string, method: string, length?: string) => ({ method, path, headers: length === undefined ? {} : { 'content-length': length } });
    expect(checkHead(head('/admit/wrong', 'GET', String(100 * MAX_BODY_BYTES)), deps())?.status).toBe(401);
    expect(checkHead(head(`/admit/${TOKEN}`, 'GET', String(100 * MAX_BODY_BYTES)), deps())?.status).toBe(405);
    expect(checkHead(head(`/admit/${TOKEN}`, 'POST', String(100 * MAX_BODY_BYTES)), deps())).toEqual(
      expect.objectContaining({ status: 413, body: `request body of ${100 * MAX_BODY_BYTES} bytes is over the limit of ${MAX_BODY_BYTES}\n` }),
    );
    expect(checkHead(head(`/admit/${TOKEN}`, 'POST', '12abc'), deps())).toEqual(expect.objectContaining({ status: 400, body: 'Content-Length "12abc" is not a number of bytes\n' }));
    expect(checkHead(head(`/admit/${TOKEN}`, 'POST', String(MAX_BODY_BYTES)), deps())).toBeUndefined();
    expect(checkHead(head(`/admit/${TOKEN}`, 'POST'), deps())).toBeUndefined();
  });

  test('a body nested deeper than an AdmissionReview could be is refused without parsing it', async () => {
    const res = await handleWebhook(post(undefined, { raw: reviewWithRaw('apiVersion', nestedArrays(500_000)) }), deps());
    expect(res).toEqual(expect.objectContaining({ status: 400, body: `request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels; an AdmissionReview needs far fewer\n` }));
    // Brackets inside strings are text, not nesting.
    const bracketed = review('Service', 'CREATE', newService('web', svc.annotate({ 'example.com/note': '['.repeat(10_000) })));
    expect((await handleWebhook(post(bracketed), deps())).status).toBe(200);
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
        userInfo: fc.oneof(fc.constant(undefined), fc.record({ username: fc.oneof(fc.string(), fc.constant(FERRY)), groups: fc.array(fc.string()) }), anything),
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

describe('webhook fuzz: hostile sizes', () => {
  // Bodies no real API server would send but a token holder could: nesting 400,000 deep,
  // 20,000 keys, values of 256 KiB. Each must be answered, small, and quickly.
  const KNOWN = annotationDocs().map((d) => d.key);
  const MAX_REPLY = 8 * 1024;

  /** CPU time of the handler: unlike wall time, it does not grow when the shared machine is busy. */
  async function timed(req: WebhookRequest, d: WebhookDeps) {
    const before = process.cpuUsage();
    const res = await handleWebhook(req, d);
    const used = process.cpuUsage(before);
    return { res, ms: (used.user + used.system) / 1000 };
  }

  async function check(raw: Buffer): Promise<void> {
    const errors: unknown[] = [];
    const d = deps({ log: (e) => void (e.level === 'error' && errors.push(e)) });
    const { res, ms } = await timed(post(undefined, { raw }), d);
    expect(errors).toEqual([]);
    expect(res.status === 200 || res.status === 400).toBe(true);
    expect(Buffer.byteLength(res.body)).toBeLessThan(MAX_REPLY);
    // A catastrophic bound only (the 1.7 s of issue 9); the 50 ms target for the worst
    // Services is held by test/faults/webhook-bounds.test.ts and measured by the bench.
    expect(ms).toBeLessThan(500);
  }

  test('the depth check counts brackets, not text: strings full of quotes, backslashes and brackets', async () => {
    const depthOf = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', 'é') });
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6, stringUnit: fc.constantFrom('"', '\\', '[', '{', 'x') }), fc.integer({ min: 90, max: 110 }), tricky, async (inner, wraps, text) => {
        let value: unknown = [text, inner];
        for (let i = 1; i < wraps; i++) value = i % 2 ? [value] : { k: value, s: text };
        const res = await handleWebhook(post(undefined, { raw: Buffer.from(JSON.stringify(value)) }), deps());
        expect(res.body.includes('nests arrays or objects deeper than')).toBe(depthOf(value) > MAX_JSON_DEPTH);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  const fields = fc.constantFrom('apiVersion', 'kind', 'uid', 'operation', 'kind.kind', 'object', 'userInfo', 'annotations', 'name', 'dryRun' as const);

  test('nesting up to 400,000 deep in any field: a 400, never the stack', async () => {
    await fc.assert(
      fc.asyncProperty(fields, fc.integer({ min: 1, max: 400_000 }), fc.boolean(), async (field, depth, arrays) => {
        await check(reviewWithRaw(field, arrays ? nestedArrays(depth) : nestedObjects(Math.min(depth, 150_000))));
      }),
      { numRuns: 60, seed: 9 },
    );
  });

  /** Annotations (or Node labels) filling up to the API server's 256 KiB with `count` keys. */
  const manyKeys = fc.record({
    count: fc.integer({ min: 1_000, max: 20_000 }),
    prefix: fc.constantFrom('ferry.io/', 'status.ferry.io/', 'example.com/', ''),
    value: fc.string({ maxLength: 6 }),
  });

  /** A few annotations whose values share the 256 KiB: known keys, unknown ones and ferry's record. */
  const hugeValues = fc.array(
    fc.record({ key: fc.constantFrom(...KNOWN, 'ferry.io/unknown', 'status.ferry.io/resources', 'example.com/big'), piece: fc.string({ minLength: 1, maxLength: 8 }) }),
    { minLength: 1, maxLength: 6 },
  );

  function fit(entries: Array<[string, string]>): Record<string, string> {
    const out: Record<string, string> = {};
    let used = 0;
    for (const [k, v] of entries) {
      if (used + k.length + v.length > MAX_ANNOTATION_BYTES) break;
      out[k] = v;
      used += k.length + v.length;
    }
    return out;
  }

  test('thousands of keys and huge values, on Services and Nodes, by anyone: answered small and fast', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          manyKeys.map(({ count, prefix, value }) => fit(Array.from({ length: count }, (_, i): [string, string] => [`${prefix}k${i.toString(36)}`, value]))),
          hugeValues.map((vs) => fit(vs.map(({ key, piece }): [string, string] => [key, piece.repeat(Math.ceil(MAX_ANNOTATION_BYTES / vs.length / piece.length) - 8)]))),
        ),
        fc.constantFrom('Service', 'Node' as const),
        fc.constantFrom('CREATE', 'UPDATE' as const),
        fc.boolean(),
        async (annotations, kind, operation, byFerry) => {
          const object =
            kind === 'Service'
              ? newService('web', svc.annotate(annotations))
              : newNode('node-1', node.label(Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k, v.slice(0, 63)]))));
          const body = review(kind, operation, object, operation === 'UPDATE' ? object : null, { userInfo: { username: byFerry ? FERRY : 'alice', groups: [] } });
          await check(Buffer.from(JSON.stringify(body)));
        },
      ),
      { numRuns: 80, seed: 20261207 },
    );
  });
});
