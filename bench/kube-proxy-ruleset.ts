/**
 * The ruleset kube-proxy's nftables mode writes, at scale, for comparison with ferry's.
 * The shape is the expected output of kube-proxy's own tests (pkg/proxy/nftables/
 * proxier_test.go, `baseRules` and TestOverallNFTablesRules): one `service-` chain per
 * service port with a masquerade rule and a `numgen random mod N vmap { … }` over
 * `endpoint-` chains, one chain per endpoint (hairpin mark, DNAT), an `external-` chain per
 * NodePort, and the `cluster-ips` / `service-ips` / `service-nodeports` elements, written
 * as knftables writes them (`add rule`, `add element`). This file generates that text; it
 * contains no kube-proxy code.
 */
import { base32Hash } from '../src/agent/hash';
import type { ServicePort } from '../src/agent/types';

const TABLE = 'ip kube-proxy';
/** kube-proxy's tests' pod CIDR: traffic from outside it to a ClusterIP is masqueraded. */
const POD_CIDR = '10.0.0.0/8';
const SERVICE_CIDR = '10.96.0.0/12';

function chainBase(port: ServicePort): string {
  const base = `${port.namespace}/${port.name}/${port.protocol.toLowerCase()}/${port.portName}`;
  return `${base32Hash(base, 8)}-${base}`;
}

function endpointChain(port: ServicePort, ip: string, targetPort: number): string {
  const base = `${port.namespace}/${port.name}/${port.protocol.toLowerCase()}/${port.portName}__${ip}/${targetPort}`;
  return `endpoint-${base32Hash(base, 8)}-${base}`;
}

/** The fixed part (kube-proxy's `baseRules`). */
export function kubeProxyBase(nodeIP: string): string[] {
  return [
    `add table ${TABLE} { comment "rules for kube-proxy" ; }`,
    `add set ${TABLE} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${TABLE} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${TABLE} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${TABLE} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${TABLE} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${TABLE} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${TABLE} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add chain ${TABLE} cluster-ips-check`,
    `add chain ${TABLE} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${TABLE} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${TABLE} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${TABLE} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${TABLE} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${TABLE} firewall-check`,
    `add chain ${TABLE} mark-for-masquerade`,
    `add chain ${TABLE} masquerading`,
    `add chain ${TABLE} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${TABLE} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${TABLE} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${TABLE} nodeport-endpoints-check`,
    `add chain ${TABLE} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${TABLE} services`,
    `add chain ${TABLE} service-endpoints-check`,
    `add rule ${TABLE} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${TABLE} cluster-ips-check ip daddr { ${SERVICE_CIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add rule ${TABLE} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${TABLE} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${TABLE} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${TABLE} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${TABLE} filter-input ct state new jump service-endpoints-check`,
    `add rule ${TABLE} filter-output ct state new jump service-endpoints-check`,
    `add rule ${TABLE} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${TABLE} filter-output ct state new jump cluster-ips-check`,
    `add rule ${TABLE} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${TABLE} mark-for-masquerade mark set mark or 0x4000`,
    `add rule ${TABLE} masquerading mark and 0x4000 == 0 return`,
    `add rule ${TABLE} masquerading mark set mark xor 0x4000`,
    `add rule ${TABLE} masquerading masquerade fully-random`,
    `add rule ${TABLE} nat-output jump services`,
    `add rule ${TABLE} nat-postrouting jump masquerading`,
    `add rule ${TABLE} nat-prerouting jump services`,
    `add rule ${TABLE} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${TABLE} reject-chain reject`,
    `add rule ${TABLE} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${TABLE} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    `add element ${TABLE} nodeport-ips { ${nodeIP} }`,
    `add rule ${TABLE} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  ];
}

/**
 * One service port's chains, rules and elements, as kube-proxy writes them for a
 * ClusterIP (or NodePort, externalTrafficPolicy Cluster) Service with ready endpoints.
 * `flush`: the chains exist already (a full resync or a partial sync rewrites them).
 */
