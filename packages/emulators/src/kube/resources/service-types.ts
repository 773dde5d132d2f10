/** The typed view of a v1 Service and the predicates pkg/api/service and the strategy share. */
import type { KubeObject } from '../json';

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: string;
  ports?: unknown[];
}

export interface ServiceSpec {
  type?: string;
  ports?: ServicePort[];
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalName?: string;
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  allocateLoadBalancerNodePorts?: boolean;
  loadBalancerClass?: string;
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  publishNotReadyAddresses?: boolean;
  trafficDistribution?: string;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: LoadBalancerIngress[] };
  conditions?: unknown[];
}

export interface Service extends KubeObject {
  spec: ServiceSpec;
  status?: ServiceStatus;
}

/** The typed view; a body without `spec` gets an empty one, as Go's zero value would. */
export function asService(obj: KubeObject): Service {
  if (typeof obj.spec !== 'object' || obj.spec === null) obj.spec = {};
  return obj as Service;
}

export const isHeadless = (svc: Service) => svc.spec.clusterIPs?.length === 1 && svc.spec.clusterIPs[0] === 'None';
export const needsClusterIP = (svc: Service) => svc.spec.type !== 'ExternalName';
export const needsNodePort = (svc: Service) => svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer';
/** apiservice.NeedsHealthCheck. */
export const needsHealthCheck = (svc: Service) => svc.spec.type === 'LoadBalancer' && svc.spec.externalTrafficPolicy === 'Local';
/** apiservice.ExternallyAccessible. */
export const externallyAccessible = (svc: Service) =>
  svc.spec.type === 'LoadBalancer' || svc.spec.type === 'NodePort' || (svc.spec.type === 'ClusterIP' && (svc.spec.externalIPs?.length ?? 0) > 0);
/** shouldAllocateNodePorts: LoadBalancer honours allocateLoadBalancerNodePorts. */
export const shouldAllocateNodePorts = (svc: Service) =>
  svc.spec.type === 'NodePort' || (svc.spec.type === 'LoadBalancer' && svc.spec.allocateLoadBalancerNodePorts !== false);

export const sameStrings = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((v, i) => v === b?.[i]);

export const nodePortsOf = (svc: Service): number[] => (svc.spec.ports ?? []).map((p) => p.nodePort ?? 0).filter((n) => n !== 0);
