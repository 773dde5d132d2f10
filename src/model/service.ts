import type { V1Service } from '@kubernetes/client-node';
import { hasRecord } from './record';
import type { ServiceRef } from './types';

/** Decisions about a Service as named predicates (the core service controller's style). */

export const LOAD_BALANCER_CLASS = 'ferry.io/nlb';
export const FINALIZER = 'ferry.io/load-balancer-cleanup';

export interface ServiceClassConfig {
  /** Also serve LoadBalancer Services without `spec.loadBalancerClass` (default on). */
  claimUnclassedServices: boolean;
}

export function serviceRef(service: V1Service): ServiceRef {
  return {
    namespace: service.metadata?.namespace ?? 'default',
    name: service.metadata?.name ?? '',
    uid: service.metadata?.uid ?? '',
  };
}

/** A LoadBalancer Service of ferry's class, whether or not it is being deleted. */
export function isFerrysClass(service: V1Service, config: ServiceClassConfig): boolean {
  if (service.spec?.type !== 'LoadBalancer') return false;
  const cls = service.spec.loadBalancerClass;
  return cls === LOAD_BALANCER_CLASS || (cls === undefined && config.claimUnclassedServices);
}

export function isBeingDeleted(service: V1Service): boolean {
  return service.metadata?.deletionTimestamp !== undefined;
}

export function wantsLoadBalancer(service: V1Service, config: ServiceClassConfig): boolean {
  return isFerrysClass(service, config) && !isBeingDeleted(service);
}

export function hasFinalizer(service: V1Service): boolean {
  return service.metadata?.finalizers?.includes(FINALIZER) ?? false;
}

/**
 * Whether ferry must look at the Service at all: it is of ferry's class, or ferry made
 * something for it earlier (a finalizer or ferry's record) that may need cleaning up.
 */
export function isFerrysConcern(service: V1Service, config: ServiceClassConfig): boolean {
  return isFerrysClass(service, config) || hasFinalizer(service) || hasRecord(service);
}

/** ferry made something for this Service that it no longer wants. */
export function needsCleanup(service: V1Service, config: ServiceClassConfig): boolean {
  return hasFinalizer(service) && !wantsLoadBalancer(service, config);
}
