/**
 * JSON value helpers shared by the store, the patchers and the resource strategies.
 * Objects in the emulator are plain JSON, exactly as they travel on the wire.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** metav1.ObjectMeta as JSON; only the fields the emulator reads are typed. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: Json | undefined;
}

/** Any Kubernetes object. Resource strategies cast to their typed view after decoding. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Structural equality that ignores key order (etcd compares canonical encodings). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Go's `omitempty` drops empty maps and slices from metadata, so a list emptied by a
 * patch (the last finalizer removed) disappears from the wire instead of showing `[]`.
 */
export function dropEmpty(target: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of keys) {
    const value = target[key];
    if (value === null || value === '' || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0)) {
      delete target[key];
    }
  }
}

/** Reorders keys the way Go's encoder emits them (struct field order), so raw JSON reads like the real API. */
export function orderKeys<T extends Record<string, unknown>>(value: T, first: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const key of first) if (value[key] !== undefined) out[key] = value[key];
  for (const [key, v] of Object.entries(value)) if (!(key in out) && v !== undefined) out[key] = v;
  return out as T;
}
