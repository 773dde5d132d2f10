import type { V1Service } from '@kubernetes/client-node';
import { CONTROLLER_NAMES, controllerOfType, foreignType } from './aliases';
import { hasRecord } from './record';
import type { ServiceRef } from './types';

/** Decisions about a Service as named predicates (the core service controller's style). */

export const LOAD_BALANCER_CLASS = 'ferry.io/nlb';
export const FINALIZER = 'ferry.io/load-balancer-cleanup';
/** The explicit opt-in to take over a load balancer another controller made. */
export const ADOPT_ANNOTATION = 'ferry.io/adopt-load-balancer';

/**
 * Finalizers other controllers put on the Services they serve: LBC's (pkg/service, its
 * serviceFinalizer) and the core service controller's that every cloud provider runs
 * (k8s.io/cloud-provider, LoadBalancerCleanupFinalizer).
 */
const FOREIGN_FINALIZERS: Readonly<Record<string, string>> = {
  'service.k8s.aws/resources': CONTROLLER_NAMES.LBC,
  'service.kubernetes.io/load-balancer-cleanup': CONTROLLER_NAMES.CPA,
};

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

/**
 * A LoadBalancer Service of ferry's class, whether or not it is being deleted: its class is
 * ferry.io/nlb, or it has none, ferry claims unclassed Services and no other controller
 * serves it ({@link servedByAnother}).
 */
export function isFerrysClass(service: V1Service, config: ServiceClassConfig): boolean {
  if (service.spec?.type !== 'LoadBalancer') return false;
  const cls = service.spec.loadBalancerClass;
  if (cls === LOAD_BALANCER_CLASS) return true;
  return cls === undefined && config.claimUnclassedServices && servedByAnother(service) === undefined;
}

/**
 * Why another controller serves this unclassed Service, or undefined when none does (or
 * ferry does already). Evidence, in order: an address in status.loadBalancer that ferry did
 * not write, the type annotation that hands it to LBC or CPA, their finalizers. A Service
 * that carries ferry's finalizer or record is ferry's: ferry wrote its status. A Service
 * with ferry.io/adopt-load-balancer is ferry's too: the explicit opt-in to take over.
 */
export function servedByAnother(service: V1Service): string | undefined {
  if (service.spec?.loadBalancerClass !== undefined) return undefined;
  if (hasFinalizer(service) || hasRecord(service)) return undefined;
  const annotations = service.metadata?.annotations;
  if (annotations?.[ADOPT_ANNOTATION] !== undefined) return undefined;
  const ingress = service.status?.loadBalancer?.ingress?.[0];
  if (ingress) return `status.loadBalancer.ingress (${ingress.hostname ?? ingress.ip ?? 'an address'}) was written by another controller`;
  const type = foreignType(annotations);
  if (type) {
    const controller = controllerOfType(type.value);
    return `${type.key}=${type.value} hands it to ${controller ? CONTROLLER_NAMES[controller] : "the cloud provider's service controller (a Classic ELB)"}`;
  }
  const finalizer = service.metadata?.finalizers?.find((f) => Object.hasOwn(FOREIGN_FINALIZERS, f));
  if (finalizer) return `it carries ${finalizer}, the finalizer of ${FOREIGN_FINALIZERS[finalizer]}`;
  return undefined;
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
