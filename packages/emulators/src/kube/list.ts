/**
 * LIST semantics: selectors, `limit`/`continue` paging and `resourceVersionMatch=Exact`.
 *
 * Pages are consistent like etcd's: a continue token pins the resourceVersion of the
 * first page, and later pages are served from the state at that version (rebuilt from the
 * watch history). When that history is gone the token has expired: 410 with the real
 * message. `remainingItemCount` is only reported without selectors, as etcd3 does.
 */
import { errors } from './errors';
import type { KubeObject } from './json';
import { apiVersionOf, fieldNames, fieldsOf, type ResourceType, resourceId, storeKey } from './resources/types';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import type { ObjectStore } from './store';

export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export interface ListResult {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, ' +
  'or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent ' +
  'list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** A predicate over objects for one request: scope, optional name, label and field selectors. */
export function objectFilter(rt: ResourceType, namespace: string, name: string | undefined, labelSelector?: string | null, fieldSelector?: string | null) {
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector, fieldNames(rt));
  const filter = (obj: KubeObject) =>
    (!namespace || obj.metadata.namespace === namespace) &&
    (name === undefined || obj.metadata.name === name) &&
    labels.matches(obj.metadata.labels) &&
    fields.matches(fieldsOf(rt, obj));
  return { filter, selective: !labels.empty || fields.requirements.length > 0 };
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${start}\u0000` })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'v' in parsed && 'rv' in parsed && 'start' in parsed) {
      const { v, rv, start } = parsed as { v: unknown; rv: unknown; start: unknown };
      if (v === 'meta.k8s.io/v1' && typeof rv === 'number' && rv > 0 && typeof start === 'string') return { rv, start };
    }
  } catch {
    // fall through to the error below
  }
  throw errors.badRequest('invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

export function listObjects(store: ObjectStore, rt: ResourceType, namespace: string, query: ListQuery): ListResult {
  const { filter, selective } = objectFilter(rt, namespace, undefined, query.labelSelector, query.fieldSelector);
  const resource = resourceId(rt);
  const prefix = namespace ? `${namespace}/` : undefined;
  let rv = store.resourceVersion;
  let start: string | undefined;
  let objects: KubeObject[] | undefined;

  if (query.continue) {
    if (query.resourceVersion) throw errors.badRequest('specifying resource version is not allowed when using continue');
    const token = decodeContinue(query.continue);
    rv = token.rv;
    start = token.start;
    objects = store.listAt(resource, rv, prefix);
    if (!objects) throw errors.expired(CONTINUE_EXPIRED);
  } else if (query.resourceVersionMatch === 'Exact' && query.resourceVersion) {
    const wanted = Number(query.resourceVersion);
    if (!Number.isInteger(wanted)) throw errors.badRequest(`invalid resource version: ${query.resourceVersion}`);
    objects = store.listAt(resource, wanted, prefix);
    if (!objects) throw errors.expired(`too old resource version: ${wanted}`);
    rv = wanted;
  } else {
    objects = store.list(resource, prefix);
  }

  const keyOf = (obj: KubeObject) => storeKey(rt, obj.metadata.namespace ?? '', obj.metadata.name ?? '');
  const matching = objects.filter((obj) => (start === undefined || keyOf(obj) >= start) && filter(obj));
  const limit = query.limit && query.limit > 0 ? query.limit : undefined;
  const page = limit !== undefined ? matching.slice(0, limit) : matching;
  const metadata: ListResult['metadata'] = { resourceVersion: String(rv) };
  const last = page[page.length - 1];
  if (limit !== undefined && matching.length > limit && last) {
    metadata.continue = encodeContinue(rv, keyOf(last));
    if (!selective) metadata.remainingItemCount = matching.length - limit;
  }
  return { kind: `${rt.kind}List`, apiVersion: apiVersionOf(rt), metadata, items: page };
}
