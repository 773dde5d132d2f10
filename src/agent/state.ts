/**
 * The agent's snapshot → {@link ProxyState}: pure, no I/O, table-tested. Every proxy mode
 * renders from this, so kube-proxy's semantics of "which Services, which ports, which
 * endpoints" live here once (pkg/proxy/servicechangetracker.go, endpointslicecache.go,
 * topology.go):
 *
 * - headless (`clusterIP: None`) and ExternalName Services get nothing;
 * - TCP, UDP and SCTP ports are kept (the userspace mode skips SCTP: Node.js has no SCTP sockets);
 * - `spec.externalIPs` and the `status.loadBalancer.ingress[].ip` of `ipMode` VIP (or no
 *   `ipMode`) are captured; `ipMode: Proxy` ingress IPs are not (pkg/proxy/serviceport.go
 *   `newBaseServiceInfo`, KEP-1860: the load balancer proxies them itself);
 * - topology hints (`hints.forZones`, `hints.forNodes`) are resolved for this node's zone
 *   (label `topology.kubernetes.io/zone`) and name; `usableEndpoints` applies them;
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
 *
 * Every address, port and name that a mode writes into nft, iptables-restore or
 * ipvsadm-restore input is validated here, where the state is built: only the API server's
 * validation stands between an EndpointSlice author and that input (an address holding a
 * newline would start a new rule). An endpoint, or a Service port, that fails is dropped and
 * a log line names it, the field, the value and what is accepted. The renderers assert the
 * same as a second line of defence (`assertAddress`, `assertPort`).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { V1EndpointSlice, V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { validateAnnotations } from '../model/annotations';
import { cidrSet, parseCidr } from '../util/net';
import { detectorOf, type DetectorOptions } from './pod-traffic';
import type { Endpoint, L4Protocol, ProxyState, Scheduler, ServicePort } from './types';

export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const SCHEDULER_ANNOTATION = 'ferry.io/ipvs-scheduler';
/** The Node label whose value EndpointSlice zone hints name (kube-proxy reads the same). */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface StateOptions {
  nodeName: string;
  /** `--nodeport-addresses`: CIDRs selecting which host addresses answer NodePorts. */
  nodePortAddresses?: readonly string[];
  /** The host's interface addresses (read by the edge), matched against `nodePortAddresses`. */
  hostAddresses?: readonly string[];
  /** This node's zone (its `topology.kubernetes.io/zone` label), for zone hints. */
  nodeZone?: string;
  /**
   * Whether `hints.forNodes` are honoured (kube-proxy's PreferSameTrafficDistribution
   * feature gate, on by default since Kubernetes 1.34). Default true.
   */
  nodeHints?: boolean;
  /** How pod traffic is detected (`--detect-local-mode` and its inputs); none when undefined. */
  detector?: DetectorOptions;
  /** `--masquerade-all`. */
  masqueradeAll?: boolean;
  /** `--bind-address`: this node's primary IP, in place of the Node's address of that family (kube-proxy's meaning). */
  primaryIP?: string;
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

/** A port number a rule may hold: a whole number from 1 to 65535. */
export function isValidPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/**
 * An IPv4 address in dotted-quad form, or an IPv6 address without a zone: what nft,
 * iptables and ipvsadm parse as one address and nothing more. `family` narrows it to one.
 */
export function isValidAddress(value: unknown, family?: 4 | 6): value is string {
  if (typeof value !== 'string' || value.length > 45) return false;
  // node's isIPv6 accepts zone ids (`fe80::1%eth0`); a rule cannot hold one.
  if (family !== 6 && isIPv4(value)) return true;
  return family !== 4 && /^[0-9A-Fa-f:.]+$/.test(value) && isIPv6(value);
}

/** A DNS label (RFC 1123), the most a namespace or Service name may be; it appears in chain names and comments. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Service port name (IANA_SVC_NAME, or empty for a one-port Service). */
const PORT_NAME = /^$|^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const MAX_AFFINITY_SECONDS = 86400;

/** The second line of defence in the renderers: throws, naming the field and the value. */
export function assertAddress(field: string, value: unknown): asserts value is string {
  if (!isValidAddress(value)) throw new Error(`${field} ${JSON.stringify(value)} is not an IP address; refusing to render it`);
}

export function assertPort(field: string, value: unknown): asserts value is number {
  if (!isValidPort(value)) throw new Error(`${field} ${JSON.stringify(value)} is not a port from 1 to 65535; refusing to render it`);
}

/**
 * Everything of a service port that a renderer writes, checked again: a renderer calls it
 * before writing, so a state built some other way cannot smuggle a rule in.
 */
export function assertRenderable(port: ServicePort): void {
  for (const [field, value] of [['namespace', port.namespace], ['name', port.name]] as const) {
    if (!DNS_LABEL.test(value)) throw new Error(`service ${field} ${JSON.stringify(value)} is not a DNS label; refusing to render it`);
  }
  if (!PORT_NAME.test(port.portName)) throw new Error(`service port name ${JSON.stringify(port.portName)} is invalid; refusing to render it`);
  for (const ip of port.clusterIPs) assertAddress('clusterIP', ip);
  for (const ip of port.externalIPs ?? []) assertAddress('externalIP', ip);
  for (const ip of port.loadBalancerIPs ?? []) assertAddress('load balancer ingress IP', ip);
  if (port.protocol !== 'TCP' && port.protocol !== 'UDP' && port.protocol !== 'SCTP') throw new Error(`protocol ${JSON.stringify(port.protocol)} is not TCP, UDP or SCTP; refusing to render it`);
  assertPort('service port', port.port);
  if (port.nodePort !== undefined) assertPort('nodePort', port.nodePort);
  if (port.affinity && !(Number.isInteger(port.affinity.timeoutSeconds) && port.affinity.timeoutSeconds >= 1 && port.affinity.timeoutSeconds <= MAX_AFFINITY_SECONDS)) {
    throw new Error(`affinity timeout ${JSON.stringify(port.affinity.timeoutSeconds)} is invalid; refusing to render it`);
  }
  for (const e of port.endpoints) {
    assertAddress('endpoint address', e.ip);
    assertPort('endpoint port', e.port);
  }
}

/** A value as a log line shows it: quoted and escaped, so a newline in it cannot forge another line; capped. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
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
  const withZone = { ...options, nodeZone: options.nodeZone ?? nodeZone(node) };
  for (const service of services) {
    for (const port of servicePorts(service, slicesByService.get(objectKey(service)) ?? [], withZone)) {
      entries.push([servicePortMapKey(port), port]);
    }
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { nodeName: options.nodeName, nodeIPs: nodeIPs(node, options), services: new Map(entries), ...masquerading(node, options) };
}

/** The state's pod-traffic detector and `masqueradeAll`, present only when configured. */
export function masquerading(node: V1Node | undefined, options: Pick<StateOptions, 'detector' | 'masqueradeAll'>): Pick<ProxyState, 'podTraffic' | 'masqueradeAll'> {
  const podTraffic = options.detector && detectorOf(options.detector, node?.spec?.podCIDRs ?? (node?.spec?.podCIDR ? [node.spec.podCIDR] : []));
  return { ...(podTraffic ? { podTraffic } : {}), ...(options.masqueradeAll ? { masqueradeAll: true } : {}) };
}

/** The service ports of one Service with their endpoints; empty for headless and ExternalName. */
export function servicePorts(service: V1Service, slices: readonly V1EndpointSlice[], options: StateOptions): ServicePort[] {
  const spec = service.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  const drop = (what: string) => options.log?.(`service ${shown(objectKey(service))}: ${what}`);
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  const listed = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  // Headless Services (`None`) get no rules by design: nothing to log.
  if (listed.length === 0 || listed.includes('None')) return [];
  const clusterIPs = listed.filter((ip) => isValidAddress(ip));
  for (const ip of listed) if (!isValidAddress(ip)) drop(`clusterIP ${shown(ip)} is invalid (accepted: an IPv4 address, or an IPv6 address without a zone); ignored`);
  if (clusterIPs.length === 0) return [];
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) {
    drop(`namespace ${shown(namespace)} or name ${shown(name)} is invalid (accepted: DNS labels of at most 63 characters); Service dropped`);
    return [];
  }
  const timeoutSeconds = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  if (spec.sessionAffinity === 'ClientIP' && !(Number.isInteger(timeoutSeconds) && timeoutSeconds >= 1 && timeoutSeconds <= MAX_AFFINITY_SECONDS)) {
    drop(`sessionAffinityConfig.clientIP.timeoutSeconds ${shown(timeoutSeconds)} is invalid (accepted: a whole number from 1 to ${MAX_AFFINITY_SECONDS}); Service dropped`);
    return [];
  }
  const affinity = spec.sessionAffinity === 'ClientIP' ? { timeoutSeconds } : undefined;
  const scheduler = schedulerOf(service, options.log);
  const externalIPs = validAddresses(spec.externalIPs ?? [], 'externalIP', drop);
  const loadBalancerIPs = validAddresses(loadBalancerVIPs(service), 'load balancer ingress IP', drop);
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  // kube-proxy's ExternalPolicyLocal: a ClusterIP Service with externalIPs has an external policy too.
  const externalLocal = (external || externalIPs.length > 0) && spec.externalTrafficPolicy === 'Local';
  let healthCheckNodePort = spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' ? spec.healthCheckNodePort : undefined;
  if (healthCheckNodePort !== undefined && !isValidPort(healthCheckNodePort)) {
    drop(`healthCheckNodePort ${shown(healthCheckNodePort)} is invalid (accepted: a port from 1 to 65535); no health check served`);
    healthCheckNodePort = undefined;
  }
  const out: ServicePort[] = [];
  for (const port of spec.ports ?? []) {
    const protocol = (port.protocol ?? 'TCP') as string;
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') continue;
    const portName = port.name ?? '';
    const which = `port ${shown(portName)}`;
    if (typeof portName !== 'string' || !PORT_NAME.test(portName)) {
      drop(`${which}: name is invalid (accepted: at most 15 lowercase letters, digits and '-'); port dropped`);
      continue;
    }
    if (!isValidPort(port.port)) {
      drop(`${which}: port ${shown(port.port)} is invalid (accepted: a port from 1 to 65535); port dropped`);
      continue;
    }
    // 0 or absent: no NodePort allocated (allocateLoadBalancerNodePorts: false).
    if (external && port.nodePort !== undefined && port.nodePort !== null && port.nodePort !== 0 && !isValidPort(port.nodePort)) {
      drop(`${which}: nodePort ${shown(port.nodePort)} is invalid (accepted: a port from 1 to 65535); port dropped`);
      continue;
    }
    out.push({
      key: `${namespace}/${name}:${portName}`,
      namespace,
      name,
      portName,
      protocol,
      clusterIPs: [...clusterIPs],
      port: port.port,
      nodePort: external && port.nodePort ? port.nodePort : undefined,
      // Only when present, so a Service without them looks as it always did.
      ...(externalIPs.length > 0 ? { externalIPs: [...externalIPs] } : {}),
      ...(loadBalancerIPs.length > 0 ? { loadBalancerIPs: [...loadBalancerIPs] } : {}),
      externalLocal,
      internalLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort,
      affinity,
      scheduler,
      endpoints: endpointsFor(port, protocol, slices, options, drop),
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

/**
 * The ingress IPs kube-proxy captures: `ipMode` VIP or unset. `Proxy` means the load
 * balancer proxies the traffic itself and sends it to the nodes, not to the IP, so the IP
 * must not be captured on the node (KEP-1860; pkg/proxy/util `IsVIPMode`).
 */
function loadBalancerVIPs(service: V1Service): string[] {
  const out: string[] = [];
  for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
    if (!ingress.ip || (ingress.ipMode !== undefined && ingress.ipMode !== null && ingress.ipMode !== 'VIP')) continue;
    out.push(ingress.ip);
  }
  return out;
}

function validAddresses(values: readonly unknown[], field: string, drop: (what: string) => void): string[] {
  const out: string[] = [];
  for (const value of values) {
    if (isValidAddress(value)) {
      if (!out.includes(value)) out.push(value);
    } else drop(`${field} ${shown(value)} is invalid (accepted: an IPv4 address, or an IPv6 address without a zone); ignored`);
  }
  return out;
}

/** This node's zone, from its label; undefined without one. */
export function nodeZone(node: V1Node | undefined): string | undefined {
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  return zone ? zone : undefined;
}

function endpointsFor(port: V1ServicePort, protocol: L4Protocol, slices: readonly V1EndpointSlice[], options: StateOptions, drop: (what: string) => void): Endpoint[] {
  const { nodeName } = options;
  const byAddress = new Map<string, Endpoint>();
  const wanted = port.name ?? '';
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const family = slice.addressType === 'IPv4' ? 4 : 6;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === wanted && (p.protocol ?? 'TCP') === protocol);
    if (slicePort?.port === undefined || slicePort.port === null) continue;
    const where = `EndpointSlice ${shown(slice.metadata?.name ?? '')}`;
    if (!isValidPort(slicePort.port)) {
      drop(`${where}: port ${shown(wanted)} is ${shown(slicePort.port)}, invalid (accepted: a port from 1 to 65535); its endpoints dropped`);
      continue;
    }
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      if (!isValidAddress(ip, family)) {
        drop(`${where}: endpoint address ${shown(ip)} is invalid (accepted: an ${slice.addressType} address${family === 6 ? ' without a zone' : ''}); endpoint dropped`);
        continue;
      }
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
      // Hints are kept only as "names this node's zone / this node": all a proxy needs.
      const zones = ep.hints?.forZones ?? [];
      if (zones.length > 0) endpoint.zoneHint = options.nodeZone !== undefined && zones.some((z) => z.name === options.nodeZone);
      const nodes = ep.hints?.forNodes ?? [];
      if (nodes.length > 0 && options.nodeHints !== false) endpoint.nodeHint = nodes.some((n) => n.name === nodeName);
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
export function nodeIPs(node: V1Node | undefined, options: Pick<StateOptions, 'nodePortAddresses' | 'hostAddresses' | 'log' | 'primaryIP'>): string[] {
  if (options.nodePortAddresses && options.nodePortAddresses.length > 0) {
    const allowed = cidrSet(options.nodePortAddresses.map((c) => parseCidr(c)!));
    return unique((options.hostAddresses ?? []).filter((ip) => isValidAddress(ip) && !isLoopback(ip) && allowed.has(ip)));
  }
  const addresses = node?.status?.addresses ?? [];
  const internal = addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
  const chosen = internal.length > 0 ? internal : addresses.filter((a) => a.type === 'ExternalIP').map((a) => a.address);
  for (const ip of chosen) if (!isValidAddress(ip)) options.log?.(`node ${shown(node?.metadata?.name ?? '')}: address ${shown(ip)} is invalid (accepted: an IPv4 address, or an IPv6 address without a zone); NodePorts do not answer on it`);
  const valid = chosen.filter((ip) => isValidAddress(ip));
  const primary = options.primaryIP;
  if (primary === undefined || !isValidAddress(primary)) return unique(valid);
  // kube-proxy's --bind-address: overrides the node's primary IP of its family.
  const v6 = primary.includes(':');
  return unique([primary, ...valid.filter((ip) => ip.includes(':') !== v6)]);
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * kube-proxy's CategorizeEndpoints for one policy: the endpoints traffic may go to
 * (pkg/proxy/topology.go). Ready endpoints; when there are none, the serving-and-terminating
 * ones (so a rolling update that leaves only terminating pods still serves). `local`
 * restricts to this node's endpoints (externalTrafficPolicy / internalTrafficPolicy Local),
 * falling back the same way among the local ones only.
 *
 * Cluster policy follows topology hints ({@link topologyMode}): only the ready endpoints
 * hinted for this node (or its zone) are used. The serving-terminating fall-back ignores
 * hints, as kube-proxy's does (it is reached only when nothing is ready anywhere). Local
 * policy ignores hints.
 */
export function usableEndpoints(port: Pick<ServicePort, 'endpoints'>, options: { local: boolean }): Endpoint[] {
  const candidates = options.local ? port.endpoints.filter((e) => e.local) : port.endpoints;
  // Hints are there only when the EndpointSlice controller wrote them: skip the pass otherwise.
  const hinted = !options.local && candidates.some((e) => e.zoneHint !== undefined || e.nodeHint !== undefined);
  const mode = hinted ? topologyMode(candidates) : undefined;
  const ready = candidates.filter((e) => e.ready && (mode === undefined || (mode === 'node' ? e.nodeHint : e.zoneHint) === true));
  if (ready.length > 0) return ready;
  return candidates.filter((e) => e.serving && e.terminating);
}

/**
 * kube-proxy's `topologyModeFromHints`: `node` when every ready endpoint has a node hint and
 * one names this node; else `zone` when every ready endpoint has a zone hint and one names
 * this node's zone; else undefined (hints incomplete, or none for here: every endpoint).
 * The EndpointSlice controller writes hints for `trafficDistribution: PreferClose` (alias
 * PreferSameZone) and PreferSameNode, so following the hints is following the Service.
 */
export function topologyMode(endpoints: readonly Endpoint[]): 'node' | 'zone' | undefined {
  // One pass, no allocation: this runs for every service port on every render.
  let ready = false;
  let allNode = true;
  let forNode = false;
  let allZone = true;
  let forZone = false;
  for (const e of endpoints) {
    if (!e.ready) continue;
    ready = true;
    if (e.nodeHint === undefined) allNode = false;
    else if (e.nodeHint) forNode = true;
    if (e.zoneHint === undefined) allZone = false;
    else if (e.zoneHint) forZone = true;
  }
  if (!ready) return undefined;
  if (allNode && forNode) return 'node';
  if (allZone && forZone) return 'zone';
  return undefined;
}

/** Whether any node has an endpoint for the port (kube-proxy's `hasAnyEndpoints`). */
export function hasAnyEndpoints(port: Pick<ServicePort, 'endpoints'>): boolean {
  return usableEndpoints(port, { local: false }).length > 0;
}

export function ipFamilyOf(ip: string): 4 | 6 {
  return isIPv6(ip) ? 6 : 4;
}
