/**
 * The nft rules that go with IPVS (kube-proxy's ipvs mode does this with iptables and
 * ipsets): mark NodePort traffic of externalTrafficPolicy Cluster Services and hairpin
 * traffic for masquerading, masquerade marked packets, and reject or drop packets to
 * entry points without endpoints (IPVS would silently drop them, or the host would answer
 * for a Local-policy NodePort). The table is small (elements, no per-Service chains), so
 * every sync replaces it whole in one transaction.
 */
import { isIPv6 } from 'node:net';
import { nftPodMatch } from '../pod-traffic';
import type { ProxyState } from '../types';
import type { IpvsDesired } from './render';

export const COMPANION_TABLE = 'ferry-ipvs';
const MARK = '0x00004000';

/**
 * `masquerading`: the state's `--masquerade-all` and pod-traffic detector. As kube-proxy's
 * ipvs mode does with its KUBE-CLUSTER-IP set, ClusterIP traffic is then masqueraded (all
 * of it, or what does not come from a pod). The sets and rules that only these and
 * externalIPs need are written only when used.
 */
export function renderCompanion(desired: IpvsDesired, nodeIPs: readonly string[], masquerading: Pick<ProxyState, 'podTraffic' | 'masqueradeAll'> = {}): string {
  const lines: string[] = [];
  for (const family of ['ip', 'ip6'] as const) {
    const v6 = family === 'ip6';
    const addr = v6 ? 'ipv6_addr' : 'ipv4_addr';
    const table = `${family} ${COMPANION_TABLE}`;
    const inFamily = (ip: string) => isIPv6(ip) === v6;
    const elements = (items: string[]) => (items.length === 0 ? '' : ` ; elements = { ${items.join(', ')} }`);
    // add + delete + add: replaces the table whole, atomically, whether or not it existed.
    lines.push(`add table ${table}`, `delete table ${table}`, `add table ${table} { comment "ferry node agent: IPVS companion rules (do not edit)" ; }`);
    lines.push(`add set ${table} nodeport-ips { type ${addr}${elements(nodeIPs.filter(inFamily))} ; }`);
    lines.push(`add set ${table} masquerade-nodeports { type inet_proto . inet_service${elements(desired.masqueradeNodePorts.map((p) => `${p.protocol} . ${p.port}`))} ; }`);
    lines.push(`add set ${table} hairpin { type ${addr} . ${addr}${elements(desired.endpointIPs.filter(inFamily).map((ip) => `${ip} . ${ip}`))} ; }`);
    const none = (verdict: 'reject' | 'drop') => desired.noEndpoints.filter((n) => n.verdict === verdict);
    const serviceKeys = (verdict: 'reject' | 'drop') => none(verdict).filter((n) => n.ip !== undefined && inFamily(n.ip)).map((n) => `${n.ip} . ${n.protocol} . ${n.port}`);
    const nodePortKeys = (verdict: 'reject' | 'drop') => none(verdict).filter((n) => n.ip === undefined).map((n) => `${n.protocol} . ${n.port}`);
    lines.push(`add set ${table} reject-services { type ${addr} . inet_proto . inet_service${elements(serviceKeys('reject'))} ; }`);
    lines.push(`add set ${table} drop-services { type ${addr} . inet_proto . inet_service${elements(serviceKeys('drop'))} ; }`);
    lines.push(`add set ${table} reject-nodeports { type inet_proto . inet_service${elements(nodePortKeys('reject'))} ; }`);
    lines.push(`add set ${table} drop-nodeports { type inet_proto . inet_service${elements(nodePortKeys('drop'))} ; }`);
    const mark = `meta mark set meta mark | ${MARK}`;
    const markRules = [`${family} daddr @nodeport-ips meta l4proto . th dport @masquerade-nodeports ${mark}`];
    const external = desired.masqueradeExternal.filter((e) => inFamily(e.ip)).map((e) => `${e.ip} . ${e.protocol} . ${e.port}`);
    if (external.length > 0) {
      lines.push(`add set ${table} masquerade-external { type ${addr} . inet_proto . inet_service${elements(external)} ; }`);
      markRules.push(`${family} daddr . meta l4proto . th dport @masquerade-external ${mark}`);
    }
    const pods = masquerading.podTraffic?.[v6 ? 6 : 4];
    if (masquerading.masqueradeAll || pods) {
      const cluster = desired.clusterServices.filter((c) => inFamily(c.ip)).map((c) => `${c.ip} . ${c.protocol} . ${c.port}`);
      lines.push(`add set ${table} cluster-ips { type ${addr} . inet_proto . inet_service${elements(cluster)} ; }`);
      const notPods = masquerading.masqueradeAll || !pods ? '' : `${nftPodMatch(pods, family, true)} `;
      markRules.push(`${notPods}${family} daddr . meta l4proto . th dport @cluster-ips ${mark}`);
    }
    lines.push(`add chain ${table} mark-nodeports { ${markRules.join(' ; ')} ; }`);
    lines.push(`add chain ${table} nat-prerouting { type nat hook prerouting priority -100 ; policy accept ; jump mark-nodeports ; }`);
    lines.push(`add chain ${table} nat-output { type nat hook output priority -100 ; policy accept ; jump mark-nodeports ; }`);
    lines.push(
      `add chain ${table} nat-postrouting { type nat hook postrouting priority 100 ; policy accept ; ` +
        `${family} saddr . ${family} daddr @hairpin masquerade ; meta mark & ${MARK} == ${MARK} meta mark set meta mark ^ ${MARK} masquerade fully-random ; }`,
    );
    const tuple = `${family} daddr . meta l4proto . th dport`;
    const nodePort = `${family} daddr @nodeport-ips meta l4proto . th dport`;
    lines.push(
      `add chain ${table} filter-input { type filter hook input priority -110 ; policy accept ; ` +
        `ct state new ${tuple} @drop-services drop ; ct state new ${nodePort} @drop-nodeports drop ; ` +
        `ct state new ${tuple} @reject-services meta l4proto tcp reject with tcp reset ; ct state new ${tuple} @reject-services reject ; ` +
        `ct state new ${nodePort} @reject-nodeports meta l4proto tcp reject with tcp reset ; ct state new ${nodePort} @reject-nodeports reject ; }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function companionCleanup(): string {
  return (['ip', 'ip6'] as const).map((f) => `add table ${f} ${COMPANION_TABLE}\ndelete table ${f} ${COMPANION_TABLE}\n`).join('');
}
