import type { V1Node, V1Service } from '@kubernetes/client-node';
import { ConfigError } from '../errors';
import { adoptedName, parseAnnotations, type Annotations } from './annotations';
import { buildHealthCheck } from './health-check';
import { listenerLimitProblem } from './limits';
import { loadBalancerName } from './names';
import { candidateNodes, defaultTargetType, targetIds } from './nodes';
import { groupPorts, listenerProtocol, unknownPorts } from './ports';
import { buildBackend, buildSecurityGroups } from './security';
import { serviceRef, wantsLoadBalancer, type ServiceClassConfig } from './service';
import { ownershipTags, serviceKey } from './tags';
import { buildTargetGroup } from './target-group';
import type {
  ListenerModel,
  LoadBalancerModel,
  LoadBalancerSpec,
  ServiceRef,
  SubnetAddresses,
  SubnetSelector,
  TargetGroupModel,
  TargetType,
} from './types';

export interface ClusterConfig extends ServiceClassConfig {
  clusterName: string;
  /** The node agent's health port, checked for externalTrafficPolicy Cluster (kube-proxy: 10256). */
  nodeHealthPort: number;
  /** The API server's --service-node-port-range, which the nodes admit from the NLBs. */
  nodePortRange?: { min: number; max: number };
}

export const DEFAULT_NODE_PORT_RANGE = { min: 30000, max: 32767 };

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
  const ann = parseAnnotations(service.metadata?.annotations, service);
  const cluster = config.clusterName;
  const groups = groupPorts(spec.ports ?? [], spec.allocateLoadBalancerNodePorts !== false);
  const tooMany = listenerLimitProblem(groups.length);
  if (tooMany) throw new ConfigError(tooMany);
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
  const addresses = subnetAddresses(ann);

  const adopt = ann['ferry.io/adopt-load-balancer'];
  const name = adopt !== undefined ? adoptedName(adopt) : (ann['ferry.io/name'] ?? loadBalancerName(cluster, ref, scheme, addresses));
  const targetGroups: TargetGroupModel[] = [];
  const listeners: ListenerModel[] = [];
  const listenerAttributes = ann['ferry.io/listener-attributes'];
  if (listenerAttributes && !groups.some((g) => listenerProtocol(g, tlsPorts) === 'TCP')) {
    throw new ConfigError('annotation ferry.io/listener-attributes applies to TCP listeners, and this Service has none');
  }
  for (const group of groups) {
    const protocol = listenerProtocol(group, tlsPorts);
    const tg = buildTargetGroup(group, protocol, { ref, cluster, loadBalancer: name, targetType, ids, healthCheck, extraTags, ann, service });
    targetGroups.push(tg);
    const tls = protocol === 'TLS';
    listeners.push({
      port: group.port,
      protocol,
      targetGroup: tg.name,
      certificates: tls ? (ann['ferry.io/ssl-cert'] ?? []) : [],
      attributes: protocol === 'TCP' ? { ...listenerAttributes } : {},
      tags: { ...extraTags, ...ownershipTags(cluster, ref, `${serviceKey(ref)}:${group.port}`) },
      ...(tls ? { sslPolicy: ann['ferry.io/ssl-negotiation-policy'] ?? DEFAULT_SSL_POLICY } : {}),
      ...(tls && ann['ferry.io/alpn-policy'] ? { alpnPolicy: ann['ferry.io/alpn-policy'] } : {}),
    });
  }

  const backend =
    ann['ferry.io/manage-backend-security-group-rules'] === false
      ? null
      : buildBackend(targetGroups, healthCheck, { cluster, nodePortRange: config.nodePortRange ?? DEFAULT_NODE_PORT_RANGE });
  return {
    name,
    explicitName: ann['ferry.io/name'] !== undefined || adopt !== undefined,
    ...(adopt !== undefined ? { adopt: { schemeGiven: ann['ferry.io/scheme'] !== undefined } } : {}),
    scheme,
    ipAddressType,
    subnets: adopt !== undefined && !ann['ferry.io/subnets'] ? { kind: 'current' } : subnetSelector(ann, scheme, cluster),
    ...(addresses ? { addresses } : {}),
    securityGroups: buildSecurityGroups(service, ann, listeners, backend !== null, { ref, cluster, extraTags, ipAddressType }),
    backend,
    attributes: loadBalancerAttributes(ann),
    tags: { ...extraTags, ...ownershipTags(cluster, ref, 'LoadBalancer') },
    listeners,
    targetGroups,
  };
}

/** `ferry.io/load-balancer-attributes`, then the named annotations (the schema refuses disagreement). */
function loadBalancerAttributes(ann: Annotations): Record<string, string> {
  return {
    ...ann['ferry.io/load-balancer-attributes'],
    ...(ann['ferry.io/deletion-protection'] !== undefined ? { 'deletion_protection.enabled': String(ann['ferry.io/deletion-protection']) } : {}),
    ...(ann['ferry.io/cross-zone'] !== undefined ? { 'load_balancing.cross_zone.enabled': String(ann['ferry.io/cross-zone']) } : {}),
  };
}

function subnetAddresses(ann: Annotations): SubnetAddresses | undefined {
  const addresses: SubnetAddresses = {
    ...(ann['ferry.io/eip-allocations'] ? { allocationIds: ann['ferry.io/eip-allocations'] } : {}),
    ...(ann['ferry.io/private-ipv4-addresses'] ? { privateIPv4Addresses: ann['ferry.io/private-ipv4-addresses'] } : {}),
    ...(ann['ferry.io/ipv6-addresses'] ? { ipv6Addresses: ann['ferry.io/ipv6-addresses'].map((a) => a.toLowerCase()) } : {}),
  };
  return Object.keys(addresses).length > 0 ? addresses : undefined;
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

function noNodesMessage(total: number, candidates: number, targetType: TargetType): string {
  if (total === 0) return 'no eligible nodes: the cluster has no Nodes';
  if (candidates === 0) {
    return `no eligible nodes: all ${total} Nodes are being deleted, excluded (node.kubernetes.io/exclude-from-external-load-balancers, ToBeDeletedByClusterAutoscaler) or filtered out by ferry.io/target-node-labels`;
  }
  return targetType === 'instance'
    ? `no eligible nodes: none of the ${candidates} candidate Nodes has an AWS providerID (aws:///<az>/<instance-id>); use ferry.io/target-type=ip`
    : `no eligible nodes: none of the ${candidates} candidate Nodes has an IPv4 InternalIP address`;
}
