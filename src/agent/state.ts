/**
 * The agent's snapshot → {@link ProxyState}: pure, no I/O, table-tested. Every proxy mode
 * renders from this, so kube-proxy's semantics of "which Services, which ports, which
 * endpoints" live here once (pkg/proxy/servicechangetracker.go, endpointslicecache.go,
 * topology.go):
 *
 * - headless (`clusterIP: None`) and ExternalName Services get nothing;
 * - SCTP ports are ignored (ferry programs TCP and UDP only);
 * - endpoints come from every EndpointSlice labelled `kubernetes.io/service-name`, so a
 *   Service without a selector uses its hand-made slices exactly like a selected one;
 * - a slice port feeds the service port of the same name and protocol;
 * - an endpoint with no `ready` condition counts as ready, `serving` defaults to `ready`
 *   (EndpointSlice API semantics), and the first address of an endpoint is used;
 * - ClientIP affinity defaults to 10800 s;
 * - `ferry.io/ipvs-scheduler` is read leniently: a bad value is logged and ignored (the
 *   admission webhook is where it gets refused);
 * - NodePorts answer on the Node's InternalIP(s), or on the host addresses inside
 *   `--nodeport-addresses`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { V1EndpointSlice, V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { validateAnnotations } from '../model/annotations';
import { cidrSet, parseCidr } from '../util/net';
import type { Endpoint, L4Protocol, ProxyState, Scheduler, ServicePort } from './types';

export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const SCHEDULER_ANNOTATION = 'ferry.io/ipvs-scheduler';

export interface StateOptions {
  nodeName: string;
  /** `--nodeport-addresses`: CIDRs selecting which host addresses answer NodePorts. */
  nodePortAddresses?: readonly string[];
  /** The host's interface addresses (read by the edge), matched against `nodePortAddresses`. */
  hostAddresses?: readonly string[];
  log?: (line: string) => void;
}

/** The map key of a service port in {@link ProxyState.services}. */
export function servicePortMapKey(port: Pick<ServicePort, 'key' | 'protocol'>): string {
  return `${port.key}/${port.protocol}`;
}

/** `namespace/name` of a Kubernetes object. */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The Service an EndpointSlice belongs to, as `namespace/name`, or undefined. */
export function sliceServiceKey(slice: V1EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return name ? `${slice.metadata?.namespace ?? ''}/${name}` : undefined;
}

export function buildProxyState(
  services: Iterable<V1Service>,
  endpointSlices: Iterable<V1EndpointSlice>,
  node: V1Node | undefined,
  options: StateOptions,
): ProxyState {
  const slicesByService = new Map<string, V1EndpointSlice[]>();
  for (const slice of endpointSlices) {
    const key = sliceServiceKey(slice);
    if (key === undefined) continue;
    const list = slicesByService.get(key);
    if (list) list.push(slice);
    else slicesByService.set(key, [slice]);
  }
  const entries: Array<[string, ServicePort]> = [];
  for (const service of services) {
    for (const port of servicePorts(service, slicesByService.get(objectKey(service)) ?? [], options)) {
      entries.push([servicePortMapKey(port), port]);
    }
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { nodeName: options.nodeName, nodeIPs: nodeIPs(node, options), services: new Map(entries) };
}

/** The service ports of one Service with their endpoints; empty for headless and ExternalName. */
export function servicePorts(service: V1Service, slices: readonly V1EndpointSlice[], options: StateOptions): ServicePort[] {
  const spec = service.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  const clusterIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => isIPv4(ip) || isIPv6(ip));
  if (clusterIPs.length === 0) return [];
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const affinity =
    spec.sessionAffinity === 'ClientIP'
      ? { timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS }
      : undefined;
  const scheduler = schedulerOf(service, options.log);
  const out: ServicePort[] = [];
  for (const port of spec.ports ?? []) {
    const protocol = (port.protocol ?? 'TCP') as string;
    if (protocol !== 'TCP' && protocol !== 'UDP') continue;
    const portName = port.name ?? '';
    out.push({
      key: `${namespace}/${name}:${portName}`,
      namespace,
      name,
      portName,
      protocol,
      clusterIPs: [...clusterIPs],
      port: port.port,
      nodePort: external && port.nodePort ? port.nodePort : undefined,
      externalLocal: external && spec.externalTrafficPolicy === 'Local',
      internalLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort:
        spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' ? spec.healthCheckNodePort : undefined,
      affinity,
      scheduler,
      endpoints: endpointsFor(port, protocol, slices, options.nodeName),
    });
  }
  return out;
}

