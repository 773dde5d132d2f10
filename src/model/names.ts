import { hash } from '../util/hash';
import type { Scheme, ServiceRef, SubnetAddresses, TargetGroupProtocol, TargetType } from './types';

/**
 * Deterministic AWS names, at most 32 characters (the ELBv2 limit for both load balancers
 * and target groups): `k8s-<namespace:8>-<name:8>-<hash:10>`. Namespace and name keep only
 * their alphanumerics, so the result always satisfies AWS's name rules.
 *
 * The hash covers every input that AWS cannot change in place, so a change that forces
 * replacement yields a new name and the replacement can be created before the old resource
 * goes (no `DuplicateLoadBalancerName`, no listener pointing nowhere):
 * - load balancer: cluster, Service UID, scheme, and its fixed addresses when it has any
 *   (AWS sets subnet mappings only at creation);
 * - target group: cluster, Service UID, its load balancer's name (a network target group
 *   serves one load balancer only, so a replaced NLB needs new groups too), service port,
 *   protocol, target type;
 * - security group: cluster, Service UID (its rules change in place; the VPC is in the name's
 *   scope on the AWS side).
 *
 * The Service UID keeps a re-created Service from adopting its predecessor's resources.
 */
export function loadBalancerName(cluster: string, service: ServiceRef, scheme: Scheme, addresses?: SubnetAddresses): string {
  const fixed = addresses
    ? [...(addresses.allocationIds ?? []), ...(addresses.privateIPv4Addresses ?? []), ...(addresses.ipv6Addresses ?? [])].sort()
    : [];
  return compose(service, hash(cluster, service.uid, scheme, ...fixed));
}

export function targetGroupName(
  cluster: string,
  service: ServiceRef,
  group: { loadBalancer: string; servicePort: number; protocol: TargetGroupProtocol; targetType: TargetType },
): string {
  return compose(
    service,
    hash(cluster, service.uid, group.loadBalancer, String(group.servicePort), group.protocol, group.targetType),
  );
}

export function securityGroupName(cluster: string, service: ServiceRef): string {
  return compose(service, hash(cluster, service.uid, 'security-group'));
}

/** The cluster's one backend security group (per VPC; group names are unique per VPC). */
export function backendSecurityGroupName(cluster: string): string {
  return `ferry-backend-${cluster}`;
}

/**
 * Whether a name has the shape ferry gives this Service's resources. A name in the Service's
 * record is only looked up when it does: the record is an annotation, and a forged one must
 * not send ferry after other resources.
 */
export function isNameFor(service: Pick<ServiceRef, 'namespace' | 'name'>, name: string): boolean {
  const prefix = `k8s-${clean(service.namespace)}-${clean(service.name)}-`;
  return name.length === prefix.length + 10 && name.startsWith(prefix) && /^[0-9a-f]{10}$/.test(name.slice(prefix.length));
}

function compose(service: Pick<ServiceRef, 'namespace' | 'name'>, digest: string): string {
  return `k8s-${clean(service.namespace)}-${clean(service.name)}-${digest}`;
}

function clean(part: string): string {
  return part.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase();
}
