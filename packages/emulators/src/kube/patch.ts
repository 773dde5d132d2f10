/**
 * The three patch formats of the PATCH verb (handlers/patch.go):
 * - application/merge-patch+json: RFC 7386.
 * - application/json-patch+json: RFC 6902, including `test`. Failures while applying are
 *   422 like the API server's jsonpatch errors; a malformed document is 400.
 * - application/strategic-merge-patch+json: merge semantics plus the list strategies a
 *   resource declares (see {@link ListStrategies}) and the directives clients actually send:
 *   `$patch: delete|replace`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`
 *   (accepted, order not enforced) and `$retainKeys`. Lists without a declared strategy are
 *   replaced, as lists without patchStrategy are in the Go types.
 * Server-side apply (application/apply-patch+yaml) is not implemented (415).
 */
import { errors } from './errors';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json';

export const PatchType = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/**
 * patchStrategy per list, keyed by dotted path from the object root (e.g. `spec.ports`).
 * `merge` lists are keyed by `keys` (defaults fill absent key fields, e.g. protocol TCP);
 * `set` lists are primitive lists merged as sets (finalizers).
 */
export type ListStrategy = { kind: 'merge'; keys: readonly string[]; defaults?: Readonly<Record<string, Json>> } | { kind: 'set' };
export type ListStrategies = Readonly<Record<string, ListStrategy>>;

export const commonListStrategies: ListStrategies = {
  'metadata.finalizers': { kind: 'set' },
  'metadata.ownerReferences': { kind: 'merge', keys: ['uid'] },
};

export function applyPatch(contentType: string, target: JsonObject, patch: unknown, strategies: ListStrategies): JsonObject {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  let result: unknown;
  switch (type) {
    case PatchType.merge:
      result = mergePatch(target, patch);
      break;
    case PatchType.json:
      result = jsonPatch(target, patch);
      break;
    case PatchType.strategic:
      if (!isObject(patch)) throw errors.badRequest('strategic merge patch must be a JSON object');
      result = strategicMerge(clone(target), patch, strategies, '');
      break;
    default:
      throw errors.unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: ${PatchType.json}, ${PatchType.merge}, ${PatchType.strategic}`,
      );
  }
  if (!isObject(result)) throw errors.badRequest('the patched document is not a JSON object');
  return result;
}

// ---------------------------------------------------------------------------------------
// RFC 7386

export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return clone(patch as Json);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// RFC 6902

type Container = Json[] | JsonObject;

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw errors.unprocessable(`JSON pointer must start with '/': ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveParent(doc: Json, tokens: readonly string[], op: string, pointer: string): { parent: Container; last: string } {
  let current: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(current) ? current[Number(token)] : isObject(current) ? current[token] : undefined;
    if (next === undefined || next === null || typeof next !== 'object') {
      throw errors.unprocessable(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
    }
    current = next;
  }
  if (current === null || typeof current !== 'object') throw errors.unprocessable(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
  return { parent: current, last: tokens[tokens.length - 1] ?? '' };
}

function arrayIndex(list: Json[], token: string, allowEnd: boolean, op: string): number {
  if (allowEnd && token === '-') return list.length;
  const index = Number(token);
  if (!/^\d+$/.test(token) || index > list.length || (!allowEnd && index === list.length)) {
    throw errors.unprocessable(`${op} operation does not apply: index out of bounds: ${token}`);
  }
  return index;
}

function getAt(doc: Json, pointer: string, op: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, last } = resolveParent(doc, tokens, op, pointer);
  const value = Array.isArray(parent) ? parent[Number(last)] : parent[last];
  if (value === undefined) throw errors.unprocessable(`${op} operation does not apply: doc is missing key: ${pointer}: missing value`);
  return value;
}

function removeAt(doc: Json, pointer: string, op: string): Json {
  const tokens = parsePointer(pointer);
  const { parent, last } = resolveParent(doc, tokens, op, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, false, op);
    return parent.splice(index, 1)[0] as Json;
  }
  if (!(last in parent)) throw errors.unprocessable(`Unable to remove nonexistent key: ${last}: missing value`);
  const value = parent[last] as Json;
  delete parent[last];
  return value;
}

function addAt(doc: Json, pointer: string, value: Json, op: string, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = resolveParent(doc, tokens, op, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, !replace, op);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !(last in parent)) throw errors.unprocessable(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    parent[last] = value;
  }
  return doc;
}

