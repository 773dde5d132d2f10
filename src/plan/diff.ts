import { compareTargets } from '../model/targets';
import type { Target } from '../model/types';
import { OWNERSHIP_KEYS, isAwsReserved } from '../model/tags';

/** Keys of `desired` whose value differs in `actual` (missing counts as different). */
export function changedEntries(desired: Record<string, string>, actual: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired)) if (actual[k] !== v) out[k] = v;
  return out;
}

export function isEmpty(record: Record<string, unknown>): boolean {
  return Object.keys(record).length === 0;
}

/**
 * Tag drift: tags to set and tags to remove. Desired tags are authoritative, except that
 * ferry never adds or removes its ownership keys (the IAM policy forbids it; they are set at
 * creation) nor touches AWS's reserved `aws:` keys.
 */
export function tagDrift(desired: Record<string, string>, actual: Record<string, string>) {
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(changedEntries(desired, actual))) if (!OWNERSHIP_KEYS.includes(k)) set[k] = v;
  const remove = Object.keys(actual)
    .filter((k) => !(k in desired) && !OWNERSHIP_KEYS.includes(k) && !isAwsReserved(k))
    .sort();
  return { set, remove };
}

/** Targets to register and to deregister to turn `actual` into `desired`. */
export function targetDrift(desired: readonly Target[], actual: readonly Target[]) {
  const key = (t: Target) => `${t.id}:${t.port}`;
  const want = new Set(desired.map(key));
  const have = new Set(actual.map(key));
  return {
    register: desired.filter((t) => !have.has(key(t))).sort(compareTargets),
    deregister: actual.filter((t) => !want.has(key(t))).sort(compareTargets),
  };
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
