import { admit } from '../../../src/admission/admit';
import { parseAdmissionReview, show, type AdmissionRequest } from '../../../src/admission/review';
import { validateAnnotations } from '../../../src/model/annotations';
import { review } from '../../support/admission';
import { CLUSTER, newNode, newService, node, svc } from '../../support/fixtures';
import { hugeInvalidValues, mostKeys, mostNearMisses, mostUnknownKeys } from '../../faults/webhook-hostile';

/** The webhook's answers stay small and its work bounded, whatever a Service holds. */

function request(body: Record<string, unknown>): AdmissionRequest {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
}

const deny = (annotations: Record<string, string>) =>
  admit(request(review('Service', 'CREATE', newService('web', svc.annotate(annotations)))), CLUSTER, { controllerUsernames: [] }).response.status?.message ?? '';

describe('deny messages', () => {
  test.each([
    ['3,640 unknown keys of 63 characters', mostUnknownKeys],
    ['22,000 unknown keys, the shortest', mostKeys],
    ['near misses of every known key', mostNearMisses],
    ['every known key with a huge invalid value', hugeInvalidValues],
  ])('%s: at most 4 KiB, saying how many problems were left out', (_, annotations) => {
    const all = annotations();
    const text = deny(all);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    const shown = text.match(/annotation ferry\.io\//g)!.length;
    const left = Number(/; and (\d+) more problems? not shown$/.exec(text)?.[1]);
    expect(shown + left).toBe(Object.keys(all).length);
  });

  test('only the first few unknown keys get a "did you mean"; the list of known keys comes once', () => {
    const typos = Object.fromEntries(['shceme', 'target-tpye', 'subnet', 'cross-zoen', 'nmae', 'healthcheck-prot', 'ssl-cetr'].map((k) => [`ferry.io/${k}`, 'x']));
    const problems = validateAnnotations(typos);
    expect(problems.slice(0, 5)).toEqual([
      'unknown annotation ferry.io/shceme: did you mean ferry.io/scheme?',
      'unknown annotation ferry.io/target-tpye: did you mean ferry.io/target-type?',
      'unknown annotation ferry.io/subnet: did you mean ferry.io/subnets?',
      'unknown annotation ferry.io/cross-zoen: did you mean ferry.io/cross-zone?',
      'unknown annotation ferry.io/nmae: did you mean ferry.io/name?',
    ]);
    expect(problems[5]).toMatch(/^unknown annotation ferry\.io\/healthcheck-prot: ferry reads ferry\.io\/scheme, /);
    expect(problems[6]).toBe('unknown annotation ferry.io/ssl-cetr');
  });

  test('a huge value is quoted by its start and its length', () => {
    expect(validateAnnotations({ 'ferry.io/scheme': `public${'x'.repeat(100_000)}` })).toEqual([
      `annotation ferry.io/scheme="public${'x'.repeat(54)}"… (100006 characters) is invalid: expected \`internal\` or \`internet-facing\``,
    ]);
  });

  test('bad values and unknown keys are reported together, values first', () => {
    expect(validateAnnotations({ 'ferry.io/shceme': 'x', 'ferry.io/cross-zone': 'maybe' })).toEqual([
      'annotation ferry.io/cross-zone="maybe" is invalid: expected `true` or `false`',
      'unknown annotation ferry.io/shceme: did you mean ferry.io/scheme?',
    ]);
  });

  test('annotation values that are not strings (only a forged review has them) are passed over', () => {
    const body = review('Service', 'CREATE', newService('web'));
    ((body.request as any).object.metadata.annotations as Record<string, unknown>) = { 'ferry.io/scheme': { nested: [1, 2, 3] }, 'ferry.io/name': 7 };
    expect(admit(request(body), CLUSTER, { controllerUsernames: [] }).response.allowed).toBe(true);
  });
});

describe('errors about untrusted values never serialise them', () => {
  test.each([
    [Array.from({ length: 3 }, () => []), 'an array of 3 items'],
    [{ a: 1 }, 'an object'],
    ['x'.repeat(1000), `"${'x'.repeat(57)}"... (1000 characters)`],
    [12.5, '12.5'],
    [null, 'null'],
  ])('%#: %s', (value, shown) => {
    expect(show(value)).toBe(shown);
  });

  test('an apiVersion nested 100,000 arrays deep is refused by name, not by the stack', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(parseAdmissionReview({ apiVersion: deep, kind: 'AdmissionReview' })).toEqual({ ok: false, error: 'apiVersion must be "admission.k8s.io/v1", got an array of 1 item' });
  });
});

describe('Node comparisons stay linear', () => {
  test('50,000 labels: a heartbeat queues nothing, one changed label fans out', () => {
    const labels = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`l${i}`, `${i}`]));
    const before = newNode('node-1', node.label(labels));
    const heartbeat = newNode('node-1', node.label(labels), (n) => (n.status!.conditions = [{ type: 'Ready', status: 'True' }]));
    const changed = newNode('node-1', node.label({ ...labels, l49999: 'other' }));
    const decide = (after: typeof before) => admit(request(review('Node', 'UPDATE', after, before)), CLUSTER, { controllerUsernames: [] }).enqueue;
    expect(decide(heartbeat)).toEqual([]);
    expect(decide(changed)).toHaveLength(1);
  });

  test('the same addresses and taints in another order are no change; a different count is', () => {
    const a = newNode('node-1', (n) => (n.status!.addresses = [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'a' }, { type: 'Hostname', address: 'a' }]));
    const b = newNode('node-1', (n) => (n.status!.addresses = [{ type: 'Hostname', address: 'a' }, { type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'a' }]));
    const c = newNode('node-1', (n) => (n.status!.addresses = [{ type: 'Hostname', address: 'a' }, { type: 'InternalIP', address: '10.0.0.1' }, { type: 'InternalIP', address: '10.0.0.1' }]));
    const decide = (after: typeof a) => admit(request(review('Node', 'UPDATE', after, a)), CLUSTER, { controllerUsernames: [] }).enqueue;
    expect(decide(b)).toEqual([]);
    expect(decide(c)).toHaveLength(1);
  });
});
