import type { V1Node, V1Service } from '@kubernetes/client-node';
import { FOREIGN_PREFIXES, TYPE_SUFFIX } from '../model/aliases';
import { reviewAnnotations } from '../model/annotations';
import { listenerLimitProblem } from '../model/limits';
import { CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION } from '../model/record';
import { ADOPT_ANNOTATION, isFerrysClass, isFerrysConcern, type ServiceClassConfig } from '../model/service';
import { fanoutMessage, serviceMessage, type QueuedMessage } from '../queue/messages';
import type { AdmissionRequest, AdmissionResponse } from './review';

export interface Decision {
  response: AdmissionResponse;
  /** Work to queue if the request is allowed; empty for dryRun and for what ferry does not own. */
  enqueue: QueuedMessage[];
}

export interface AdmitOptions {
  /**
   * The usernames ferry itself runs as (`FERRY_CONTROLLER_USERNAMES`): only they may write
   * the `status.ferry.io/` record, and their own requests are never denied.
   */
  controllerUsernames: readonly string[];
}

/** ferry's own state on a Service (model/record.ts): what it made, and the last checkpoint. */
export const RECORD_PREFIX = 'status.ferry.io/';

/**
 * The webhook's decision, pure. ferry answers `allowed: true` for everything it does not
 * own, and denies only a Service of its class whose `ferry.io/` annotations (or the LBC and
 * CPA annotations it reads as theirs) are invalid, with the schema's message, and a change
 * to its `status.ferry.io/` record by anyone but ferry. A Service of its class also gets a
 * warning for each LBC or CPA annotation ferry does not honour as written. Allowed changes
 * that matter to load balancers become queue messages; the queue consumer reads the current
 * state, so a request that is never committed, or arrives twice or out of order, does no harm.
 */
export function admit(request: AdmissionRequest, config: ServiceClassConfig, options: AdmitOptions): Decision {
  const allow: AdmissionResponse = { uid: request.uid, allowed: true };
  const group = request.kind.group;
  if (group === '' && request.kind.kind === 'Service' && !request.subResource) return admitService(request, config, options, allow);
  if (group === '' && request.kind.kind === 'Node' && !request.subResource) return { response: allow, enqueue: admitNode(request) };
  return { response: allow, enqueue: [] };
}

function admitService(request: AdmissionRequest, config: ServiceClassConfig, options: AdmitOptions, plain: AdmissionResponse): Decision {
  let allow = plain;
  const current = request.object ? asService(request.object) : undefined;
  const previous = request.oldObject ? asService(request.oldObject) : undefined;
  const creatingOrUpdating = request.operation === 'CREATE' || request.operation === 'UPDATE';
  const fromFerry = options.controllerUsernames.includes(request.userInfo.username);
  // A Service on its way out must be let go whatever its annotations say: ferry's own
  // finalizer removal arrives as an UPDATE of it, and clears the record in the same patch.
  const leaving = current?.metadata?.deletionTimestamp !== undefined || previous?.metadata?.deletionTimestamp !== undefined;
  if (creatingOrUpdating && current && !fromFerry && !leaving) {
    const annotations = annotationsOf(request.object);
    const keys = Object.keys(annotations);
    const ferrys = isFerrysClass(current, config);
    const checked = ferrys ? reviewAnnotations(annotations, keys, current) : { problems: [], warnings: [] };
    const tooManyPorts = ferrys && current.spec?.type === 'LoadBalancer' ? listenerLimitProblem(portNumbers(request.object)) : undefined;
    const problems = [
      ...recordProblems(annotations, keys, request.oldObject ? annotationsOf(request.oldObject) : undefined, request.userInfo.username, options.controllerUsernames),
      ...(tooManyPorts ? [tooManyPorts] : []),
      ...checked.problems,
    ];
    if (problems.length > 0) {
      return {
        response: { uid: request.uid, allowed: false, status: { code: 422, reason: 'Invalid', message: `ferry: ${problems.join('; ')}` } },
        enqueue: [],
      };
    }
    if (checked.warnings.length > 0) allow = { ...allow, warnings: checked.warnings };
  }
  const ours = (s: V1Service | undefined) => s !== undefined && isFerrysConcern(s, config);
  if (request.dryRun || !(ours(current) || ours(previous))) return { response: allow, enqueue: [] };
  const subject = current ?? previous!;
  const namespace = subject.metadata?.namespace ?? request.namespace ?? '';
  const name = subject.metadata?.name ?? request.name ?? '';
  if (!namespace || !name) return { response: allow, enqueue: [] };
  return { response: allow, enqueue: [serviceMessage(namespace, name, dedupId(subject, request))] };
}

