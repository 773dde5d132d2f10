import type { V1Service } from '@kubernetes/client-node';
import { annotationDocs } from '../../src/model/annotations';
import { review } from '../support/admission';
import { newService } from '../support/fixtures';

/**
 * Hostile but API-server-valid admission requests for the webhook's fault suite and
 * `npm run bench -- webhook`. The API server caps a Service's annotations at 256 KiB in
 * total (keys and values) and each key's name part at 63 characters; every Service here
 * stays within those limits, so a real cluster would store it.
 */
export const MAX_ANNOTATION_BYTES = 256 * 1024;
const NAME_PART = 63;

const known = annotationDocs().map((d) => d.key);

/** Fills the annotation budget with `key(i) → value(i)` until the next pair would not fit. */
function fill(key: (i: number) => string, value: (i: number) => string): Record<string, string> {
  const out: Record<string, string> = {};
  let used = 0;
  for (let i = 0; ; i++) {
    const k = key(i);
    const v = value(i);
    if (used + k.length + v.length > MAX_ANNOTATION_BYTES) return out;
    if (k in out) continue;
    out[k] = v;
    used += k.length + v.length;
  }
}

/** The most unknown `ferry.io/` keys that fit: 3,640 keys with 63-character names and empty values. */
export function mostUnknownKeys(): Record<string, string> {
  return fill((i) => `ferry.io/${`k${i}-`.padEnd(NAME_PART, 'x')}`, () => '');
}

/** The most `ferry.io/` keys that fit at all: the shortest names (`ferry.io/0` …), about 22,000. */
export function mostKeys(): Record<string, string> {
  return fill((i) => `ferry.io/${i.toString(36)}`, () => '');
}

/**
 * Unknown keys as close as possible to known ones (one or two letters changed), so that a
 * "did you mean" search would do its most work on each: about 7,000 keys.
 */
export function mostNearMisses(): Record<string, string> {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return fill((i) => {
    const base = known[i % known.length]!;
    const at = 9 + (Math.floor(i / known.length) % (base.length - 9));
    const swap = letters[Math.floor(i / known.length / (base.length - 9)) % 26]!;
    const typo = `${base.slice(0, at)}${swap}${base.slice(at + 1)}`.replace(/-$/, 'z');
    return typo === base ? `${typo}q` : typo;
  }, () => '');
}

/** Every known annotation with an equal share of the budget as an invalid value. */
export function hugeInvalidValues(): Record<string, string> {
  const share = Math.floor(MAX_ANNOTATION_BYTES / known.length) - 41;
  const junk: Record<string, (n: number) => string> = {
    'ferry.io/healthcheck-success-codes': (n) => `200${' '.repeat(n - 4)}x`,
    'ferry.io/proxy-protocol': (n) => `${'a,'.repeat(Math.floor(n / 2) - 1)}!`,
    'ferry.io/ssl-ports': (n) => `${'a,'.repeat(Math.floor(n / 2) - 1)}!`,
    'ferry.io/additional-tags': (n) => `${'a=b,'.repeat(Math.floor(n / 4) - 1)}ferry.io/x=1`,
    'ferry.io/target-node-labels': (n) => `${'a=b,'.repeat(Math.floor(n / 4) - 1)}=x`,
    'ferry.io/subnets': (n) => ','.repeat(n),
    'ferry.io/security-groups': (n) => `${'sg-0123456789,'.repeat(Math.floor(n / 14))}`,
    'ferry.io/ssl-cert': (n) => `arn:aws${'-'.repeat(n - 7)}`,
  };
  return Object.fromEntries(known.map((k) => [k, (junk[k] ?? ((n: number) => `"\\\n${'\u00e9'.repeat(Math.floor(n / 2) - 2)}`))(share)]));
}

/** One annotation holding nearly the whole budget, for each of the list-valued ones. */
export function oneHugeValue(key: string): Record<string, string> {
  const n = MAX_ANNOTATION_BYTES - key.length;
  const values: Record<string, string> = {
    'ferry.io/additional-tags': `${'a=b,'.repeat(Math.floor(n / 4) - 1)}=x`,
    'ferry.io/target-node-labels': `${'a=b,'.repeat(Math.floor(n / 4) - 1)}=x`,
    'ferry.io/proxy-protocol': `${'a,'.repeat(Math.floor(n / 2) - 1)}!`,
    'ferry.io/subnets': 'a,'.repeat(Math.floor(n / 2)),
    'ferry.io/healthcheck-success-codes': `200${' '.repeat(n - 4)}x`,
  };
  return { [key]: values[key] ?? 'x'.repeat(n) };
}

export const HUGE_VALUE_KEYS = ['ferry.io/additional-tags', 'ferry.io/target-node-labels', 'ferry.io/proxy-protocol', 'ferry.io/subnets', 'ferry.io/healthcheck-success-codes', 'ferry.io/name'];

/** A Service of ferry's class carrying exactly these annotations. */
export function hostileService(annotations: Record<string, string>): V1Service {
  return newService('hostile', (s) => {
    s.metadata!.annotations = annotations;
  });
}

/**
 * The named worst cases, each an UPDATE whose old and new objects both carry the
 * annotations (the API server sends both, so the body is about twice the annotations).
 * Without managedFields, which a real API server adds (one entry per annotation key): a
 * token holder can send these bodies, an API server would send bigger ones, and a body
 * over 1 MiB is refused (413) before it is read.
 */
export function worstCaseReviews(): Array<{ name: string; body: Record<string, unknown> }> {
  const cases: Array<[string, Record<string, string>]> = [
    ['3,640 unknown ferry.io/ keys of 63 characters', mostUnknownKeys()],
    [`${Object.keys(mostKeys()).length.toLocaleString('en')} unknown ferry.io/ keys, the shortest`, mostKeys()],
    [`${Object.keys(mostNearMisses()).length.toLocaleString('en')} near-miss keys`, mostNearMisses()],
    ['every annotation with a huge invalid value', hugeInvalidValues()],
    ...HUGE_VALUE_KEYS.map((k): [string, Record<string, string>] => [`one 256 KiB ${k}`, oneHugeValue(k)]),
  ];
  return cases.map(([name, annotations]) => {
    const service = hostileService(annotations);
    return { name, body: review('Service', 'UPDATE', service, service) };
  });
}

/** `[[[…]]]` nested `depth` deep, as JSON text (JSON.parse copes; recursive walkers do not). */
export function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

export function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * A valid Service review with `raw` JSON text spliced in at one field, so that the body can
 * be nested deeper than JSON.stringify could ever produce it.
 */
export function reviewWithRaw(field: 'apiVersion' | 'kind' | 'uid' | 'operation' | 'kind.kind' | 'object' | 'userInfo' | 'annotations' | 'name' | 'dryRun', raw: string): Buffer {
  const marker = '"__RAW__"';
  const body = review('Service', 'CREATE', newService('deep')) as { request: Record<string, any> } & Record<string, unknown>;
  const r = body.request;
  switch (field) {
    case 'apiVersion':
    case 'kind':
      body[field] = '__RAW__';
      break;
    case 'uid':
    case 'operation':
    case 'name':
    case 'dryRun':
    case 'userInfo':
    case 'object':
      r[field] = '__RAW__';
      break;
    case 'kind.kind':
      r.kind.kind = '__RAW__';
      break;
    case 'annotations':
      r.object.metadata.annotations = { 'ferry.io/scheme': '__RAW__' };
      break;
  }
  return Buffer.from(JSON.stringify(body).replace(marker, raw));
}
