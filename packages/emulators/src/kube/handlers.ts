/**
 * Verb dispatch for resource paths (handlers/get.go, create.go, update.go, patch.go,
 * delete.go): pure request → response logic over the registry, with no HTTP in it.
 * A WATCH comes back as a {@link WatchRequest} for the HTTP edge to stream.
 */
import { errors } from './errors';
import { isObject, type KubeObject } from './json';
import { listObjects, objectFilter } from './list';
import type { Route } from './paths';
import { isStatusError, type Registry } from './registry';
import type { ResourceType } from './resources/types';
import { parseWatchResourceVersion, type WatchRequest } from './watch';

type ResourceRoute = Extract<Route, { kind: 'resource' }>;

export interface ResourceRequest {
  method: string;
  route: ResourceRoute;
  query: URLSearchParams;
  body: unknown;
  contentType: string;
}

export type ResourceResponse = { status: number; body: unknown } | { watch: WatchRequest };

export interface WatchDefaults {
  bookmarkIntervalMs: number;
}

const truthy = (value: string | null) => value === 'true' || value === '1';

/** List items carry no type meta on the wire, only the list does. */
function withoutTypeMeta(obj: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest as KubeObject;
}

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw errors.badRequest(`invalid ${name}: ${raw}`);
  return value;
}

function dryRun(query: URLSearchParams, body?: unknown): boolean {
  const values = [...query.getAll('dryRun'), ...(isObject(body) && Array.isArray(body.dryRun) ? body.dryRun : [])];
  for (const v of values) if (v !== 'All') throw errors.badRequest(`Invalid dryRun value: ${String(v)}`);
  return values.length > 0;
}

/** Default watch timeout: the apiserver picks between --min-request-timeout (1800s) and twice that. */
const defaultWatchTimeoutMs = () => Math.round((1800 + Math.random() * 1800) * 1000);

export function handleResource(registry: Registry, rt: ResourceType, request: ResourceRequest, defaults: WatchDefaults): ResourceResponse {
  const { method, route, query } = request;
  const namespace = route.namespace ?? '';
  const { name, subresource } = route;
  const watch = route.watchPrefix || truthy(query.get('watch'));
  if (rt.namespaced && name !== undefined && route.namespace === undefined) throw errors.pathNotFound();
  if (subresource !== undefined && (name === undefined || !rt.subresources?.[subresource])) throw errors.pathNotFound();

  switch (method) {
    case 'GET': {
      if (watch) {
        // A malformed resourceVersion is a plain 400, before any stream starts.
        parseWatchResourceVersion(query.get('resourceVersion'));
        const { filter } = objectFilter(rt, namespace, name, query.get('labelSelector'), query.get('fieldSelector'));
        const timeoutSeconds = integerParam(query, 'timeoutSeconds');
        const sendInitialEvents = query.get('sendInitialEvents');
        return {
          watch: {
            rt,
            filter,
            resourceVersion: query.get('resourceVersion'),
            allowBookmarks: truthy(query.get('allowWatchBookmarks')),
            sendInitialEvents: sendInitialEvents === null ? undefined : truthy(sendInitialEvents),
            timeoutMs: timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : defaultWatchTimeoutMs(),
            bookmarkIntervalMs: defaults.bookmarkIntervalMs,
          },
        };
      }
      if (name !== undefined) return { status: 200, body: registry.get(rt, namespace, name) };
      const list = listObjects(registry.store, rt, namespace, {
        labelSelector: query.get('labelSelector'),
        fieldSelector: query.get('fieldSelector'),
        limit: integerParam(query, 'limit'),
        continue: query.get('continue'),
        resourceVersion: query.get('resourceVersion'),
        resourceVersionMatch: query.get('resourceVersionMatch'),
      });
      return { status: 200, body: { ...list, items: list.items.map(withoutTypeMeta) } };
    }
    case 'POST':
      if (name !== undefined || (rt.namespaced && route.namespace === undefined)) throw errors.methodNotAllowed();
      return { status: 201, body: registry.create(rt, namespace, request.body, { dryRun: dryRun(query) }) };
    case 'PUT': {
      if (name === undefined) throw errors.methodNotAllowed();
      const { object, created } = registry.update(rt, namespace, name, request.body, { dryRun: dryRun(query), subresource });
      return { status: created ? 201 : 200, body: object };
    }
    case 'PATCH':
      if (name === undefined) throw errors.methodNotAllowed();
      return { status: 200, body: registry.patch(rt, namespace, name, request.contentType, request.body, { dryRun: dryRun(query), subresource }) };
    case 'DELETE': {
      const body = isObject(request.body) ? request.body : {};
      const pre = isObject(body.preconditions) ? body.preconditions : {};
      const options = {
        dryRun: dryRun(query, body),
        preconditions: {
          uid: typeof pre.uid === 'string' ? pre.uid : undefined,
          resourceVersion: typeof pre.resourceVersion === 'string' ? pre.resourceVersion : undefined,
        },
      };
      if (subresource !== undefined) throw errors.methodNotAllowed();
      if (name !== undefined) return { status: 200, body: registry.delete(rt, namespace, name, options) };
      if (rt.namespaced && route.namespace === undefined) throw errors.methodNotAllowed();
      // deletecollection: delete what the selectors match, answer with the list of it.
      const list = listObjects(registry.store, rt, namespace, { labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector') });
      for (const obj of list.items) {
        try {
          registry.delete(rt, namespace || (obj.metadata.namespace ?? ''), obj.metadata.name ?? '', options);
        } catch (err) {
          if (!isStatusError(err) || err.code !== 404) throw err;
        }
      }
      return { status: 200, body: { ...list, items: list.items.map(withoutTypeMeta) } };
    }
    default:
      throw errors.methodNotAllowed();
  }
}
