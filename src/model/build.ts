import type { V1Node, V1Service } from '@kubernetes/client-node';
import { ConfigError } from '../errors';
import { formatCidr, parseCidr } from '../util/net';
import { parseAnnotations, type Annotations } from './annotations';
import { MAX_LISTENERS } from './limits';
import { loadBalancerName, securityGroupName, targetGroupName } from './names';
import { candidateNodes, defaultTargetType, targetIds } from './nodes';
import { groupPorts, listenerProtocol, selects, unknownPorts, type PortGroup } from './ports';
import { serviceRef, wantsLoadBalancer, type ServiceClassConfig } from './service';
import { ownershipTags, serviceKey } from './tags';
import type {
  HealthCheck,
  IngressRule,
  ListenerModel,
  LoadBalancerModel,
  LoadBalancerSpec,
  ServiceRef,
  SubnetSelector,
  TargetGroupModel,
  TargetType,
} from './types';

export interface ClusterConfig extends ServiceClassConfig {
  clusterName: string;
  /** The node agent's health port, checked for externalTrafficPolicy Cluster (kube-proxy: 10256). */
  nodeHealthPort: number;
}

export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/**
 * The desired load balancer of a Service: pure, no I/O. A Service that does not want one
 * (another type or class, or being deleted) gets the empty model. Input ferry cannot serve
 * throws a {@link ConfigError} that says what to change.
 */
export function buildModel(service: V1Service, nodes: readonly V1Node[], config: ClusterConfig): LoadBalancerModel {
  const ref = serviceRef(service);
  if (!wantsLoadBalancer(service, config)) {
    // Read leniently: an invalid annotation must not keep a deleted Service from going.
    const protect = service.metadata?.annotations?.['ferry.io/deletion-protection'] === 'true';
    return { service: ref, loadBalancer: null, deletionProtection: protect };
  }
  const loadBalancer = buildSpec(service, ref, nodes, config);
  return {
    service: ref,
    loadBalancer,
    deletionProtection: loadBalancer.attributes['deletion_protection.enabled'] === 'true',
  };
}

function buildSpec(service: V1Service, ref: ServiceRef, nodes: readonly V1Node[], config: ClusterConfig): LoadBalancerSpec {
  const spec = service.spec ?? {};
  const ann = parseAnnotations(service.metadata?.annotations);
  const cluster = config.clusterName;
  const groups = groupPorts(spec.ports ?? [], spec.allocateLoadBalancerNodePorts !== false);
  if (groups.length > MAX_LISTENERS) {
    throw new ConfigError(
      `spec.ports asks for ${groups.length} listeners; a Network Load Balancer has at most ${MAX_LISTENERS} listeners (one per port number): serve the other ports with a second Service`,
    );
  }
  for (const key of ['ferry.io/ssl-ports', 'ferry.io/proxy-protocol'] as const) {
    const unknown = unknownPorts(ann[key], groups);
    if (unknown.length > 0) {
      throw new ConfigError(`annotation ${key} names ${unknown.join(', ')}, which the Service has no port for`);
    }
  }
  const scheme = ann['ferry.io/scheme'] ?? 'internal';
  const ipAddressType = ann['ferry.io/ip-address-type'] ?? 'ipv4';
  if (ipAddressType === 'dualstack' && groups.some((g) => g.protocol !== 'TCP')) {
    throw new ConfigError('annotation ferry.io/ip-address-type=dualstack cannot serve UDP ports; use ipv4 or remove the UDP ports');
  }

  const candidates = candidateNodes(nodes, ann['ferry.io/target-node-labels']);
  const targetType: TargetType = ann['ferry.io/target-type'] ?? defaultTargetType(candidates);
  const ids = targetIds(candidates, targetType);
  if (ids.length === 0) throw new ConfigError(noNodesMessage(nodes.length, candidates.length, targetType));

  const tlsPorts = ann['ferry.io/ssl-cert'] ? (ann['ferry.io/ssl-ports'] ?? ['*']) : undefined;
  const healthCheck = buildHealthCheck(service, ann, config);
  const extraTags = ann['ferry.io/additional-tags'] ?? {};

  const name = ann['ferry.io/name'] ?? loadBalancerName(cluster, ref, scheme);
  const targetGroups: TargetGroupModel[] = [];
  const listeners: ListenerModel[] = [];
  for (const group of groups) {
    const tg = buildTargetGroup(group, { ref, cluster, loadBalancer: name, targetType, ids, healthCheck, extraTags, ann, service });
    targetGroups.push(tg);
    const protocol = listenerProtocol(group, tlsPorts);
    listeners.push({
      port: group.port,
      protocol,
      targetGroup: tg.name,
      certificates: protocol === 'TLS' ? (ann['ferry.io/ssl-cert'] ?? []) : [],
      tags: { ...extraTags, ...ownershipTags(cluster, ref, `${serviceKey(ref)}:${group.port}`) },
      ...(protocol === 'TLS' ? { sslPolicy: ann['ferry.io/ssl-negotiation-policy'] ?? DEFAULT_SSL_POLICY } : {}),
    });
  }

  return {
    name,
    explicitName: ann['ferry.io/name'] !== undefined,
    scheme,
    ipAddressType,
    subnets: subnetSelector(ann, scheme, cluster),
    securityGroups: buildSecurityGroups(service, ann, listeners, { ref, cluster, extraTags, ipAddressType }),
    attributes: {
      'deletion_protection.enabled': String(ann['ferry.io/deletion-protection'] ?? false),
      'load_balancing.cross_zone.enabled': String(ann['ferry.io/cross-zone'] ?? false),
    },
    tags: { ...extraTags, ...ownershipTags(cluster, ref, 'LoadBalancer') },
    listeners,
    targetGroups,
  };
}

