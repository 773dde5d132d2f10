/**
 * The iptables rules of one service port in one family, as kube-proxy's iptables proxier
 * writes them (pkg/proxy/iptables/proxier.go): a rule in FERRY-SERVICES per ClusterIP
 * jumping to the policy chain (FERRY-SVC- for Cluster, FERRY-SVL- for Local), a rule in
 * FERRY-NODEPORTS jumping to FERRY-EXT-, policy chains that pick an endpoint with
 * `statistic --mode random --probability 1/(N−i)` (and `recent` for ClientIP affinity),
 * and filter-table rules that reject or drop what has no endpoint.
 *
 * Unlike kube-proxy, only endpoints that need one get a FERRY-SEP- chain: this node's own
 * (the hairpin mark: a pod's first packet to its own Service passes only its own node's
 * rules) and those of Services with ClientIP affinity (`recent` names the chain). Any other
 * endpoint is DNATed by its policy rule directly. iptables-legacy-restore's time grows
 * faster than linearly with the number of chains (13 s of CPU for 110,000 chains, 3.7 s for
 * 55,000), so chains cost more than rules.
 */
import { isIPv6 } from 'node:net';
import { base32Hash } from '../hash';
import { iptablesPodMatch } from '../pod-traffic';
import { endpointId, externalAddresses, trafficPlan, type Verdict } from '../policy';
import { assertAddress, assertRenderable } from '../state';
import type { Endpoint, PodTrafficMatch, ServicePort } from '../types';

export type IpFamily = 4 | 6;

export const CHAINS = {
  services: 'FERRY-SERVICES',
  nodePorts: 'FERRY-NODEPORTS',
  postrouting: 'FERRY-POSTROUTING',
  markMasq: 'FERRY-MARK-MASQ',
  externalServices: 'FERRY-EXTERNAL-SERVICES',
  forward: 'FERRY-FORWARD',
} as const;

/** Every per-service chain starts with one of these: what a full sync may find stale. */
export const SERVICE_CHAIN_PREFIXES = ['FERRY-SVC-', 'FERRY-SVL-', 'FERRY-EXT-', 'FERRY-SEP-'] as const;

export interface IptablesServiceRender {
  /** nat-table chains of this service port, in write order, with their rules (`-A` omitted). */
  chains: Array<{ name: string; rules: string[] }>;
  /** Rules this port adds to FERRY-SERVICES and FERRY-NODEPORTS (nat). */
  services: string[];
  nodePorts: string[];
  /** Rules this port adds to filter FERRY-SERVICES and FERRY-EXTERNAL-SERVICES. */
  filterServices: string[];
  filterExternal: string[];
  endpoints: number;
}

/** kube-proxy's portProtoHash: 16 base32 characters, so names fit iptables' 28. */
function chainName(prefix: string, ...parts: string[]): string {
  return prefix + base32Hash(parts.join(''), 16);
}

function portName(port: ServicePort): string {
  return `${port.namespace}/${port.name}:${port.portName}`;
}

export function serviceChains(port: ServicePort) {
  const id = `${portName(port)}${port.protocol.toLowerCase()}`;
  return { cluster: chainName('FERRY-SVC-', id), local: chainName('FERRY-SVL-', id), external: chainName('FERRY-EXT-', id) };
}

export function endpointChain(port: ServicePort, endpoint: Endpoint): string {
  return chainName('FERRY-SEP-', portName(port), port.protocol.toLowerCase(), endpointId(endpoint));
}

export function inFamily(port: ServicePort, family: IpFamily): ServicePort | undefined {
  const matches = (ip: string) => isIPv6(ip) === (family === 6);
  const clusterIPs = port.clusterIPs.filter(matches);
  if (clusterIPs.length === 0) return undefined;
  return {
    ...port,
    clusterIPs,
    ...(port.externalIPs ? { externalIPs: port.externalIPs.filter(matches) } : {}),
    ...(port.loadBalancerIPs ? { loadBalancerIPs: port.loadBalancerIPs.filter(matches) } : {}),
    endpoints: port.endpoints.filter((e) => matches(e.ip)),
  };
}

