/**
 * The nftables objects of one service port in one family: pure data the table plan is
 * built from (plan.ts). Most Services own no chain at all:
 *
 * - a `service-ips` element sends the ClusterIP's traffic to a chain shared by every
 *   service port of that protocol with the same number of endpoints, `dnat-tcp-3`, which
 *   draws a random index and DNATs to what `cluster-endpoints-tcp` holds for the packet's
 *   address, port and that index: one lookup picks the endpoint and its port;
 * - NodePorts likewise, through `nodeport-tcp-3` (externalTrafficPolicy Cluster) or
 *   `nodeport-local-tcp-1-3` (Local: one local endpoint, three in the cluster for traffic
 *   from this host) and `nodeport-endpoints-tcp`;
 * - no endpoints: the element's verdict rejects (or drops, for Local policy);
 * - hairpin masquerade is one lookup in the `hairpin` set at postrouting.
 *
 * - externalIPs and load balancer IPs are keys of `service-ips` too, sent to `extip-tcp-3`
 *   (Cluster policy: masqueraded) or `extip-local-tcp-1-3` (Local), which look the endpoint
 *   up in `cluster-endpoints-tcp` by the packet's address and port, like a ClusterIP;
 * - with a pod-traffic detector (`--cluster-cidr`, `--detect-local-mode`) or
 *   `--masquerade-all`, ClusterIP traffic from outside the pod network is masqueraded
 *   (`dnat-tcp-3-pXXXXXX`, `dnat-tcp-3-all`) and pod traffic to an external address of a
 *   Local Service goes to any endpoint (`nodeport-local-…-pXXXXXX`), as kube-proxy does.
 *
 * ClientIP affinity needs to remember the endpoint chosen, which a map cannot: such a
 * Service keeps kube-proxy's chain per endpoint (`clusterip-`/`external-` dispatch,
 * `service-`/`local-` policy, `endpoint-` chains with dynamic affinity sets).
 */
import { nftPodMatch, podMatchTag } from '../pod-traffic';
import { assertRenderable } from '../state';
import { externalAddresses, trafficPlan, type TrafficPlan, type Verdict } from '../policy';
import type { Endpoint, ProxyState, ServicePort } from '../types';
import { endpointNames, servicePortChains, type EndpointNames, type Family, type ServicePortNames } from './names';
import { clusterEndpointsMap, HAIRPIN, MARK_FOR_MASQUERADE, nodePortEndpointsMap, REJECT_CHAIN, type ElementMap, type Proto } from './tables';

export interface ChainRender {
  name: string;
  rules: string[];
  /** Content-addressed (endpoint chains): the name fixes the rules, so an existing one is never rewritten. */
  immutable: boolean;
}

export interface ElementRender {
  map: ElementMap;
  key: string;
  /** The value (`goto dnat-tcp-2`, `10.244.1.2 . 8080`); empty for a set. */
  value: string;
}

export interface ServiceRender {
  /** Chains this port needs: shared ones by name (same name, same rules), its own (affinity) ones, endpoint chains first. */
  chains: ChainRender[];
  affinitySets: Array<{ name: string; timeoutSeconds: number }>;
  elements: ElementRender[];
  /** Distinct endpoints this node can send to (metrics). */
  endpoints: number;
}

/** The service port restricted to one address family, or undefined if it has no ClusterIP in it. */
export function inFamily(port: ServicePort, family: Family): ServicePort | undefined {
  // Addresses are validated when the state is built (state.ts): a colon means IPv6.
  const matches = (ip: string) => ip.includes(':') === (family === 'ip6');
  const clusterIPs = port.clusterIPs.filter(matches);
  if (clusterIPs.length === 0) return undefined;
  const externalIPs = port.externalIPs?.filter(matches);
  const loadBalancerIPs = port.loadBalancerIPs?.filter(matches);
  return {
    ...port,
    clusterIPs,
    ...(port.externalIPs ? { externalIPs } : {}),
    ...(port.loadBalancerIPs ? { loadBalancerIPs } : {}),
    endpoints: port.endpoints.filter((e) => matches(e.ip)),
  };
}

