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
  /** Who made the request, as the API server authenticated them. */
  userInfo: UserInfo;
}

export interface UserInfo {
  /** Empty when the API server sent none. */
  username: string;
  groups: string[];
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  /** Shown to the user by kubectl; short lines, few of them. */
  warnings?: string[];
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
  const userInfo = parseUserInfo(r.userInfo);
  if (typeof userInfo === 'string') return fail(userInfo);
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
      userInfo,
    },
  };
}

function parseUserInfo(v: unknown): UserInfo | string {
  if (v === undefined || v === null) return { username: '', groups: [] };
  if (!isRecord(v)) return `request.userInfo must be an object with username and groups, got ${show(v)}`;
  const { username = '', groups = [] } = v;
  if (typeof username !== 'string') return `request.userInfo.username must be a string, got ${show(username)}`;
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
    return `request.userInfo.groups must be an array of strings, got ${show(groups)}`;
  }
  return { username, groups: groups as string[] };
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

/**
 * A short description of an untrusted value for an error message. Never serialises a
 * container: a body may nest 500,000 arrays deep or hold a megabyte, and the message only
 * needs to say what kind of thing arrived.
 */
export function show(v: unknown): string {
  if (typeof v === 'string') return v.length > 60 ? `${JSON.stringify(v.slice(0, 57))}... (${v.length} characters)` : JSON.stringify(v);
  if (Array.isArray(v)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function fail(error: string): ParseResult {
  return { ok: false, error };
}
