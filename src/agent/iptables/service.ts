/**
 * The iptables rules of one service port in one family, as kube-proxy's iptables proxier
 * writes them (pkg/proxy/iptables/proxier.go): a rule in FERRY-SERVICES per ClusterIP
 * jumping to the policy chain (FERRY-SVC- for Cluster, FERRY-SVL- for Local), a rule in
 * FERRY-NODEPORTS jumping to FERRY-EXT-, policy chains that pick a FERRY-SEP- endpoint
 * chain with `statistic --mode random --probability 1/(N−i)` (and `recent` for ClientIP
 * affinity), and filter-table rules that reject or drop what has no endpoint.
 */
import { isIPv6 } from 'node:net';
import { base32Hash } from '../hash';
import { endpointId, trafficPlan, type Verdict } from '../policy';
import type { Endpoint, ServicePort } from '../types';

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
  return clusterIPs.length === 0 ? undefined : { ...port, clusterIPs, endpoints: port.endpoints.filter((e) => matches(e.ip)) };
}

const comment = (text: string) => `-m comment --comment "${text}"`;

export function renderIptablesService(whole: ServicePort, family: IpFamily, nodeIPs: readonly string[]): IptablesServiceRender | undefined {
  const port = inFamily(whole, family);
  if (port === undefined) return undefined;
  const plan = trafficPlan(port);
  const names = serviceChains(port);
  const proto = port.protocol.toLowerCase();
  const match = `-p ${proto} -m ${proto}`;
  const host = family === 4 ? 32 : 128;
  const name = portName(port);
  const out: IptablesServiceRender = { chains: [], services: [], nodePorts: [], filterServices: [], filterExternal: [], endpoints: plan.reachable.length };

  for (const endpoint of plan.reachable) {
    const sep = endpointChain(port, endpoint);
    const recent = port.affinity ? `-m recent --name ${sep} --set ` : '';
    out.chains.push({
      name: sep,
      rules: [
        `${comment(name)} -s ${endpoint.ip}/${host} -j ${CHAINS.markMasq}`,
        `${comment(name)} ${match} ${recent}-j DNAT --to-destination ${endpointId(endpoint)}`,
      ],
    });
  }
  if (plan.cluster.length > 0) out.chains.push({ name: names.cluster, rules: policyRules(port, plan.cluster) });
  if (plan.local.length > 0) out.chains.push({ name: names.local, rules: policyRules(port, plan.local) });

  for (const ip of port.clusterIPs) {
    const dest = `-d ${ip}/${host} ${match} --dport ${port.port}`;
    const target = plan.internal === 'cluster' ? names.cluster : plan.internal === 'local' ? names.local : undefined;
    if (target) out.services.push(`${comment(`${name} cluster IP`)} ${dest} -j ${target}`);
    else out.filterServices.push(`${comment(`${name} has no ${plan.internal === 'drop' ? 'local ' : ''}endpoints`)} ${dest} ${rejectOrDrop(plan.internal, proto)}`);
  }
  if (port.nodePort !== undefined && plan.external !== undefined) {
    if (plan.hasEndpoints) {
      out.nodePorts.push(`${comment(name)} ${match} --dport ${port.nodePort} -j ${names.external}`);
      out.chains.push({ name: names.external, rules: externalRules(port, plan.external, names) });
    }
    if (plan.external === 'reject' || plan.external === 'drop') {
      for (const ip of nodeIPs) {
        out.filterExternal.push(`${comment(`${name} has no ${plan.external === 'drop' ? 'local ' : ''}endpoints`)} -d ${ip}/${host} ${match} --dport ${port.nodePort} ${rejectOrDrop(plan.external, proto)}`);
      }
    }
  }
  return out;
}

function rejectOrDrop(verdict: Verdict, proto: string): string {
  if (verdict === 'drop') return '-j DROP';
  return proto === 'tcp' ? '-j REJECT --reject-with tcp-reset' : '-j REJECT';
}

function policyRules(port: ServicePort, endpoints: Endpoint[]): string[] {
  const rules: string[] = [];
  const name = portName(port);
  if (port.affinity) {
    for (const e of endpoints) {
      const sep = endpointChain(port, e);
      rules.push(`${comment(`${name} -> ${endpointId(e)}`)} -m recent --name ${sep} --rcheck --seconds ${port.affinity.timeoutSeconds} --reap -j ${sep}`);
    }
  }
  endpoints.forEach((e, i) => {
    const remaining = endpoints.length - i;
    const statistic = remaining > 1 ? `-m statistic --mode random --probability ${(1 / remaining).toFixed(10)} ` : '';
    rules.push(`${comment(`${name} -> ${endpointId(e)}`)} ${statistic}-j ${endpointChain(port, e)}`);
  });
  return rules;
}

function externalRules(port: ServicePort, verdict: Verdict, names: ReturnType<typeof serviceChains>): string[] {
  const name = portName(port);
  if (!port.externalLocal) {
    return [`${comment(`masquerade traffic for ${name} external destinations`)} -j ${CHAINS.markMasq}`, `-j ${names.cluster}`];
  }
  const rules = [
    `${comment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${CHAINS.markMasq}`,
    `${comment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${names.cluster}`,
  ];
  if (verdict === 'local') rules.push(`-j ${names.local}`);
  return rules;
}