/** What the rules of every service port of one family depend on besides the port: the masquerading configured. */
export interface RenderContext {
  /** `--masquerade-all`: every ClusterIP connection is masqueraded. */
  masqueradeAll?: boolean;
  /** This family's pod-traffic detector as nft matches, with the tag that names it in chain names. */
  pods?: { match: string; notMatch: string; tag: string };
}

/** The render context of a state for one family. */
export function renderContext(state: Pick<ProxyState, 'podTraffic' | 'masqueradeAll'>, family: Family): RenderContext {
  const match = state.podTraffic?.[family === 'ip' ? 4 : 6];
  return {
    ...(state.masqueradeAll ? { masqueradeAll: true } : {}),
    ...(match ? { pods: { match: nftPodMatch(match, family), notMatch: nftPodMatch(match, family, true), tag: podMatchTag(match) } } : {}),
  };
}

export function renderServicePort(whole: ServicePort, family: Family, context: RenderContext = {}): ServiceRender | undefined {
  assertRenderable(whole);
  const port = inFamily(whole, family);
  if (port === undefined) return undefined;
  const plan = trafficPlan(port);
  const proto = port.protocol.toLowerCase() as Proto;
  const render: ServiceRender = { chains: [], affinitySets: [], elements: [], endpoints: plan.reachable.length };
  // Only this node's endpoints can be reached from themselves through this node's rules.
  for (const e of plan.reachable) if (e.local) render.elements.push({ map: HAIRPIN, key: `${e.ip} . ${e.ip}`, value: '' });
  if (port.affinity) renderWithAffinity(render, port, plan, family, proto, context);
  else renderWithMaps(render, port, plan, family, proto, context);
  return render;
}

/** How ClusterIP traffic is masqueraded, if at all (kube-proxy: in the internal traffic chain). */
function clusterIPMasquerade(context: RenderContext): Masquerade | undefined {
  if (context.masqueradeAll) return { kind: 'all' };
  return context.pods ? { kind: 'unless-pods', notPods: context.pods.notMatch, tag: context.pods.tag } : undefined;
}

