import type { V1ServicePort } from '@kubernetes/client-node';
import { ConfigError } from '../errors';
import type { ListenerProtocol, PortProtocol } from './types';

/** One NLB listener's worth of Service ports: a port number with its protocols merged. */
export interface PortGroup {
  port: number;
  protocol: PortProtocol;
  nodePort: number;
  /** Names of the Service ports in the group, for `ferry.io/ssl-ports` and `proxy-protocol`. */
  names: string[];
}

/**
 * Groups Service ports into listeners. An NLB cannot have a TCP and a UDP listener on one
 * port, so the same port number on TCP and UDP becomes one TCP_UDP listener and target
 * group; that needs both Service ports on one NodePort (the API server gives them one
 * when it allocates them).
 */
export function groupPorts(ports: readonly V1ServicePort[], allocateNodePorts: boolean): PortGroup[] {
  if (ports.length === 0) throw new ConfigError('spec.ports is empty: a load balancer needs at least one port');
  const groups = new Map<number, PortGroup>();
  ports.forEach((p, i) => {
    const field = `spec.ports[${i}]${p.name ? ` (${p.name})` : ''}`;
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      throw new ConfigError(
        `${field} uses protocol ${protocol}: Network Load Balancers carry TCP and UDP only; change the port to TCP or UDP, or serve it without ferry`,
      );
    }
    if (!p.nodePort) {
      throw new ConfigError(
        allocateNodePorts
          ? `${field} has no nodePort yet: ferry's target groups point at NodePorts; retry once the API server has allocated one`
          : `${field} has no nodePort because spec.allocateLoadBalancerNodePorts is false: ferry's target groups point at NodePorts; set it to true or give every port a nodePort`,
      );
    }
    const existing = groups.get(p.port);
    if (!existing) {
      groups.set(p.port, { port: p.port, protocol, nodePort: p.nodePort, names: p.name ? [p.name] : [] });
      return;
    }
    if (existing.protocol === protocol || existing.protocol === 'TCP_UDP') {
      throw new ConfigError(`${field} repeats port ${p.port}/${protocol}`);
    }
    if (existing.nodePort !== p.nodePort) {
      throw new ConfigError(
        `${field}: port ${p.port} is on TCP (nodePort ${existing.nodePort}) and UDP (nodePort ${p.nodePort}); an NLB serves both as one TCP_UDP listener, so give them the same nodePort`,
      );
    }
    existing.protocol = 'TCP_UDP';
    if (p.name) existing.names.push(p.name);
  });
  return [...groups.values()].sort((a, b) => a.port - b.port);
}

/** Whether a port selector (`*`, port names, port numbers) picks this group. */
export function selects(selector: readonly string[] | undefined, group: PortGroup): boolean {
  if (!selector) return false;
  return selector.some((s) => s === '*' || s === String(group.port) || group.names.includes(s));
}

/**
 * The listener protocol of a group: TLS for TCP ports chosen by `ferry.io/ssl-ports`
 * (every TCP port when only `ferry.io/ssl-cert` is set). UDP cannot be TLS; naming a UDP
 * port explicitly is an error rather than silently ignored.
 */
export function listenerProtocol(group: PortGroup, tlsPorts: readonly string[] | undefined): ListenerProtocol {
  if (!tlsPorts) return group.protocol;
  const named = tlsPorts.some((s) => s === String(group.port) || group.names.includes(s));
  if (group.protocol !== 'TCP') {
    if (named) {
      throw new ConfigError(
        `annotation ferry.io/ssl-ports names port ${group.port} (${group.protocol}): only TCP ports can be TLS listeners`,
      );
    }
    return group.protocol;
  }
  return selects(tlsPorts, group) ? 'TLS' : 'TCP';
}

/** Ports named in a selector that the Service does not have, so typos are not silent. */
export function unknownPorts(selector: readonly string[] | undefined, groups: readonly PortGroup[]): string[] {
  if (!selector) return [];
  return selector.filter((s) => s !== '*' && !groups.some((g) => String(g.port) === s || g.names.includes(s)));
}