interface TargetGroupInputs {
  ref: ServiceRef;
  cluster: string;
  loadBalancer: string;
  targetType: TargetType;
  ids: string[];
  healthCheck: HealthCheck;
  extraTags: Record<string, string>;
  ann: Annotations;
  service: V1Service;
}

function buildTargetGroup(group: PortGroup, i: TargetGroupInputs): TargetGroupModel {
  const affinity = i.service.spec?.sessionAffinity === 'ClientIP';
  return {
    name: targetGroupName(i.cluster, i.ref, {
      loadBalancer: i.loadBalancer,
      servicePort: group.port,
      protocol: group.protocol,
      targetType: i.targetType,
    }),
    servicePort: group.port,
    protocol: group.protocol,
    port: group.nodePort,
    targetType: i.targetType,
    healthCheck: i.healthCheck,
    attributes: {
      'deregistration_delay.timeout_seconds': String(i.ann['ferry.io/deregistration-delay'] ?? 300),
      'proxy_protocol_v2.enabled': String(selects(i.ann['ferry.io/proxy-protocol'], group)),
      // ClientIP affinity maps to NLB source-IP stickiness; the Service's timeout has no NLB counterpart.
      'stickiness.enabled': String(affinity),
      'stickiness.type': 'source_ip',
    },
    tags: { ...i.extraTags, ...ownershipTags(i.cluster, i.ref, `${serviceKey(i.ref)}:${group.port}`) },
    targets: i.ids.map((id) => ({ id, port: group.nodePort })),
  };
}

/**
 * docs/design.md §3: externalTrafficPolicy Local checks the Service's healthCheckNodePort (only nodes
 * with a local endpoint pass); Cluster checks the node agent's own health port, so a draining
 * node leaves the NLB before it goes. Annotations override either.
 */
function buildHealthCheck(service: V1Service, ann: Annotations, config: ClusterConfig): HealthCheck {
  const local = service.spec?.externalTrafficPolicy === 'Local';
  let port: number | 'traffic-port' = config.nodeHealthPort;
  if (local) {
    const hcnp = service.spec?.healthCheckNodePort;
    if (!hcnp) throw new ConfigError('spec.healthCheckNodePort is missing although externalTrafficPolicy is Local');
    port = hcnp;
  }
  const protocol = ann['ferry.io/healthcheck-protocol'] ?? 'HTTP';
  const http = protocol !== 'TCP';
  return {
    protocol,
    port: ann['ferry.io/healthcheck-port'] ?? port,
    ...(http ? { path: ann['ferry.io/healthcheck-path'] ?? '/healthz' } : {}),
    ...(http ? { successCodes: ann['ferry.io/healthcheck-success-codes'] ?? '200-399' } : {}),
    intervalSeconds: ann['ferry.io/healthcheck-interval'] ?? 10,
    timeoutSeconds: ann['ferry.io/healthcheck-timeout'] ?? 6,
    healthyThreshold: ann['ferry.io/healthcheck-healthy-threshold'] ?? 2,
    unhealthyThreshold: ann['ferry.io/healthcheck-unhealthy-threshold'] ?? 2,
  };
}

