/**
 * AdmissionReview `admission.k8s.io/v1`, checked by hand so that any input — a fuzzer's
 * or an attacker's — yields either a typed request or a message naming what is wrong,
 * never an exception.
 */
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource: string | undefined;
  name: string | undefined;
  namespace: string | undefined;
  operation: Operation;
  /** The object after the change; null on DELETE. */
  object: Record<string, unknown> | null;
  /** The object before the change; null on CREATE. */
  oldObject: Record<string, unknown> | null;
  dryRun: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
}

export type ParseResult = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export function parseAdmissionReview(body: unknown): ParseResult {
  if (!isRecord(body)) return fail('the body must be a JSON object (an AdmissionReview)');
  if (body.apiVersion !== 'admission.k8s.io/v1') {
    return fail(`apiVersion must be "admission.k8s.io/v1", got ${show(body.apiVersion)}`);
  }
  if (body.kind !== 'AdmissionReview') return fail(`kind must be "AdmissionReview", got ${show(body.kind)}`);
  const r = body.request;
  if (!isRecord(r)) return fail('request must be an object');
  if (typeof r.uid !== 'string' || r.uid.length === 0 || r.uid.length > 128) return fail('request.uid must be a string of 1 to 128 characters');
  if (typeof r.operation !== 'string' || !OPERATIONS.includes(r.operation)) {
    return fail(`request.operation must be one of ${OPERATIONS.join(', ')}, got ${show(r.operation)}`);
  }
  const kind = groupVersion(r.kind, 'kind', 'request.kind');
  if (typeof kind === 'string') return fail(kind);
  const resource = groupVersion(r.resource, 'resource', 'request.resource');
  if (typeof resource === 'string') return fail(resource);
  for (const field of ['object', 'oldObject'] as const) {
    if (r[field] !== undefined && r[field] !== null && !isRecord(r[field])) return fail(`request.${field} must be an object or null`);
  }
  for (const field of ['name', 'namespace', 'subResource'] as const) {
    if (r[field] !== undefined && typeof r[field] !== 'string') return fail(`request.${field} must be a string`);
  }
  if (r.dryRun !== undefined && typeof r.dryRun !== 'boolean') return fail('request.dryRun must be a boolean');
  return {
    ok: true,
    request: {
      uid: r.uid,
      kind: { group: kind.group, version: kind.version, kind: kind.name },
      resource: { group: resource.group, version: resource.version, resource: resource.name },
      subResource: r.subResource as string | undefined,
      name: r.name as string | undefined,
      namespace: r.namespace as string | undefined,
      operation: r.operation as Operation,
      object: (r.object as Record<string, unknown> | undefined) ?? null,
      oldObject: (r.oldObject as Record<string, unknown> | undefined) ?? null,
      dryRun: r.dryRun === true,
    },
  };
}

function groupVersion(v: unknown, nameField: 'kind' | 'resource', path: string): { group: string; version: string; name: string } | string {
  if (!isRecord(v)) return `${path} must be an object with group, version and ${nameField}`;
  const { group = '', version, [nameField]: name } = v as Record<string, unknown>;
  if (typeof group !== 'string' || typeof version !== 'string' || typeof name !== 'string' || !version || !name) {
    return `${path} must have string group, version and ${nameField}`;
  }
  return { group, version, name };
}

export function reviewResponse(response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function fail(error: string): ParseResult {
  return { ok: false, error };
}