/**
 * The `status.ferry.io/` keys this request adds, changes or removes. The reconciler trusts
 * that record to find what it made (and to clean up after a Service of any class), so a
 * forged one must never reach it; the check covers every Service, not only ferry's.
 */
function recordProblems(
  after: Readonly<Record<string, unknown>>,
  afterKeys: readonly string[],
  before: Readonly<Record<string, unknown>> | undefined,
  username: string,
  trusted: readonly string[],
): string[] {
  // Counted in one pass over each side, naming the first few: 20,000 forged keys must cost
  // no more than reading them.
  const named: string[] = [];
  let count = 0;
  const note = (key: string) => {
    if (++count <= 3) named.push(key.length <= 120 ? key : `${key.slice(0, 100)}…`);
  };
  for (const key of afterKeys) {
    if (key.startsWith(RECORD_PREFIX) && (before === undefined || !Object.hasOwn(before, key) || before[key] !== after[key])) note(key);
  }
  for (const key of Object.keys(before ?? {})) if (key.startsWith(RECORD_PREFIX) && !Object.hasOwn(after, key)) note(key);
  if (count === 0) return [];
  const keys = `${named.join(', ')}${count > named.length ? ` and ${count - named.length} more` : ''}`;
  const one = count === 1;
  const who = trusted.length > 0 ? `ferry's own identity (${trusted.join(', ')}; FERRY_CONTROLLER_USERNAMES)` : 'ferry itself';
  const caller = username ? JSON.stringify(username.slice(0, 128)) : 'an unnamed user';
  const fix = before ? `leave ${one ? 'it as it was' : 'them as they were'}` : `remove ${one ? 'it' : 'them'} from the new Service`;
  return [
    `${one ? 'annotation' : 'annotations'} ${keys}: ${RECORD_PREFIX}* is ferry's record of what it made for this Service and may be set, changed or removed only by ${who}, not by ${caller}; ${fix}`,
  ];
}

function admitNode(request: AdmissionRequest): QueuedMessage[] {
  if (request.dryRun) return [];
  const current = request.object ? asNode(request.object) : undefined;
  const previous = request.oldObject ? asNode(request.oldObject) : undefined;
  const subject = current ?? previous;
  if (!subject) return [];
  if (request.operation === 'UPDATE' && previous && current && !nodeChangeMatters(previous, current)) return [];
  return [fanoutMessage(`node ${subject.metadata?.name ?? ''} ${request.operation.toLowerCase()}`, `node-${dedupId(subject, request)}`)];
}

/**
 * What about a Node decides whether and how it is a target: its instance, its addresses,
 * its labels (exclusion label, `ferry.io/target-node-labels`), its taints, its deletion.
 * Status heartbeats and conditions do not matter, and most Node updates are just those.
 */
