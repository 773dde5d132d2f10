import type { V1Service } from '@kubernetes/client-node';
import { ConfigError } from '../errors';
import { formatCidr, parseCidr } from '../util/net';
import type { Annotations } from './annotations';
import { backendSecurityGroupName, securityGroupName } from './names';
import { CLUSTER_WIDE, ownershipTags, serviceKey, TAG_CLUSTER, TAG_RESOURCE, TAG_SERVICE } from './tags';
import type { BackendModel, BackendRule, HealthCheck, IngressRule, ListenerModel, LoadBalancerSpec, ServiceRef, TargetGroupModel } from './types';

/** AWS: at most five security groups per load balancer. */
const MAX_SECURITY_GROUPS = 5;

export interface SecurityInputs {
  ref: ServiceRef;
  cluster: string;
  extraTags: Record<string, string>;
  ipAddressType: string;
}

/**
 * The NLB's front-end group: ferry's own, admitting `loadBalancerSourceRanges` (every address
 * by default) on each listener port, or the user's groups from `ferry.io/security-groups`.
 */
export function buildSecurityGroups(
  service: V1Service,
  ann: Annotations,
  listeners: readonly ListenerModel[],
  backend: boolean,
  i: SecurityInputs,
): LoadBalancerSpec['securityGroups'] {
  const ranges = service.spec?.loadBalancerSourceRanges;
  const own = ann['ferry.io/security-groups'];
  if (own) {
    if (ranges && ranges.length > 0) {
      throw new ConfigError(
        'spec.loadBalancerSourceRanges needs the security group ferry manages, but ferry.io/security-groups brings your own; put the rules in your groups or remove one of the two',
      );
    }
    if (backend && own.length >= MAX_SECURITY_GROUPS) {
      throw new ConfigError(
        `annotation ferry.io/security-groups names ${own.length} groups; an NLB takes ${MAX_SECURITY_GROUPS} and ferry's backend group is one of them: name at most ${MAX_SECURITY_GROUPS - 1}, or set ferry.io/manage-backend-security-group-rules=false`,
      );
    }
    return { ids: [...own].sort() };
  }
  const cidrs = ranges && ranges.length > 0 ? ranges.map((r, n) => parseSourceRange(r, n)) : defaultCidrs(i.ipAddressType);
  const ingress: IngressRule[] = [];
  for (const listener of listeners) {
    for (const protocol of transport(listener.protocol)) {
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

export interface BackendInputs {
  cluster: string;
  /** The cluster's NodePort range (the API server's --service-node-port-range). */
  nodePortRange: { min: number; max: number };
}

/**
 * What the nodes must admit from ferry's backend group for this Service. Ports inside the
 * NodePort range are admitted as the whole range, so every node group carries at most a
 * TCP and a UDP range rule plus one rule per health-check port outside it (the agent's
 * 10256 or a `ferry.io/healthcheck-port`), however many Services there are.
 */
export function buildBackend(targetGroups: readonly TargetGroupModel[], healthCheck: HealthCheck, i: BackendInputs): BackendModel {
  const { min, max } = i.nodePortRange;
  const rules = new Map<string, BackendRule>();
  const add = (protocol: 'tcp' | 'udp', port: number) => {
    const rule = port >= min && port <= max ? { protocol, fromPort: min, toPort: max } : { protocol, fromPort: port, toPort: port };
    rules.set(backendKey(rule), rule);
  };
  for (const tg of targetGroups) {
    for (const protocol of transport(tg.protocol)) add(protocol, tg.port);
    // Health checks are TCP, HTTP or HTTPS: always TCP, on the traffic port or their own.
    add('tcp', healthCheck.port === 'traffic-port' ? tg.port : healthCheck.port);
  }
  return {
    group: {
      name: backendSecurityGroupName(i.cluster),
      description: `ferry: the one source cluster ${i.cluster}'s nodes admit for its Network Load Balancers`,
      tags: { [TAG_CLUSTER]: i.cluster, [TAG_SERVICE]: CLUSTER_WIDE, [TAG_RESOURCE]: BACKEND_RESOURCE },
    },
    rules: [...rules.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.fromPort - b.fromPort),
    nodeGroupTag: `kubernetes.io/cluster/${i.cluster}`,
  };
}

/**
 * On a backend group: the rules that every node group of the cluster in its VPC admits from
 * it, as the last sweep (every resync) or node change left them. A Service whose rules are
 * all listed needs no look at the nodes' groups when it is created or changed, so creating
 * it costs no more calls than it did before ferry managed those rules. A deep check still
 * reads them. EC2 tag values hold 256 characters: a longer list is not written.
 */
export const GRANTED_TAG = 'ferry.io/granted';

export function formatGranted(rules: readonly BackendRule[]): string | undefined {
  const text = [...new Set(rules.map(backendKey))].sort().join(' ');
  return text.length > 0 && text.length <= 256 ? text : undefined;
}

/** Whether the backend group's tag lists every one of these rules. */
export function grantsAll(tags: Readonly<Record<string, string>>, rules: readonly BackendRule[]): boolean {
  const granted = new Set((tags[GRANTED_TAG] ?? '').split(' '));
  return rules.every((r) => granted.has(backendKey(r)));
}

/** One key per rule protocol and port range, whatever its source. */
export function backendKey(r: { protocol: string; fromPort: number; toPort: number }): string {
  return `${r.protocol}:${r.fromPort}-${r.toPort}`;
}

/** `ferry.io/resource` of the backend security group. */
export const BACKEND_RESOURCE = 'BackendSecurityGroup';

function transport(protocol: string): Array<'tcp' | 'udp'> {
  return protocol === 'TCP_UDP' ? ['tcp', 'udp'] : protocol === 'UDP' ? ['udp'] : ['tcp'];
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
