/**
 * Where one service port's traffic goes, decided once for every kernel mode (nftables,
 * iptables, ipvs): kube-proxy's CategorizeEndpoints plus the verdicts its proxiers derive
 * from it (pkg/proxy/topology.go, pkg/proxy/nftables/proxier.go `syncProxyRules`).
 */
import { usableEndpoints, hasAnyEndpoints } from './state';
import type { Endpoint, ServicePort } from './types';

/** What traffic to one entry point (ClusterIP or NodePort) does. */
export type Verdict =
  /** DNAT to the Cluster-policy endpoints. */
  | 'cluster'
  /** DNAT to this node's endpoints only. */
  | 'local'
  /** No endpoint anywhere: reject (TCP reset / ICMP port unreachable) instead of hanging. */
  | 'reject'
  /** Local policy without a local endpoint: dropped, as kube-proxy does (the load balancer's health check takes the node out). */
  | 'drop';

export interface TrafficPlan {
  /** Endpoints for Cluster policy; empty when the port never uses Cluster policy. */
  cluster: Endpoint[];
  /** Endpoints for Local policy; empty when the port never uses Local policy. */
  local: Endpoint[];
  /** Every endpoint some entry point can reach from this node (one endpoint chain each), sorted. */
  reachable: Endpoint[];
  /** Some node has a usable endpoint. */
  hasEndpoints: boolean;
  /** ClusterIP traffic. */
  internal: Verdict;
  /** NodePort, externalIP and load balancer IP traffic; undefined without any of them. */
  external: Verdict | undefined;
}

/** kube-proxy's ExternallyAccessible: a NodePort, an externalIP or a load balancer VIP. */
export function externallyAccessible(port: Pick<ServicePort, 'nodePort' | 'externalIPs' | 'loadBalancerIPs'>): boolean {
  return port.nodePort !== undefined || (port.externalIPs?.length ?? 0) > 0 || (port.loadBalancerIPs?.length ?? 0) > 0;
}

/** The addresses external traffic policy applies to, besides the NodePort: externalIPs, then load balancer IPs. */
export function externalAddresses(port: Pick<ServicePort, 'externalIPs' | 'loadBalancerIPs'>): string[] {
  return [...new Set([...(port.externalIPs ?? []), ...(port.loadBalancerIPs ?? [])])];
}

export function trafficPlan(port: ServicePort): TrafficPlan {
  const accessible = externallyAccessible(port);
  // Cluster endpoints are needed for Cluster internal policy, and for any external traffic:
  // host-originated NodePort traffic is short-circuited to them even under Local policy
  // (kube-proxy's UsesClusterEndpoints).
  const usesCluster = !port.internalLocal || accessible;
  const usesLocal = port.internalLocal || (port.externalLocal && accessible);
  const cluster = usesCluster ? usableEndpoints(port, { local: false }) : [];
  const local = usesLocal ? usableEndpoints(port, { local: true }) : [];
  const hasEndpoints = hasAnyEndpoints(port);
  const policyVerdict = (localPolicy: boolean): Verdict => {
    if (!hasEndpoints) return 'reject';
    if (!localPolicy) return 'cluster';
    return local.length > 0 ? 'local' : 'drop';
  };
  return {
    cluster,
    local,
    reachable: union(cluster, local),
    hasEndpoints,
    internal: policyVerdict(port.internalLocal),
    external: accessible ? policyVerdict(port.externalLocal) : undefined,
  };
}

function union(a: Endpoint[], b: Endpoint[]): Endpoint[] {
  // Both come sorted from the port's endpoints; usually one is empty or holds the other.
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const byId = new Map<string, Endpoint>();
  for (const e of [...a, ...b]) byId.set(endpointId(e), e);
  return [...byId.values()].sort((x, y) => (x.ip !== y.ip ? (x.ip < y.ip ? -1 : 1) : x.port - y.port));
}

/** `ip:port`, `[ip6]:port` for IPv6 (the form DNAT targets and conntrack use). */
export function endpointId(e: Pick<Endpoint, 'ip' | 'port'>): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** Local ready endpoints, which healthCheckNodePort reports (kube-proxy's LocalReadyEndpoints). */
export function localReadyCount(port: ServicePort): number {
  return port.endpoints.filter((e) => e.local && e.ready).length;
}