function renderWithMaps(render: ServiceRender, port: ServicePort, plan: TrafficPlan, family: Family, proto: Proto, context: RenderContext): void {
  const ip = port.clusterIPs[0]!;
  const internal = plan.internal === 'cluster' ? plan.cluster : plan.internal === 'local' ? plan.local : undefined;
  if (internal) {
    const chain = sharedChain({ kind: 'dnat', family, proto, count: internal.length, masquerade: clusterIPMasquerade(context) });
    render.chains.push(chain);
    render.elements.push({ map: 'service-ips', key: `${ip} . ${proto} . ${port.port}`, value: `goto ${chain.name}` });
    internal.forEach((e, i) => render.elements.push({ map: clusterEndpointsMap(proto), key: `${ip} . ${port.port} . ${i}`, value: target(e) }));
  } else {
    render.elements.push({ map: 'service-ips', key: `${ip} . ${proto} . ${port.port}`, value: noEndpointVerdict(plan.internal) });
  }
  if (plan.external === undefined) return;
  const addresses = externalAddresses(port);
  if (!plan.hasEndpoints) {
    if (port.nodePort !== undefined) render.elements.push({ map: 'service-nodeports', key: `${proto} . ${port.nodePort}`, value: noEndpointVerdict(plan.external) });
    for (const address of addresses) render.elements.push({ map: 'service-ips', key: `${address} . ${proto} . ${port.port}`, value: noEndpointVerdict(plan.external) });
    return;
  }
  // Local policy keeps the local endpoints at indices [0, L) and, for traffic from this
  // host (and from pods, with a detector), the cluster's at [L, L + C).
  const endpoints = port.externalLocal ? [...plan.local, ...plan.cluster] : plan.cluster;
  const pods = context.pods && { match: context.pods.match, tag: context.pods.tag };
  if (port.nodePort !== undefined) {
    const chain = port.externalLocal
      ? sharedChain({ kind: 'nodeport-local', family, proto, count: plan.local.length, clusterCount: plan.cluster.length, pods })
      : sharedChain({ kind: 'nodeport', family, proto, count: plan.cluster.length });
    render.chains.push(chain);
    render.elements.push({ map: 'service-nodeports', key: `${proto} . ${port.nodePort}`, value: `goto ${chain.name}` });
    endpoints.forEach((e, i) => render.elements.push({ map: nodePortEndpointsMap(proto), key: `${port.nodePort} . ${i}`, value: target(e) }));
  }
  if (addresses.length === 0) return;
  // externalIPs and load balancer IPs: keyed by the address like a ClusterIP, so they share
  // the ClusterIPs' endpoint map; the chain applies the external traffic policy.
  const chain = port.externalLocal
    ? sharedChain({ kind: 'extip-local', family, proto, count: plan.local.length, clusterCount: plan.cluster.length, pods })
    : sharedChain({ kind: 'extip', family, proto, count: plan.cluster.length });
  render.chains.push(chain);
  for (const address of addresses) {
    render.elements.push({ map: 'service-ips', key: `${address} . ${proto} . ${port.port}`, value: `goto ${chain.name}` });
    endpoints.forEach((e, i) => render.elements.push({ map: clusterEndpointsMap(proto), key: `${address} . ${port.port} . ${i}`, value: target(e) }));
  }
}

/** The DNAT target as a map value: `address . port`. */
function target(e: Endpoint): string {
  return `${e.ip} . ${e.port}`;
}

function noEndpointVerdict(verdict: Verdict): string {
  // No endpoint anywhere: TCP reset / ICMP port unreachable, so the client fails at once.
  // Local policy without a local endpoint: dropped, as kube-proxy does.
  return verdict === 'drop' ? 'drop' : `goto ${REJECT_CHAIN}`;
}

/** Masquerading of ClusterIP traffic: all of it (`--masquerade-all`), or what is not from a pod. */
export type Masquerade = { kind: 'all' } | { kind: 'unless-pods'; notPods: string; tag: string };
/** Pod traffic, with the tag that names its detector. */
export type PodsMatch = { match: string; tag: string };

export type SharedChainSpec =
  /** ClusterIP traffic to one of `count` endpoints. */
  | { kind: 'dnat'; family: Family; proto: Proto; count: number; masquerade?: Masquerade }
  /** NodePort traffic, externalTrafficPolicy Cluster: masqueraded, to one of `count` endpoints. */
  | { kind: 'nodeport'; family: Family; proto: Proto; count: number }
  /** NodePort traffic, externalTrafficPolicy Local: `count` local endpoints (0: dropped), `clusterCount` for this host's (and pods') own traffic. */
  | { kind: 'nodeport-local'; family: Family; proto: Proto; count: number; clusterCount: number; pods?: PodsMatch }
  /** externalIP / load balancer IP traffic, externalTrafficPolicy Cluster: masqueraded, to one of `count` endpoints. */
  | { kind: 'extip'; family: Family; proto: Proto; count: number }
  /** externalIP / load balancer IP traffic, externalTrafficPolicy Local: as `nodeport-local`. */
  | { kind: 'extip-local'; family: Family; proto: Proto; count: number; clusterCount: number; pods?: PodsMatch };

/**
 * A chain shared by every service port of its shape; its name says everything it holds.
 * The masquerading and pod detection, which come from the agent's configuration, are named
 * by a suffix: `-all`, or `-p` and a hash of the detector.
 */
