/**
 * The typed-decoding step of a request body: kube-apiserver unmarshals JSON into Go
 * structs, so a field of the wrong JSON type is a 400 before any validation runs, and a
 * JSON `null` is the field's zero value. Schemas here cover the fields the emulator and
 * ferry read; fields they do not describe pass through untouched (the real server would
 * drop unknown ones with a warning).
 */
import { errors } from './errors';
import { isObject, type JsonObject } from './json';

export type Schema =
  | 'string'
  /** metav1.Time: RFC 3339, stored and served with second precision. */
  | 'time'
  /** metav1.MicroTime: RFC 3339 with microseconds. */
  | 'microTime'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'intOrString'
  | 'object'
  | { struct: string; fields: Readonly<Record<string, Schema>> }
  | { list: Schema }
  | { map: Schema };

export const struct = (name: string, fields: Readonly<Record<string, Schema>>): Schema => ({ struct: name, fields });
export const listOf = (item: Schema): Schema => ({ list: item });
export const mapOf = (value: Schema): Schema => ({ map: value });

/** Status conditions (metav1.Condition and the core ones): only the timestamps are typed. */
export const conditionsSchema = listOf(struct('Condition', { type: 'string', status: 'string', lastTransitionTime: 'time', lastHeartbeatTime: 'time', lastProbeTime: 'time' }));

export const objectMetaSchema = struct('ObjectMeta', {
  name: 'string',
  generateName: 'string',
  namespace: 'string',
  uid: 'string',
  resourceVersion: 'string',
  generation: 'int64',
  creationTimestamp: 'time',
  deletionTimestamp: 'time',
  deletionGracePeriodSeconds: 'int64',
  labels: mapOf('string'),
  annotations: mapOf('string'),
  finalizers: listOf('string'),
  ownerReferences: listOf('object'),
});

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

class DecodeError extends Error {
  constructor(
    readonly got: string,
    readonly goType: string,
    readonly at: string,
  ) {
    super('decode');
  }
}

function check(value: unknown, schema: Schema, at: string, structName: string): unknown {
  if (value === null) return undefined;
  const fail = (goType: string) => new DecodeError(jsonType(value), goType, at);
  if (typeof schema === 'string') {
    switch (schema) {
      case 'string':
        if (typeof value !== 'string') throw fail('string');
        return value;
      case 'time':
      case 'microTime': {
        const date = typeof value === 'string' ? new Date(value) : undefined;
        if (!date || Number.isNaN(date.getTime())) throw fail(schema === 'time' ? 'v1.Time' : 'v1.MicroTime');
        return schema === 'time' ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : date.toISOString().replace(/Z$/, '000Z');
      }
      case 'int32':
      case 'int64':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw fail(schema);
        return value;
      case 'bool':
        if (typeof value !== 'boolean') throw fail('bool');
        return value;
      case 'intOrString':
        if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) throw fail('intstr.IntOrString');
        return value;
      case 'object':
        if (!isObject(value)) throw fail('object');
        return value;
    }
  }
  if ('list' in schema) {
    if (!Array.isArray(value)) throw fail('[]');
    return value.map((v) => check(v, schema.list, at, structName));
  }
  if ('map' in schema) {
    if (!isObject(value)) throw fail('map[string]string');
    for (const [k, v] of Object.entries(value)) value[k] = check(v, schema.map, at, structName) as JsonObject[string];
    return value;
  }
  if (!isObject(value)) throw fail(schema.struct);
  for (const [key, child] of Object.entries(schema.fields)) {
    if (!(key in value)) continue;
    const decoded = check(value[key], child, at ? `${at}.${key}` : key, schema.struct);
    if (decoded === undefined) delete value[key];
    else value[key] = decoded as JsonObject[string];
  }
  return value;
}

/**
 * Checks `body` in place against `schema`, dropping nulls of described fields.
 * `kind`/`version` build the real error text:
 * `Service in version "v1" cannot be handled as a Service: json: cannot unmarshal ...`.
 */
export function decodeInto(body: unknown, schema: Schema, kind: string, version: string): JsonObject {
  const prefix = `${kind} in version "${version}" cannot be handled as a ${kind}`;
  if (!isObject(body)) throw errors.badRequest(`${prefix}: json: cannot unmarshal ${jsonType(body)} into Go value of type struct`);
  try {
    check(body, schema, '', kind);
  } catch (err) {
    if (err instanceof DecodeError) {
      throw errors.badRequest(`${prefix}: json: cannot unmarshal ${err.got} into Go struct field ${kind}.${err.at} of type ${err.goType}`);
    }
    throw err;
  }
  return body;
}
