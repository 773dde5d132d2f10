import type { ServiceRef } from './types';

/**
 * The ownership tag scheme. Every resource ferry creates carries:
 *
 * | key                | value                                      |
 * |--------------------|--------------------------------------------|
 * | `ferry.io/cluster` | the cluster name (`FERRY_CLUSTER_NAME`)    |
 * | `ferry.io/service` | `<namespace>/<name>` of the Service, or `cluster-wide` |
 * | `ferry.io/resource`| `LoadBalancer`, `SecurityGroup`, `BackendSecurityGroup`, or `<namespace>/<name>:<port>` for a target group |
 *
 * ferry never modifies or deletes a resource whose `ferry.io/cluster` tag is not its own
 * cluster's. The CDK IAM policy enforces the same rule on the AWS side, and no tag call may
 * add or remove these keys (users' `ferry.io/additional-tags` cannot name them).
 */
export const TAG_CLUSTER = 'ferry.io/cluster';
export const TAG_SERVICE = 'ferry.io/service';
export const TAG_RESOURCE = 'ferry.io/resource';

export const OWNERSHIP_KEYS: readonly string[] = [TAG_CLUSTER, TAG_SERVICE, TAG_RESOURCE];

/**
 * `ferry.io/service` of what serves the whole cluster rather than one Service (the backend
 * security group). No Service key can equal it: those always hold a `/`.
 */
export const CLUSTER_WIDE = 'cluster-wide';

export function serviceKey(service: { namespace: string; name: string }): string {
  return `${service.namespace}/${service.name}`;
}

export function ownershipTags(cluster: string, service: ServiceRef, resource: string): Record<string, string> {
  return { [TAG_CLUSTER]: cluster, [TAG_SERVICE]: serviceKey(service), [TAG_RESOURCE]: resource };
}

/** Whether tags mark a resource as this cluster's, the precondition for any change ferry makes. */
export function ownedByCluster(tags: Record<string, string> | undefined, cluster: string): boolean {
  return tags?.[TAG_CLUSTER] === cluster;
}

/** Whether tags mark a resource as made for this very Service of this cluster. */
export function ownedByService(tags: Record<string, string> | undefined, cluster: string, key: string): boolean {
  return ownedByCluster(tags, cluster) && tags?.[TAG_SERVICE] === key;
}

/** Tags AWS manages itself; ferry neither sets nor removes them. */
export function isAwsReserved(key: string): boolean {
  return key.toLowerCase().startsWith('aws:');
}