export function sharedChain(spec: SharedChainSpec): ChainRender {
  const { family, proto } = spec;
  const dport = `${proto} dport`;
  const pick = (map: ElementMap, key: string, count: number, offset = 0) =>
    `dnat ${family} to ${key} . numgen random mod ${count}${offset > 0 ? ` offset ${offset}` : ''} map @${map}`;
  switch (spec.kind) {
    case 'dnat': {
      const rule = pick(clusterEndpointsMap(proto), `${family} daddr . ${dport}`, spec.count);
      const name = `dnat-${proto}-${spec.count}`;
      const m = spec.masquerade;
      if (m === undefined) return { name, rules: [rule], immutable: true };
      // kube-proxy: "This masquerades off-cluster traffic to a service VIP. The idea is that
      // you can establish a static route for your Service range, routing to any node, and
      // that node will bridge into the Service for you. Since that might bounce off-node, we
      // masquerade here." (pkg/proxy/nftables/proxier.go)
      return m.kind === 'all'
        ? { name: `${name}-all`, rules: [MARK_FOR_MASQUERADE, rule], immutable: true }
        : { name: `${name}-p${m.tag}`, rules: [`${m.notPods} ${MARK_FOR_MASQUERADE}`, rule], immutable: true };
    }
    case 'nodeport':
      // Cluster policy may send the packet to another node: masquerade so the reply comes back here.
      return { name: `nodeport-${proto}-${spec.count}`, rules: [MARK_FOR_MASQUERADE, pick(nodePortEndpointsMap(proto), dport, spec.count)], immutable: true };
    case 'extip':
      return { name: `extip-${proto}-${spec.count}`, rules: [MARK_FOR_MASQUERADE, pick(clusterEndpointsMap(proto), `${family} daddr . ${dport}`, spec.count)], immutable: true };
    case 'nodeport-local':
    case 'extip-local': {
      // Local policy keeps the client's source address. Traffic from this host has a local
      // source address and would not survive a hop, so it is masqueraded and short-circuited
      // to the cluster's endpoints (kube-proxy's "short-circuit local traffic"). Traffic from
      // a pod goes to the cluster's endpoints unmasqueraded ("short-circuit pod traffic": as
      // if it had gone out to the load balancer and come back).
      const [map, key] = spec.kind === 'nodeport-local' ? [nodePortEndpointsMap(proto), dport] : [clusterEndpointsMap(proto), `${family} daddr . ${dport}`];
      const cluster = pick(map, key, spec.clusterCount, spec.count);
      return {
        name: `${spec.kind}-${proto}-${spec.count}-${spec.clusterCount}${spec.pods ? `-p${spec.pods.tag}` : ''}`,
        rules: [
          ...(spec.pods ? [`${spec.pods.match} ${cluster}`] : []),
          `fib saddr type local ${MARK_FOR_MASQUERADE}`,
          `fib saddr type local ${cluster}`,
          spec.count > 0 ? pick(map, key, spec.count) : 'drop',
        ],
        immutable: true,
      };
    }
  }
}

/**
 * kube-proxy's layout for a Service with ClientIP affinity: dispatch element → `clusterip-`
 * (or `external-`) chain → `service-`/`local-` policy chain → `endpoint-` chain, which
 * records the client in its affinity set and DNATs.
 */
