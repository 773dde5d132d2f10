import type { V1Node } from '@kubernetes/client-node';
import type { TargetType } from './types';

/**
 * Which nodes back a load balancer, as small named predicates (the core service
 * controller's style). Readiness is deliberately not one of them: the NLB's health check
 * decides, so a flapping kubelet does not churn target registrations.
 */
export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const AUTOSCALER_DELETION_TAINT = 'ToBeDeletedByClusterAutoscaler';

const AWS_PROVIDER_ID = /^aws:\/\/\/([a-z0-9-]*)\/(i-[0-9a-f]+)$/;

export const isBeingDeleted = (node: V1Node): boolean => node.metadata?.deletionTimestamp !== undefined;

export const isExcluded = (node: V1Node): boolean => node.metadata?.labels?.[EXCLUDE_LABEL] !== undefined;

export const isTaintedForDeletion = (node: V1Node): boolean =>
  (node.spec?.taints ?? []).some((t) => t.key === AUTOSCALER_DELETION_TAINT);

export function matchesLabels(node: V1Node, wanted: Record<string, string> | undefined): boolean {
  if (!wanted) return true;
  const labels = node.metadata?.labels ?? {};
  return Object.entries(wanted).every(([key, value]) => key in labels && (value === '' || labels[key] === value));
}

/** `aws:///us-east-1a/i-0abc…` → the instance ID; undefined for other providers. */
export function instanceId(node: V1Node): string | undefined {
  return AWS_PROVIDER_ID.exec(node.spec?.providerID ?? '')?.[2];
}

export function internalIPv4(node: V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP' && /^\d+\.\d+\.\d+\.\d+$/.test(a.address))?.address;
}

/** Nodes that may receive load-balancer traffic at all, whatever the target type. */
export function candidateNodes(nodes: readonly V1Node[], labels: Record<string, string> | undefined): V1Node[] {
  return nodes.filter((n) => !isBeingDeleted(n) && !isExcluded(n) && !isTaintedForDeletion(n) && matchesLabels(n, labels));
}

/** docs/design.md §3: `instance` when every candidate has an AWS providerID, else `ip`. */
export function defaultTargetType(candidates: readonly V1Node[]): TargetType {
  return candidates.length > 0 && candidates.every((n) => instanceId(n) !== undefined) ? 'instance' : 'ip';
}

/** The target ID of each candidate that can be registered with this target type, sorted. */
export function targetIds(candidates: readonly V1Node[], targetType: TargetType): string[] {
  const pick = targetType === 'instance' ? instanceId : internalIPv4;
  const ids = new Set<string>();
  for (const node of candidates) {
    const id = pick(node);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort();
}