function schedulerOf(service: V1Service, log: StateOptions['log']): Scheduler | undefined {
  const value = service.metadata?.annotations?.[SCHEDULER_ANNOTATION];
  if (value === undefined) return undefined;
  // The annotation schema is the single source of truth; the agent only ignores what it refuses.
  const problems = validateAnnotations({ [SCHEDULER_ANNOTATION]: value });
  if (problems.length === 0) return value as Scheduler;
  log?.(`service ${objectKey(service)}: ${problems.join('; ')}; using the agent's --scheduler`);
  return undefined;
}

function endpointsFor(port: V1ServicePort, protocol: L4Protocol, slices: readonly V1EndpointSlice[], nodeName: string): Endpoint[] {
  const byAddress = new Map<string, Endpoint>();
  const wanted = port.name ?? '';
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === wanted && (p.protocol ?? 'TCP') === protocol);
    if (slicePort?.port === undefined || slicePort.port === null) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      const ready = ep.conditions?.ready ?? true;
      const endpoint: Endpoint = {
        ip,
        port: slicePort.port,
        nodeName: ep.nodeName,
        local: ep.nodeName === nodeName,
        ready,
        serving: ep.conditions?.serving ?? ready,
        terminating: ep.conditions?.terminating ?? false,
      };
      const id = `${ip}:${endpoint.port}`;
      // The same address in two slices (during a slice migration): a ready copy wins.
      const seen = byAddress.get(id);
      if (!seen || (!seen.ready && endpoint.ready)) byAddress.set(id, endpoint);
    }
  }
  return [...byAddress.values()].sort(compareEndpoints);
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  return a.port - b.port;
}

/**
 * The node addresses NodePorts answer on. With `--nodeport-addresses`, the host addresses
 * inside those CIDRs (never loopback: kube-proxy does not support localhost NodePorts);
 * otherwise the Node's InternalIPs, or its ExternalIPs when it has none (kube-proxy's
 * "primary" node IPs).
 */
export function nodeIPs(node: V1Node | undefined, options: Pick<StateOptions, 'nodePortAddresses' | 'hostAddresses'>): string[] {
  if (options.nodePortAddresses && options.nodePortAddresses.length > 0) {
    const allowed = cidrSet(options.nodePortAddresses.map((c) => parseCidr(c)!));
    return unique(
      (options.hostAddresses ?? []).filter((ip) => !isLoopback(ip) && allowed.has(ip)),
    );
  }
  const addresses = node?.status?.addresses ?? [];
  const internal = addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
  const chosen = internal.length > 0 ? internal : addresses.filter((a) => a.type === 'ExternalIP').map((a) => a.address);
  return unique(chosen.filter((ip) => isIPv4(ip) || isIPv6(ip)));
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * kube-proxy's CategorizeEndpoints for one policy: the endpoints traffic may go to.
 * Ready endpoints; when there are none, the serving-and-terminating ones (so a rolling
 * update that leaves only terminating pods still serves). `local` restricts to this node's
 * endpoints (externalTrafficPolicy / internalTrafficPolicy Local), falling back the same way
 * among the local ones only.
 */
export function usableEndpoints(port: Pick<ServicePort, 'endpoints'>, options: { local: boolean }): Endpoint[] {
  const candidates = options.local ? port.endpoints.filter((e) => e.local) : port.endpoints;
  const ready = candidates.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return candidates.filter((e) => e.serving && e.terminating);
}

/** Whether any node has an endpoint for the port (kube-proxy's `hasAnyEndpoints`). */
export function hasAnyEndpoints(port: Pick<ServicePort, 'endpoints'>): boolean {
  return usableEndpoints(port, { local: false }).length > 0;
}

export function ipFamilyOf(ip: string): 4 | 6 {
  return isIPv6(ip) ? 6 : 4;
}