function renderWithAffinity(render: ServiceRender, port: ServicePort, plan: TrafficPlan, family: Family, proto: Proto, context: RenderContext): void {
  const names = servicePortChains(port);
  // Hashing names is most of the rendering time at scale: once per endpoint.
  const byEndpoint = new Map(plan.reachable.map((e) => [`${e.ip}|${e.port}`, endpointNames(port, e)]));
  const namesOf = (e: Endpoint) => byEndpoint.get(`${e.ip}|${e.port}`)!;
  for (const endpoint of plan.reachable) {
    const { chain, affinitySet } = namesOf(endpoint);
    render.affinitySets.push({ name: affinitySet!, timeoutSeconds: port.affinity!.timeoutSeconds });
    render.chains.push({ name: chain, rules: [`update @${affinitySet} { ${family} saddr }`, `meta l4proto ${proto} dnat ${family} to ${dnatTarget(endpoint)}`], immutable: true });
  }
  // kube-proxy: a policy chain exists when its policy is in use and has endpoints.
  if (plan.cluster.length > 0) render.chains.push(policyChain(names.cluster, family, plan.cluster, namesOf));
  if (plan.local.length > 0) render.chains.push(policyChain(names.local, family, plan.local, namesOf));
  const masquerade = plan.internal === 'cluster' || plan.internal === 'local' ? clusterIPMasquerade(context) : undefined;
  const masqueradeRule = masquerade && (masquerade.kind === 'all' ? MARK_FOR_MASQUERADE : `${masquerade.notPods} ${MARK_FOR_MASQUERADE}`);
  render.chains.push({ name: names.clusterIP, rules: [...(masqueradeRule ? [masqueradeRule] : []), verdictRule(plan.internal, names)], immutable: false });
  render.elements.push({ map: 'service-ips', key: `${port.clusterIPs[0]} . ${proto} . ${port.port}`, value: `goto ${names.clusterIP}` });
  if (plan.external !== undefined) {
    render.chains.push({ name: names.external, rules: externalRules(port, plan, names, context), immutable: false });
    if (port.nodePort !== undefined) render.elements.push({ map: 'service-nodeports', key: `${proto} . ${port.nodePort}`, value: `goto ${names.external}` });
    for (const address of externalAddresses(port)) render.elements.push({ map: 'service-ips', key: `${address} . ${proto} . ${port.port}`, value: `goto ${names.external}` });
  }
}

/** `ip:port`, `[ip6]:port`: a DNAT target in a rule. */
function dnatTarget(e: Pick<Endpoint, 'ip' | 'port'>): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function verdictRule(verdict: Verdict, names: ServicePortNames): string {
  switch (verdict) {
    case 'cluster':
      return `goto ${names.cluster}`;
    case 'local':
      return `goto ${names.local}`;
    case 'reject':
      return `goto ${REJECT_CHAIN}`;
    case 'drop':
      return 'drop';
  }
}

/**
 * Sticky endpoints first (a client in an endpoint's affinity set goes back to it), then a
 * uniform random choice as a cascade: rule i takes the packet with probability 1/(N−i)
 * (`numgen random mod (N−i)` equals 0), the last rule takes the rest, as kube-proxy's
 * iptables mode does with `statistic`. kube-proxy's nftables mode writes one anonymous
 * vmap per Service instead; the kernel finds sets by walking a list, so thousands of them
 * load in quadratic time.
 */
function policyChain(name: string, family: Family, endpoints: Endpoint[], namesOf: (e: Endpoint) => EndpointNames): ChainRender {
  const rules: string[] = [];
  for (const e of endpoints) rules.push(`${family} saddr @${namesOf(e).affinitySet} goto ${namesOf(e).chain}`);
  endpoints.forEach((e, i) => {
    const remaining = endpoints.length - i;
    rules.push(remaining > 1 ? `numgen random mod ${remaining} 0 goto ${namesOf(e).chain}` : `goto ${namesOf(e).chain}`);
  });
  return { name, rules, immutable: false };
}

function externalRules(port: ServicePort, plan: TrafficPlan, names: ServicePortNames, context: RenderContext): string[] {
  const verdict = plan.external!;
  if (!plan.hasEndpoints) return [verdictRule(verdict, names)];
  if (!port.externalLocal) return [MARK_FOR_MASQUERADE, verdictRule(verdict, names)];
  return [
    ...(context.pods ? [`${context.pods.match} goto ${names.cluster}`] : []),
    `fib saddr type local ${MARK_FOR_MASQUERADE}`,
    `fib saddr type local goto ${names.cluster}`,
    verdictRule(verdict, names),
  ];
}