const comment = (text: string) => {
  // Names are DNS labels (state.ts): a quote, backslash or newline here would end the comment early.
  if (/["\\\n\r]/.test(text)) throw new Error(`iptables comment ${JSON.stringify(text)} holds a quote, backslash or line break; refusing to render it`);
  return `-m comment --comment "${text}"`;
};

/**
 * kube-proxy's "large cluster mode": past this many endpoints, per-endpoint rules carry no
 * comment. iptables-restore parses every match of every rule; at 10,000 Services × 10
 * endpoints the comments were a third of the input.
 */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

export interface RenderOptions {
  /** Comments on the per-endpoint rules (off in large clusters). */
  comments?: boolean;
  /** `--masquerade-all`: every ClusterIP connection is masqueraded. */
  masqueradeAll?: boolean;
  /** This family's pod-traffic detector (pod-traffic.ts), if any. */
  pods?: PodTrafficMatch;
}

export function renderIptablesService(whole: ServicePort, family: IpFamily, nodeIPs: readonly string[], options: RenderOptions = {}): IptablesServiceRender | undefined {
  assertRenderable(whole);
  for (const ip of nodeIPs) assertAddress('node address', ip);
  const port = inFamily(whole, family);
  if (port === undefined) return undefined;
  const plan = trafficPlan(port);
  const names = serviceChains(port);
  const proto = port.protocol.toLowerCase();
  const match = `-p ${proto} -m ${proto}`;
  const host = family === 4 ? 32 : 128;
  const name = portName(port);
  const out: IptablesServiceRender = { chains: [], services: [], nodePorts: [], filterServices: [], filterExternal: [], endpoints: plan.reachable.length };
  const withComments = options.comments ?? true;
  const endpointComment = withComments ? `${comment(name)} ` : '';
  // Hashing chain names is most of the rendering time at scale: once per endpoint that has a chain.
  const seps = new Map(plan.reachable.filter((e) => port.affinity || e.local).map((e) => [endpointId(e), endpointChain(port, e)]));
  // A policy rule's target: the endpoint's chain, or the DNAT itself.
  const sepOf = (e: Endpoint) => {
    const chain = seps.get(endpointId(e));
    return chain ? `-j ${chain}` : `${match} -j DNAT --to-destination ${endpointId(e)}`;
  };

  for (const endpoint of plan.reachable) {
    const sep = seps.get(endpointId(endpoint));
    if (sep === undefined) continue;
    const recent = port.affinity ? `-m recent --name ${sep} --set ` : '';
    out.chains.push({
      name: sep,
      rules: [`${endpointComment}-s ${endpoint.ip}/${host} -j ${CHAINS.markMasq}`, `${endpointComment}${match} ${recent}-j DNAT --to-destination ${endpointId(endpoint)}`],
    });
  }
  // kube-proxy masquerades ClusterIP traffic in the internal traffic chain, matching the
  // ClusterIP there because the cluster chain also serves external traffic.
  const internalChain = plan.internal === 'cluster' ? names.cluster : plan.internal === 'local' ? names.local : undefined;
  const masquerade = internalChain && internalMasquerade(port, name, match, host, options);
  if (plan.cluster.length > 0) out.chains.push({ name: names.cluster, rules: [...(internalChain === names.cluster && masquerade ? [masquerade] : []), ...policyRules(port, plan.cluster, sepOf, withComments)] });
  if (plan.local.length > 0) out.chains.push({ name: names.local, rules: [...(internalChain === names.local && masquerade ? [masquerade] : []), ...policyRules(port, plan.local, sepOf, withComments)] });

  for (const ip of port.clusterIPs) {
    const dest = `-d ${ip}/${host} ${match} --dport ${port.port}`;
    if (internalChain) out.services.push(`${comment(`${name} cluster IP`)} ${dest} -j ${internalChain}`);
    else out.filterServices.push(`${comment(`${name} has no ${plan.internal === 'drop' ? 'local ' : ''}endpoints`)} ${dest} ${rejectOrDrop(plan.internal, proto)}`);
  }
  if (plan.external !== undefined) {
    const addresses = externalAddresses(port);
    const lbIPs = new Set(port.loadBalancerIPs ?? []);
    const noEndpoints = `${comment(`${name} has no ${plan.external === 'drop' ? 'local ' : ''}endpoints`)}`;
    if (plan.hasEndpoints) {
      out.chains.push({ name: names.external, rules: externalRules(port, plan.external, names, options.pods) });
      if (port.nodePort !== undefined) out.nodePorts.push(`${comment(name)} ${match} --dport ${port.nodePort} -j ${names.external}`);
      for (const ip of addresses) {
        out.services.push(`${comment(`${name} ${lbIPs.has(ip) ? 'loadbalancer IP' : 'external IP'}`)} -d ${ip}/${host} ${match} --dport ${port.port} -j ${names.external}`);
      }
    }
    if (plan.external === 'reject' || plan.external === 'drop') {
      if (port.nodePort !== undefined) {
        for (const ip of nodeIPs) out.filterExternal.push(`${noEndpoints} -d ${ip}/${host} ${match} --dport ${port.nodePort} ${rejectOrDrop(plan.external, proto)}`);
      }
      // An external address may be this node's own (INPUT) or routed through it (FORWARD).
      for (const ip of addresses) {
        const rule = `${noEndpoints} -d ${ip}/${host} ${match} --dport ${port.port} ${rejectOrDrop(plan.external, proto)}`;
        out.filterExternal.push(rule);
        out.filterServices.push(rule);
      }
    }
  }
  return out;
}

/** The rule that masquerades ClusterIP traffic (all of it, or what is not from a pod), or undefined. */
function internalMasquerade(port: ServicePort, name: string, match: string, host: number, options: RenderOptions): string | undefined {
  if (!options.masqueradeAll && !options.pods) return undefined;
  const dest = `-d ${port.clusterIPs[0]}/${host} ${match} --dport ${port.port}`;
  const notPods = options.masqueradeAll ? '' : ` ${iptablesPodMatch(options.pods!, true)}`;
  return `${comment(`${name} cluster IP`)} ${dest}${notPods} -j ${CHAINS.markMasq}`;
}

function rejectOrDrop(verdict: Verdict, proto: string): string {
  if (verdict === 'drop') return '-j DROP';
  return proto === 'tcp' ? '-j REJECT --reject-with tcp-reset' : '-j REJECT';
}

/** `target`: `-j FERRY-SEP-…`, or the DNAT of an endpoint without a chain. */
function policyRules(port: ServicePort, endpoints: Endpoint[], target: (e: Endpoint) => string, withComments: boolean): string[] {
  const rules: string[] = [];
  const name = portName(port);
  const commentOf = (e: Endpoint) => (withComments ? `${comment(`${name} -> ${endpointId(e)}`)} ` : '');
  if (port.affinity) {
    for (const e of endpoints) {
      const jump = target(e);
      const sep = jump.slice('-j '.length);
      rules.push(`${commentOf(e)}-m recent --name ${sep} --rcheck --seconds ${port.affinity.timeoutSeconds} --reap ${jump}`);
    }
  }
  endpoints.forEach((e, i) => {
    const remaining = endpoints.length - i;
    const statistic = remaining > 1 ? `-m statistic --mode random --probability ${(1 / remaining).toFixed(10)} ` : '';
    rules.push(`${commentOf(e)}${statistic}${target(e)}`);
  });
  return rules;
}

function externalRules(port: ServicePort, verdict: Verdict, names: ReturnType<typeof serviceChains>, pods: PodTrafficMatch | undefined): string[] {
  const name = portName(port);
  if (!port.externalLocal) {
    return [`${comment(`masquerade traffic for ${name} external destinations`)} -j ${CHAINS.markMasq}`, `-j ${names.cluster}`];
  }
  const rules = [
    // kube-proxy: pod traffic to an external destination is subject to neither traffic
    // policy, as if it had gone out to the load balancer and come back in.
    ...(pods ? [`${comment(`pod traffic for ${name} external destinations`)} ${iptablesPodMatch(pods)} -j ${names.cluster}`] : []),
    `${comment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${CHAINS.markMasq}`,
    `${comment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${names.cluster}`,
  ];
  if (verdict === 'local') rules.push(`-j ${names.local}`);
  return rules;
}