function subnetSelector(ann: Annotations, scheme: string, cluster: string): SubnetSelector {
  const given = ann['ferry.io/subnets'];
  if (given) {
    return {
      kind: 'explicit',
      ids: given.filter((s) => s.startsWith('subnet-')).sort(),
      names: given.filter((s) => !s.startsWith('subnet-')).sort(),
    };
  }
  return {
    kind: 'discover',
    roleTag: scheme === 'internal' ? 'kubernetes.io/role/internal-elb' : 'kubernetes.io/role/elb',
    clusterTag: `kubernetes.io/cluster/${cluster}`,
  };
}

function buildSecurityGroups(
  service: V1Service,
  ann: Annotations,
  listeners: readonly ListenerModel[],
  i: { ref: ServiceRef; cluster: string; extraTags: Record<string, string>; ipAddressType: string },
): LoadBalancerSpec['securityGroups'] {
  const ranges = service.spec?.loadBalancerSourceRanges;
  const own = ann['ferry.io/security-groups'];
  if (own) {
    if (ranges && ranges.length > 0) {
      throw new ConfigError(
        'spec.loadBalancerSourceRanges needs the security group ferry manages, but ferry.io/security-groups brings your own; put the rules in your groups or remove one of the two',
      );
    }
    return { ids: [...own].sort() };
  }
  const cidrs = ranges && ranges.length > 0 ? ranges.map((r, n) => parseSourceRange(r, n)) : defaultCidrs(i.ipAddressType);
  const ingress: IngressRule[] = [];
  for (const listener of listeners) {
    const protocols: Array<'tcp' | 'udp'> =
      listener.protocol === 'TCP_UDP' ? ['tcp', 'udp'] : listener.protocol === 'UDP' ? ['udp'] : ['tcp'];
    for (const protocol of protocols) {
      for (const cidr of cidrs) ingress.push({ protocol, port: listener.port, cidr });
    }
  }
  ingress.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol) || a.cidr.localeCompare(b.cidr));
  return {
    managed: {
      name: securityGroupName(i.cluster, i.ref),
      description: `ferry: load balancer of ${serviceKey(i.ref)} in cluster ${i.cluster}`,
      tags: { ...i.extraTags, ...ownershipTags(i.cluster, i.ref, 'SecurityGroup') },
      ingress,
    },
  };
}

function defaultCidrs(ipAddressType: string): string[] {
  return ipAddressType === 'dualstack' ? ['0.0.0.0/0', '::/0'] : ['0.0.0.0/0'];
}

function parseSourceRange(raw: string, index: number): string {
  const cidr = parseCidr(raw);
  if (cidr) return formatCidr(cidr);
  throw new ConfigError(
    `spec.loadBalancerSourceRanges[${index}] "${raw}" is not a CIDR: write an IPv4 or IPv6 block such as 203.0.113.0/24`,
  );
}

function noNodesMessage(total: number, candidates: number, targetType: TargetType): string {
  if (total === 0) return 'no eligible nodes: the cluster has no Nodes';
  if (candidates === 0) {
    return `no eligible nodes: all ${total} Nodes are being deleted, excluded (node.kubernetes.io/exclude-from-external-load-balancers, ToBeDeletedByClusterAutoscaler) or filtered out by ferry.io/target-node-labels`;
  }
  return targetType === 'instance'
    ? `no eligible nodes: none of the ${candidates} candidate Nodes has an AWS providerID (aws:///<az>/<instance-id>); use ferry.io/target-type=ip`
    : `no eligible nodes: none of the ${candidates} candidate Nodes has an IPv4 InternalIP address`;
}