export function nodeChangeMatters(a: V1Node, b: V1Node): boolean {
  const addresses = (n: V1Node) => (n.status?.addresses ?? []).map((x) => `${x.type}=${x.address}`);
  const taints = (n: V1Node) => (n.spec?.taints ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`);
  return (
    (a.spec?.providerID ?? '') !== (b.spec?.providerID ?? '') ||
    (a.metadata?.deletionTimestamp !== undefined) !== (b.metadata?.deletionTimestamp !== undefined) ||
    !sameBag(addresses(a), addresses(b)) ||
    !sameBag(taints(a), taints(b)) ||
    !sameRecord(a.metadata?.labels ?? {}, b.metadata?.labels ?? {})
  );
}

// Linear comparisons: a Node may carry 50,000 labels, and sorting both sides for each
// heartbeat would cost the webhook more than everything else it does.

function sameBag(x: readonly string[], y: readonly string[]): boolean {
  if (x.length !== y.length) return false;
  const counts = new Map<string, number>();
  for (const s of x) counts.set(s, (counts.get(s) ?? 0) + 1);
  for (const s of y) {
    const n = counts.get(s);
    if (!n) return false;
    counts.set(s, n - 1);
  }
  return true;
}

function sameRecord(x: Readonly<Record<string, unknown>>, y: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && x[k] === y[k]);
}

/** How many distinct port numbers the Service asks for: one listener each. */
function portNumbers(o: unknown): number {
  const numbers = new Set<number>();
  for (const p of array(record(record(o).spec).ports)) {
    const port = record(p).port;
    if (typeof port === 'number') numbers.add(port);
  }
  return numbers.size;
}

/** uid + resourceVersion + operation: one message per committed change, duplicates dropped by SQS. */
function dedupId(subject: { metadata?: { uid?: string; resourceVersion?: string } }, request: AdmissionRequest): string {
  return `${subject.metadata?.uid ?? request.uid}-${subject.metadata?.resourceVersion ?? '0'}-${request.operation}`;
}

// The objects come from the wire: keep only well-typed fields, so that no shape of input can
// make the predicates above throw.

function asService(o: Record<string, unknown>): V1Service {
  const metadata = meta(o.metadata);
  const spec = record(o.spec);
  // The first ingress is evidence enough that another controller serves the Service.
  const ingress = array(record(record(o.status).loadBalancer).ingress)[0];
  return {
    metadata,
    spec: {
      ...(typeof spec.type === 'string' ? { type: spec.type } : {}),
      ...(typeof spec.loadBalancerClass === 'string' ? { loadBalancerClass: spec.loadBalancerClass } : {}),
      // What the aliases read: a named health-check port, the traffic policy, the affinity.
      ...(typeof spec.externalTrafficPolicy === 'string' ? { externalTrafficPolicy: spec.externalTrafficPolicy } : {}),
      ...(typeof spec.sessionAffinity === 'string' ? { sessionAffinity: spec.sessionAffinity } : {}),
      ports: array(spec.ports).map((p) => {
        const port = record(p);
        return {
          port: typeof port.port === 'number' ? port.port : 0,
          ...(typeof port.name === 'string' ? { name: port.name } : {}),
          ...(typeof port.protocol === 'string' ? { protocol: port.protocol } : {}),
          ...(typeof port.nodePort === 'number' ? { nodePort: port.nodePort } : {}),
        };
      }),
    },
    ...(ingress !== undefined
      ? { status: { loadBalancer: { ingress: [{ ...(stringOr(record(ingress).hostname) ? { hostname: stringOr(record(ingress).hostname) } : {}), ...(stringOr(record(ingress).ip) ? { ip: stringOr(record(ingress).ip) } : {}) }] } } }
      : {}),
  };
}

function asNode(o: Record<string, unknown>): V1Node {
  const spec = record(o.spec);
  const status = record(o.status);
  return {
    metadata: {
      ...meta(o.metadata),
      // Not copied: nodeChangeMatters only compares the values, whatever their type.
      labels: record(record(o.metadata).labels) as Record<string, string>,
    },
    spec: {
      ...(typeof spec.providerID === 'string' ? { providerID: spec.providerID } : {}),
      taints: array(spec.taints).map((t) => ({ key: stringOr(record(t).key) ?? '', value: stringOr(record(t).value), effect: stringOr(record(t).effect) ?? '' })),
    },
    status: {
      addresses: array(status.addresses).map((a) => ({ type: stringOr(record(a).type) ?? '', address: stringOr(record(a).address) ?? '' })),
    },
  };
}

function meta(v: unknown): NonNullable<V1Service['metadata']> {
  const m = record(v);
  return {
    ...(typeof m.name === 'string' ? { name: m.name } : {}),
    ...(typeof m.namespace === 'string' ? { namespace: m.namespace } : {}),
    ...(typeof m.uid === 'string' ? { uid: m.uid } : {}),
    ...(typeof m.resourceVersion === 'string' ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.deletionTimestamp !== undefined && m.deletionTimestamp !== null ? { deletionTimestamp: new Date(0) } : {}),
    // Only the keys the claim predicates look for (ferry's record, the opt-in to adopt, the
    // other controllers' type annotation): a Service may carry 20,000 annotations, and
    // copying them would be most of a request's cost. The checks above read the annotations
    // where they are, through annotationsOf.
    annotations: pick(m.annotations, CLAIM_KEYS),
    finalizers: array(m.finalizers).filter((f): f is string => typeof f === 'string'),
  };
}

const CLAIM_KEYS = [CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION, ADOPT_ANNOTATION, ...FOREIGN_PREFIXES.map((p) => `${p}${TYPE_SUFFIX}`)];

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function array(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function pick(v: unknown, keys: readonly string[]): Record<string, string> {
  const from = record(v);
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = from[key];
    if (Object.hasOwn(from, key) && typeof value === 'string') out[key] = value;
  }
  return out;
}

/** An object's annotations as they arrived; values are unchecked, so readers check them. */
function annotationsOf(o: Record<string, unknown> | null): Readonly<Record<string, unknown>> {
  return record(record(o?.metadata).annotations);
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
