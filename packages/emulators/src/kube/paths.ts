/**
 * URL path → route, following the API server's mux:
 *   /api/v1/{resource}[/{name}[/{subresource}]]                      cluster scope / all namespaces
 *   /api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]      namespaced
 *   /apis/{group}/{version}/...                                      same shapes
 *   .../watch/...                                                    legacy watch prefix
 * `/api/v1/namespaces/{name}/status|finalize` are the Namespace's own subresources.
 */

export type Route =
  | { kind: 'health' }
  | { kind: 'version' }
  | { kind: 'apiVersions' }
  | { kind: 'groupList' }
  | { kind: 'group'; group: string }
  | { kind: 'resourceList'; group: string; version: string }
  | {
      kind: 'resource';
      group: string;
      version: string;
      /** Undefined for cluster-scoped paths (and all-namespaces collections). */
      namespace?: string;
      resource: string;
      name?: string;
      subresource?: string;
      watchPrefix: boolean;
    }
  | { kind: 'notFound' };

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parsePath(pathname: string): Route {
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  const [root, ...rest] = segments;
  // /healthz, /livez, /readyz and their per-check paths (/readyz/ping, ...).
  if ((root === 'healthz' || root === 'livez' || root === 'readyz') && rest.length <= 1) return { kind: 'health' };
  if (root === 'version' && rest.length === 0) return { kind: 'version' };
  let group: string;
  let version: string | undefined;
  let tail: string[];
  if (root === 'api') {
    if (rest.length === 0) return { kind: 'apiVersions' };
    group = '';
    [version, ...tail] = rest;
  } else if (root === 'apis') {
    if (rest.length === 0) return { kind: 'groupList' };
    const [g, v, ...t] = rest;
    group = g ?? '';
    if (v === undefined) return { kind: 'group', group };
    version = v;
    tail = t;
  } else {
    return { kind: 'notFound' };
  }
  if (version === undefined) return { kind: 'notFound' };
  if (tail.length === 0) return { kind: 'resourceList', group, version };

  const watchPrefix = tail[0] === 'watch';
  if (watchPrefix) tail = tail.slice(1);
  const base = { kind: 'resource' as const, group, version, watchPrefix };
  const namespaceSubresource = group === '' && tail.length === 3 && NAMESPACE_SUBRESOURCES.has(tail[2] ?? '');
  if (tail[0] === 'namespaces' && tail.length >= 3 && !namespaceSubresource) {
    const [, namespace, resource, name, subresource, ...extra] = tail;
    if (extra.length > 0 || resource === undefined) return { kind: 'notFound' };
    return { ...base, namespace, resource, name, subresource };
  }
  const [resource, name, subresource, ...extra] = tail;
  if (extra.length > 0 || resource === undefined) return { kind: 'notFound' };
  return { ...base, resource, name, subresource };
}
