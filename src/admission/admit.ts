import type { V1Node, V1Service } from '@kubernetes/client-node';
import { validateAnnotations } from '../model/annotations';
import { isFerrysClass, isFerrysConcern, type ServiceClassConfig } from '../model/service';
import { fanoutMessage, serviceMessage, type QueuedMessage } from '../queue/messages';
import type { AdmissionRequest, AdmissionResponse } from './review';

export interface Decision {
  response: AdmissionResponse;
  /** Work to queue if the request is allowed; empty for dryRun and for what ferry does not own. */
  enqueue: QueuedMessage[];
}

/**
 * The webhook's decision, pure. ferry answers `allowed: true` for everything it does not
 * own, and denies only a Service of its class whose `ferry.io/` annotations are invalid,
 * with the schema's message. Allowed changes that matter to load balancers become queue
 * messages; the queue consumer reads the current state, so a request that is never
 * committed, or arrives twice or out of order, does no harm.
 */
export function admit(request: AdmissionRequest, config: ServiceClassConfig): Decision {
  const allow: AdmissionResponse = { uid: request.uid, allowed: true };
  const group = request.kind.group;
  if (group === '' && request.kind.kind === 'Service' && !request.subResource) return admitService(request, config, allow);
  if (group === '' && request.kind.kind === 'Node' && !request.subResource) return { response: allow, enqueue: admitNode(request) };
  return { response: allow, enqueue: [] };
}

function admitService(request: AdmissionRequest, config: ServiceClassConfig, allow: AdmissionResponse): Decision {
  const current = request.object ? asService(request.object) : undefined;
  const previous = request.oldObject ? asService(request.oldObject) : undefined;
  const creatingOrUpdating = request.operation === 'CREATE' || request.operation === 'UPDATE';
  // A Service on its way out must be let go whatever its annotations say: ferry's own
  // finalizer removal arrives as an UPDATE of it.
  if (creatingOrUpdating && current && isFerrysClass(current, config) && !current.metadata?.deletionTimestamp) {
    const problems = validateAnnotations(current.metadata?.annotations);
    if (problems.length > 0) {
      return {
        response: { uid: request.uid, allowed: false, status: { code: 422, reason: 'Invalid', message: `ferry: ${problems.join('; ')}` } },
        enqueue: [],
      };
    }
  }
  const ours = (s: V1Service | undefined) => s !== undefined && isFerrysConcern(s, config);
  if (request.dryRun || !(ours(current) || ours(previous))) return { response: allow, enqueue: [] };
  const subject = current ?? previous!;
  const namespace = subject.metadata?.namespace ?? request.namespace ?? '';
  const name = subject.metadata?.name ?? request.name ?? '';
  if (!namespace || !name) return { response: allow, enqueue: [] };
  return { response: allow, enqueue: [serviceMessage(namespace, name, dedupId(subject, request))] };
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
  const facts = (n: V1Node) =>
    JSON.stringify([
      n.spec?.providerID ?? '',
      (n.status?.addresses ?? []).map((x) => `${x.type}=${x.address}`).sort(),
      Object.entries(n.metadata?.labels ?? {}).sort(([x], [y]) => (x < y ? -1 : 1)),
      (n.spec?.taints ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).sort(),
      n.metadata?.deletionTimestamp !== undefined,
    ]);
  return facts(a) !== facts(b);
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
  return {
    metadata,
    spec: {
      ...(typeof spec.type === 'string' ? { type: spec.type } : {}),
      ...(typeof spec.loadBalancerClass === 'string' ? { loadBalancerClass: spec.loadBalancerClass } : {}),
    },
  };
}

function asNode(o: Record<string, unknown>): V1Node {
  const spec = record(o.spec);
  const status = record(o.status);
  return {
    metadata: meta(o.metadata),
    spec: {
      ...(typeof spec.providerID === 'string' ? { providerID: spec.providerID } : {}),
      taints: array(spec.taints).map((t) => ({ key: String(record(t).key ?? ''), value: stringOr(record(t).value), effect: String(record(t).effect ?? '') })),
    },
    status: {
      addresses: array(status.addresses).map((a) => ({ type: String(record(a).type ?? ''), address: String(record(a).address ?? '') })),
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
    annotations: strings(m.annotations),
    labels: strings(m.labels),
    finalizers: array(m.finalizers).filter((f): f is string => typeof f === 'string'),
  };
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function array(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function strings(v: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(record(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
