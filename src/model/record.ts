import type { V1Service } from '@kubernetes/client-node';
import { LOAD_BALANCER_NAME } from './annotations';
import { parseCheckpoint, type Checkpoint } from './checkpoint';
import { MAX_RECORDED_LOAD_BALANCERS, MAX_RECORDED_TARGET_GROUPS } from './limits';
import { isNameFor } from './names';

/**
 * What ferry writes on a Service for itself, under `status.ferry.io/` (kept apart from the
 * user's `ferry.io/` annotations, which the schema validates):
 *
 * - `status.ferry.io/checkpoint`: the model fingerprint of the last successful reconcile.
 * - `status.ferry.io/resources`: names of the load balancers and target groups that may
 *   exist for the Service. Written before an apply creates anything and narrowed after it
 *   succeeds, so a reconcile interrupted at any point, even while replacing a resource under
 *   a new name, finds everything it made by name (ELBv2 has no lookup by tag).
 */
export const CHECKPOINT_ANNOTATION = 'status.ferry.io/checkpoint';
export const RESOURCES_ANNOTATION = 'status.ferry.io/resources';

export interface ResourceNames {
  loadBalancers: string[];
  targetGroups: string[];
}

export interface ServiceRecord {
  checkpoint: Checkpoint | undefined;
  resources: ResourceNames;
}

export function readRecord(service: V1Service): ServiceRecord {
  const annotations = service.metadata?.annotations ?? {};
  const ref = { namespace: service.metadata?.namespace ?? 'default', name: service.metadata?.name ?? '' };
  return {
    checkpoint: parseCheckpoint(annotations[CHECKPOINT_ANNOTATION]),
    resources: trusted(ref, parseResources(annotations[RESOURCES_ANNOTATION])),
  };
}

function parseResources(text: string | undefined): ResourceNames {
  try {
    const parsed = JSON.parse(text ?? '{}') as Partial<ResourceNames>;
    return { loadBalancers: strings(parsed.loadBalancers), targetGroups: strings(parsed.targetGroups) };
  } catch {
    // A hand-edited value is no reason to stop; the desired names still find the current resources.
    return { loadBalancers: [], targetGroups: [] };
  }
}

/**
 * Only names ferry could have given this Service, and only as many as one replacement in
 * flight can need. Target groups always carry the Service's hashed name; a load balancer may
 * carry an explicit `ferry.io/name`, so any valid load balancer name counts, within the cap.
 * Whatever is dropped here can still be found by its ownership tags (`ferry gc`).
 */
function trusted(service: { namespace: string; name: string }, names: ResourceNames): ResourceNames {
  return {
    loadBalancers: names.loadBalancers.filter((n) => LOAD_BALANCER_NAME.test(n)).slice(0, MAX_RECORDED_LOAD_BALANCERS),
    targetGroups: names.targetGroups.filter((n) => isNameFor(service, n)).slice(0, MAX_RECORDED_TARGET_GROUPS),
  };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? [...new Set(v.filter((x): x is string => typeof x === 'string'))] : [];
}

export function formatResources(names: ResourceNames): string {
  return JSON.stringify({ loadBalancers: [...names.loadBalancers].sort(), targetGroups: [...names.targetGroups].sort() });
}

export function unionNames(a: ResourceNames, b: ResourceNames): ResourceNames {
  return {
    loadBalancers: [...new Set([...a.loadBalancers, ...b.loadBalancers])].sort(),
    targetGroups: [...new Set([...a.targetGroups, ...b.targetGroups])].sort(),
  };
}

export function hasRecord(service: V1Service): boolean {
  const annotations = service.metadata?.annotations ?? {};
  return CHECKPOINT_ANNOTATION in annotations || RESOURCES_ANNOTATION in annotations;
}
