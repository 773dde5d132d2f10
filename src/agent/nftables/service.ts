/**
 * The nftables objects of one service port in one family: pure data that both the full
 * and the incremental transaction are written from, and that the proxier remembers so the
 * next incremental sync can diff against it. The chain layout is kube-proxy's nftables
 * proxier's (see README.md): dispatch map element → `clusterip-` (or `external-` for
 * NodePorts) → `service-`/`local-` policy chain → one `endpoint-` chain per endpoint, which
 * DNATs.
 *
 * A dispatch element's verdict depends only on which service port owns the key, never on
 * its endpoints or policies: those live in the `clusterip-`/`external-` chain it jumps to.
 * So a sync never has to change or delete an element when endpoints come and go, and a
 * deleted Service's elements can stay (pointing at emptied chains) until the next full sync:
 * nft 1.0.x dumps every chain of the ruleset before any element deletion, which took 4.4 s
 * at 10,000 Services (README.md, "Cost").
 */
import { isIPv6 } from 'node:net';
import { endpointId, trafficPlan, type TrafficPlan, type Verdict } from '../policy';
import type { Endpoint, ServicePort } from '../types';
import { endpointNames, servicePortChains, type EndpointNames, type Family, type ServicePortNames } from './names';
import { MARK_FOR_MASQUERADE, REJECT_CHAIN, type MapName } from './tables';

export interface ChainRender {
  name: string;
  rules: string[];
  /** Content-addressed (endpoint chains): the name fixes the rules, so an existing one is never rewritten. */
  immutable: boolean;
}

export interface ElementRender {
  map: MapName;
  key: string;
  /** The verdict, e.g. `goto service-…` or `drop`. */
  value: string;
}

export interface ServiceRender {
  /** Endpoint chains first: the policy chains jump to them. */
  chains: ChainRender[];
  affinitySets: Array<{ name: string; timeoutSeconds: number }>;
  elements: ElementRender[];
  /** Distinct endpoints this node can send to (metrics). */
  endpoints: number;
}

/** The service port restricted to one address family, or undefined if it has no ClusterIP in it. */
export function inFamily(port: ServicePort, family: Family): ServicePort | undefined {
  const matches = (ip: string) => isIPv6(ip) === (family === 'ip6');
  const clusterIPs = port.clusterIPs.filter(matches);
  if (clusterIPs.length === 0) return undefined;
  return { ...port, clusterIPs, endpoints: port.endpoints.filter((e) => matches(e.ip)) };
}

export function renderServicePort(whole: ServicePort, family: Family): ServiceRender | undefined {
  const port = inFamily(whole, family);
  if (port === undefined) return undefined;
  const plan = trafficPlan(port);
  const names = servicePortChains(port);
  const proto = port.protocol.toLowerCase();
  const chains: ChainRender[] = [];
  const affinitySets: ServiceRender['affinitySets'] = [];
  // Hashing names is most of the rendering time at scale: once per endpoint.
  const byId = new Map(plan.reachable.map((e) => [endpointId(e), endpointNames(port, e)]));
  const namesOf = (e: Endpoint) => byId.get(endpointId(e))!;

  for (const endpoint of plan.reachable) {
    const { chain, affinitySet } = namesOf(endpoint);
    if (affinitySet !== undefined && port.affinity) affinitySets.push({ name: affinitySet, timeoutSeconds: port.affinity.timeoutSeconds });
    chains.push({ name: chain, rules: endpointRules(family, proto, endpoint, affinitySet), immutable: true });
  }
  // kube-proxy: a policy chain exists when its policy is in use and has endpoints.
  if (plan.cluster.length > 0) chains.push(policyChain(names.cluster, port, family, plan.cluster, namesOf));
  if (plan.local.length > 0) chains.push(policyChain(names.local, port, family, plan.local, namesOf));
  chains.push({ name: names.clusterIP, rules: [verdictRule(plan.internal, names)], immutable: false });
  if (port.nodePort !== undefined && plan.external !== undefined) {
    chains.push({ name: names.external, rules: externalRules(port, plan, names), immutable: false });
  }

  const elements: ElementRender[] = port.clusterIPs.map((ip) => ({ map: 'service-ips', key: `${ip} . ${proto} . ${port.port}`, value: `goto ${names.clusterIP}` }));
  if (port.nodePort !== undefined && plan.external !== undefined) {
    elements.push({ map: 'service-nodeports', key: `${proto} . ${port.nodePort}`, value: `goto ${names.external}` });
  }
  return { chains, affinitySets, elements, endpoints: plan.reachable.length };
}

/**
 * What a verdict does, as the last rule of a dispatch chain. No endpoint anywhere: TCP gets
 * a reset, anything else ICMP port unreachable, so the client fails at once. Local policy
 * without a local endpoint: dropped, as kube-proxy does.
 */
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
 * uniform random choice. kube-proxy writes the choice as one `numgen random mod N vmap
 * { … }`; ferry writes the same distribution as a cascade — rule i takes the packet with
 * probability 1/(N−i) (`numgen random mod (N−i)` equals 0), the last rule takes the rest,
 * as kube-proxy's iptables mode does with `statistic`. The reason is measured: every
 * anonymous vmap is a kernel set, and the kernel looks sets up by walking a list, so a
 * table with 10,000 Services took over 100 s to load with per-Service vmaps against a few
 * seconds with the cascade (see README.md, "Why no per-Service vmap").
 */
function policyChain(name: string, port: ServicePort, family: Family, endpoints: Endpoint[], namesOf: (e: Endpoint) => EndpointNames): ChainRender {
  const rules: string[] = [];
  if (port.affinity) {
    for (const e of endpoints) rules.push(`${family} saddr @${namesOf(e).affinitySet} goto ${namesOf(e).chain}`);
  }
  endpoints.forEach((e, i) => {
    const remaining = endpoints.length - i;
    rules.push(remaining > 1 ? `numgen random mod ${remaining} 0 goto ${namesOf(e).chain}` : `goto ${namesOf(e).chain}`);
  });
  return { name, rules, immutable: false };
}

function externalRules(port: ServicePort, plan: TrafficPlan, names: ServicePortNames): string[] {
  const verdict = plan.external!;
  if (!plan.hasEndpoints) return [verdictRule(verdict, names)];
  if (!port.externalLocal) {
    // Cluster policy may send the packet to another node: masquerade so the reply comes back here.
    return [MARK_FOR_MASQUERADE, verdictRule(verdict, names)];
  }
  // Local policy keeps the client's source address. Traffic from this host itself has a
  // local source address and would not survive a hop, so it is masqueraded and
  // short-circuited to the Cluster endpoints (kube-proxy's "short-circuit local traffic").
  return [`fib saddr type local ${MARK_FOR_MASQUERADE}`, `fib saddr type local goto ${names.cluster}`, verdictRule(verdict, names)];
}

function endpointRules(family: Family, proto: string, e: Endpoint, affinitySet: string | undefined): string[] {
  return [
    // Hairpin: a pod reaching itself through the Service must not see its own address as
    // the source, or its reply would bypass the DNAT.
    `${family} saddr ${e.ip} ${MARK_FOR_MASQUERADE}`,
    ...(affinitySet ? [`update @${affinitySet} { ${family} saddr }`] : []),
    `meta l4proto ${proto} dnat to ${endpointId(e)}`,
  ];
}
