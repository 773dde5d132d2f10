/**
 * metav1.Status errors as kube-apiserver builds them
 * (k8s.io/apimachinery/pkg/api/errors/errors.go) and field errors as
 * k8s.io/apimachinery/pkg/util/validation/field/errors.go renders them, so messages match
 * byte for byte where ferry (or a human reading a log) can notice.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  /** Absent on the Success Status a DELETE answers with (omitempty in Go). */
  code?: number;
}

export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'StatusError';
  }
  get code(): number {
    return this.status.code ?? 500;
  }
}

/** A group-qualified resource or kind, printed as `resource.group` (group omitted for core). */
export interface Qualified {
  group: string;
  name: string;
}

export function qualifiedString(q: Qualified): string {
  return q.group ? `${q.name}.${q.group}` : q.name;
}

function details(q: Qualified | undefined, name: string | undefined, extra: Partial<StatusDetails> = {}): StatusDetails {
  // Go omits empty strings (omitempty): keep the JSON identical.
  const d: StatusDetails = {};
  if (name) d.name = name;
  if (q?.group) d.group = q.group;
  if (q?.name) d.kind = q.name;
  return { ...d, ...extra };
}

function failure(code: number, reason: string | undefined, message: string, d?: StatusDetails): StatusError {
  // Field order of metav1.Status, so the raw JSON reads like the real server's.
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(d ? { details: d } : {}),
    code,
  };
  return new StatusError(status);
}

/** The Status a DELETE answers with when the object is gone (store.finalizeDelete: no code). */
export function successStatus(resource: Qualified, name: string, uid: string | undefined): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: details(resource, name, uid ? { uid } : {}) };
}

export const errors = {
  notFound: (resource: Qualified, name: string) =>
    failure(404, 'NotFound', `${qualifiedString(resource)} "${name}" not found`, details(resource, name)),
  /** Unknown path or resource: the generic 404 of the API server's mux. */
  pathNotFound: () => failure(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (resource: Qualified, name: string) =>
    failure(409, 'AlreadyExists', `${qualifiedString(resource)} "${name}" already exists`, details(resource, name)),
  conflict: (resource: Qualified, name: string, message: string) =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedString(resource)} "${name}": ${message}`, details(resource, name)),
  invalid: (kind: Qualified, name: string, errs: readonly FieldError[]) => {
    const causes = errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
    const unique = [...new Set(errs.map(fieldErrorString))];
    const summary = unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
    return failure(422, 'Invalid', `${qualifiedString(kind)} "${name}" is invalid: ${summary}`, details(kind, name, { causes }));
  },
  /** 422 without field errors, as jsonpatch application failures are reported. */
  unprocessable: (message: string) => failure(422, 'Invalid', message, {}),
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  /** The watch cache and etcd report history that is gone as 410 with reason Expired. */
  expired: (message: string) => failure(410, 'Expired', message),
  methodNotAllowed: () => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (resource: Qualified, name: string, message: string, causes?: StatusCause[]) =>
    failure(403, 'Forbidden', `${qualifiedString(resource)} "${name}" is forbidden: ${message}`, details(resource, name, causes ? { causes } : {})),
  internal: (message: string) =>
    failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  /** etcd3 store errors that reach the client as a bare 500 without a reason. */
  bare500: (message: string) => failure(500, undefined, message),
  unsupportedMediaType: (message: string) => failure(415, 'UnsupportedMediaType', message, {}),
  tooLarge: (message: string) => failure(413, 'RequestEntityTooLarge', message),
};

// ---------------------------------------------------------------------------------------
// Field errors

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** The bad value already rendered the way Go's `%v`/`%q`/`%#v` would print it. */
  value?: string;
  detail: string;
}

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
};

/** field.Error.ErrorBody(): Required/Forbidden/TooLong never print the value. */
export function errorBody(e: FieldError): string {
  const withoutValue = e.type === 'FieldValueRequired' || e.type === 'FieldValueForbidden' || e.type === 'FieldValueTooLong' || e.type === 'InternalError';
  let s = withoutValue || e.value === undefined ? typeText[e.type] : `${typeText[e.type]}: ${e.value}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** Renders bad values like Go's fmt for the types the validators use. */
export const go = {
  str: (s: string) => JSON.stringify(s),
  num: (n: number) => String(n),
  strings: (list: readonly string[]) => `[]string{${list.map((s) => JSON.stringify(s)).join(', ')}}`,
  /** A *string that may be nil. */
  ptr: (s: string | undefined) => (s === undefined ? 'null' : JSON.stringify(s)),
};

export const field = {
  required: (path: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field: path, detail }),
  invalid: (path: string, value: string, detail: string): FieldError => ({ type: 'FieldValueInvalid', field: path, value, detail }),
  duplicate: (path: string, value: string): FieldError => ({ type: 'FieldValueDuplicate', field: path, value, detail: '' }),
  forbidden: (path: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field: path, detail }),
  notSupported: (path: string, value: string, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field: path,
    value,
    detail: supported.length ? `supported values: ${supported.map((v) => JSON.stringify(v)).join(', ')}` : '',
  }),
  tooMany: (path: string, actual: number, max: number): FieldError => ({ type: 'FieldValueTooMany', field: path, value: String(actual), detail: `must have at most ${max} items` }),
  tooLong: (path: string, max: number): FieldError => ({ type: 'FieldValueTooLong', field: path, detail: `may not be more than ${max} bytes` }),
  /** apivalidation.ValidateImmutableField. */
  immutable: (path: string, value: string): FieldError => ({ type: 'FieldValueInvalid', field: path, value, detail: 'field is immutable' }),
};
