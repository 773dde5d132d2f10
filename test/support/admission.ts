import type { V1Node, V1Service } from '@kubernetes/client-node';

/** AdmissionReview v1 bodies as the API server sends them. */
export function review(
  kind: 'Service' | 'Node',
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  object: V1Service | V1Node | null,
  oldObject: V1Service | V1Node | null = null,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const subject = object ?? oldObject;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `req-${Math.random().toString(16).slice(2, 10)}`,
      kind: { group: '', version: 'v1', kind },
      resource: { group: '', version: 'v1', resource: kind === 'Service' ? 'services' : 'nodes' },
      requestKind: { group: '', version: 'v1', kind },
      requestResource: { group: '', version: 'v1', resource: kind === 'Service' ? 'services' : 'nodes' },
      name: subject?.metadata?.name,
      ...(kind === 'Service' ? { namespace: subject?.metadata?.namespace } : {}),
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object: object ? JSON.parse(JSON.stringify(object)) : null,
      oldObject: oldObject ? JSON.parse(JSON.stringify(oldObject)) : null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'DELETE' ? 'DeleteOptions' : `${operation[0]}${operation.slice(1).toLowerCase()}Options` },
      ...extra,
    },
  };
}