export function kubeProxyService(port: ServicePort, options: { flush: boolean; elements: boolean }): string[] {
  const lines: string[] = [];
  const base = chainBase(port);
  const service = `service-${base}`;
  const external = `external-${base}`;
  const proto = port.protocol.toLowerCase();
  const ip = port.clusterIPs[0]!;
  const endpoints = port.endpoints.filter((e) => e.ready);
  const declare = (chain: string) => lines.push(options.flush ? `flush chain ${TABLE} ${chain}` : `add chain ${TABLE} ${chain}`);
  // Endpoint chains first: the service chain's vmap jumps to them.
  for (const e of endpoints) {
    const chain = endpointChain(port, e.ip, e.port);
    declare(chain);
    lines.push(`add rule ${TABLE} ${chain} ip saddr ${e.ip} jump mark-for-masquerade`, `add rule ${TABLE} ${chain} meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
  }
  declare(service);
  lines.push(`add rule ${TABLE} ${service} ip daddr ${ip} ${proto} dport ${port.port} ip saddr != ${POD_CIDR} jump mark-for-masquerade`);
  const vmap = endpoints.map((e, i) => `${i} : goto ${endpointChain(port, e.ip, e.port)}`).join(' , ');
  lines.push(`add rule ${TABLE} ${service} numgen random mod ${endpoints.length} vmap { ${vmap} }`);
  if (port.nodePort !== undefined) {
    declare(external);
    lines.push(`add rule ${TABLE} ${external} jump mark-for-masquerade`, `add rule ${TABLE} ${external} goto ${service}`);
  }
  if (options.elements) {
    lines.push(`add element ${TABLE} cluster-ips { ${ip} }`, `add element ${TABLE} service-ips { ${ip} . ${proto} . ${port.port} : goto ${service} }`);
    if (port.nodePort !== undefined) lines.push(`add element ${TABLE} service-nodeports { ${proto} . ${port.nodePort} : goto ${external} }`);
  }
  return lines;
}

/** A cold start: the whole ruleset in one transaction. */
export function kubeProxyCold(ports: Iterable<ServicePort>, nodeIP: string): string {
  const lines = kubeProxyBase(nodeIP);
  for (const port of ports) lines.push(...kubeProxyService(port, { flush: false, elements: true }));
  return `${lines.join('\n')}\n`;
}

/**
 * A full resync (kube-proxy after a restart, and its periodic full sync): every chain
 * flushed and refilled, the maps flushed and refilled, in one transaction.
 */
export function kubeProxyResync(ports: Iterable<ServicePort>, nodeIP: string): string {
  const lines = kubeProxyBase(nodeIP).filter((l) => !l.startsWith('add rule') && !l.startsWith('add element'));
  for (const chain of ['cluster-ips-check', 'filter-prerouting-pre-dnat', 'filter-output-pre-dnat', 'filter-forward', 'filter-input', 'filter-output', 'firewall-check', 'mark-for-masquerade', 'masquerading', 'nat-output', 'nat-postrouting', 'nat-prerouting', 'nodeport-endpoints-check', 'reject-chain', 'services', 'service-endpoints-check']) {
    lines.push(`flush chain ${TABLE} ${chain}`);
  }
  for (const set of ['set cluster-ips', 'set nodeport-ips', 'map firewall-ips', 'map no-endpoint-nodeports', 'map no-endpoint-services', 'map service-ips', 'map service-nodeports']) lines.push(`flush ${set.replace(' ', ` ${TABLE} `)}`);
  lines.push(...kubeProxyBase(nodeIP).filter((l) => l.startsWith('add rule') || l.startsWith('add element')));
  for (const port of ports) lines.push(...kubeProxyService(port, { flush: true, elements: true }));
  return `${lines.join('\n')}\n`;
}

/**
 * A partial sync of one service port whose endpoints were replaced: its chains rewritten,
 * the new endpoint chains created, the old ones flushed (kube-proxy deletes stale chains a
 * second later, in a later sync).
 */
export function kubeProxyOneChange(before: ServicePort, after: ServicePort): string {
  const lines: string[] = [];
  const base = chainBase(after);
  const old = new Set(before.endpoints.map((e) => endpointChain(before, e.ip, e.port)));
  const next = after.endpoints.map((e) => endpointChain(after, e.ip, e.port));
  for (const chain of next) if (!old.has(chain)) lines.push(`add chain ${TABLE} ${chain}`);
  lines.push(...kubeProxyService(after, { flush: true, elements: false }).filter((l) => !l.startsWith(`add chain`)));
  for (const chain of old) if (!next.includes(chain)) lines.push(`flush chain ${TABLE} ${chain}`);
  lines.push(`add element ${TABLE} service-ips { ${after.clusterIPs[0]} . ${after.protocol.toLowerCase()} . ${after.port} : goto service-${base} }`);
  return `${lines.join('\n')}\n`;
}