export function jsonPatch(target: JsonObject, patch: unknown): Json {
  if (!Array.isArray(patch)) throw errors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: Json = clone(target);
  for (const raw of patch) {
    if (!isObject(raw)) throw errors.badRequest('json: cannot unmarshal into Go value of type jsonpatch.Operation');
    const op = typeof raw.op === 'string' ? raw.op : '';
    const path = typeof raw.path === 'string' ? raw.path : undefined;
    if (path === undefined) throw errors.unprocessable(`${op} operation does not apply: missing path`);
    switch (op) {
      case 'add':
      case 'replace':
        if (!('value' in raw)) throw errors.unprocessable(`${op} operation does not apply: missing value`);
        doc = addAt(doc, path, clone(raw.value as Json), op, op === 'replace');
        break;
      case 'remove':
        removeAt(doc, path, op);
        break;
      case 'move':
      case 'copy': {
        const from = typeof raw.from === 'string' ? raw.from : '';
        const value = op === 'move' ? removeAt(doc, from, op) : clone(getAt(doc, from, op));
        doc = addAt(doc, path, value, op, false);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path, op), raw.value ?? null)) throw errors.unprocessable(`testing value ${path} failed: test failed`);
        break;
      default:
        throw errors.unprocessable(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------
// Strategic merge patch (the subset described above)

const deleteFromPrimitiveList = '$deleteFromPrimitiveList/';
const setElementOrder = '$setElementOrder/';

function strategicMerge(target: JsonObject, patch: JsonObject, strategies: ListStrategies, path: string): JsonObject {
  if (patch.$patch === 'replace') {
    const { $patch: _replace, ...rest } = patch;
    return clone(rest);
  }
  for (const [key, value] of Object.entries(patch)) {
    const childPath = path ? `${path}.${key}` : key;
    if (key === '$patch' || key.startsWith(setElementOrder)) continue;
    if (key === '$retainKeys') continue;
    if (key.startsWith(deleteFromPrimitiveList)) {
      const listKey = key.slice(deleteFromPrimitiveList.length);
      const current = target[listKey];
      if (Array.isArray(current) && Array.isArray(value)) target[listKey] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    const current = target[key];
    if (value === null) {
      delete target[key];
    } else if (isObject(value)) {
      if (value.$patch === 'delete') delete target[key];
      else target[key] = strategicMerge(isObject(current) ? current : {}, value, strategies, childPath);
    } else if (Array.isArray(value)) {
      target[key] = mergeList(Array.isArray(current) ? current : [], value, strategies[childPath], strategies, childPath);
    } else {
      target[key] = value;
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.filter((k): k is string => typeof k === 'string'));
    for (const key of Object.keys(target)) if (!keep.has(key)) delete target[key];
  }
  return target;
}

function mergeList(current: Json[], patch: Json[], strategy: ListStrategy | undefined, strategies: ListStrategies, path: string): Json[] {
  if (patch.some((e) => isObject(e) && e.$patch === 'replace')) {
    return clone(patch.filter((e) => !(isObject(e) && e.$patch === 'replace')));
  }
  if (strategy?.kind === 'set') {
    const out = [...current];
    for (const v of patch) if (!out.some((c) => deepEqual(c, v))) out.push(clone(v));
    return out;
  }
  if (strategy?.kind !== 'merge') return clone(patch);
  const keyOf = (e: JsonObject) => strategy.keys.map((k) => JSON.stringify(e[k] ?? strategy.defaults?.[k] ?? null)).join('|');
  const out = clone(current);
  for (const element of patch) {
    if (!isObject(element)) continue;
    const index = out.findIndex((c) => isObject(c) && keyOf(c) === keyOf(element));
    if (element.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategicMerge(out[index] as JsonObject, element, strategies, path);
    } else {
      const { $patch: _ignored, ...rest } = element;
      out.push(clone(rest));
    }
  }
  return out;
}
