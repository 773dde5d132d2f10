/**
 * The ipvs mode's desired kernel state, pure: IPVS virtual servers (one per ClusterIP and
 * per node address for each NodePort, as kube-proxy's ipvs proxier makes them), their real
 * servers, the ClusterIPs to bind on the dummy interface, and the `ipvsadm-restore` input
 * that turns the current table (`ipvsadm -Sn`) into the desired one without touching
 * virtual servers that stay the same (established connections keep their real server).
 */
import { isIPv6 } from 'node:net';
import { externalAddresses, trafficPlan, type Verdict } from '../policy';
import { assertAddress, assertRenderable } from '../state';
import type { Endpoint, ProxyState, Scheduler } from '../types';

export const DUMMY_INTERFACE = 'ferry-ipvs0';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

export interface VirtualServer {
  protocol: IpvsProtocol;
  /** `ip:port` / `[ip6]:port`. */
  address: string;
  scheduler: Scheduler;
  /** Persistence (ClientIP affinity) in seconds. */
  persistence: number | undefined;
  /** Real servers as `ip:port`, sorted. */
  reals: string[];
}

export interface IpvsDesired {
  virtualServers: VirtualServer[];
  /**
   * ClusterIPs, externalIPs and load balancer IPs bound to the dummy interface so IPVS sees
   * their packets on INPUT (kube-proxy binds them to kube-ipvs0; `ipMode: Proxy` IPs are not
   * in the state, so they are never bound: KEP-1860's reason for the field).
   */
  boundAddresses: string[];
  /** Entry points with no usable endpoint, for the companion nft rules: reject or drop. */
  noEndpoints: Array<{ protocol: IpvsProtocol; ip: string | undefined; port: number; verdict: 'reject' | 'drop' }>;
  /** NodePorts whose traffic is masqueraded (externalTrafficPolicy Cluster). */
  masqueradeNodePorts: Array<{ protocol: IpvsProtocol; port: number }>;
  /** externalIPs and load balancer IPs whose traffic is masqueraded (externalTrafficPolicy Cluster). */
  masqueradeExternal: Array<{ protocol: IpvsProtocol; ip: string; port: number }>;
  /** ClusterIP virtual services, for `--masquerade-all` and the pod-traffic detector's masquerade. */
  clusterServices: Array<{ protocol: IpvsProtocol; ip: string; port: number }>;
  /** Endpoint addresses, for hairpin masquerading. */
  endpointIPs: string[];
}

const hostPort = (ip: string, port: number) => (isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

export function renderIpvs(state: ProxyState, defaultScheduler: Scheduler): IpvsDesired {
  const out: IpvsDesired = { virtualServers: [], boundAddresses: [], noEndpoints: [], masqueradeNodePorts: [], masqueradeExternal: [], clusterServices: [], endpointIPs: [] };
  const bound = new Set<string>();
  const endpointIPs = new Set<string>();
  for (const ip of state.nodeIPs) assertAddress('node address', ip);
  for (const port of state.services.values()) {
    assertRenderable(port);
    const plan = trafficPlan(port);
    const protocol = port.protocol.toLowerCase() as IpvsProtocol;
    const base = { protocol, scheduler: port.scheduler ?? defaultScheduler, persistence: port.affinity?.timeoutSeconds } as const;
    const reals = (verdict: Verdict, family: boolean): string[] => {
      const endpoints: Endpoint[] = verdict === 'cluster' ? plan.cluster : verdict === 'local' ? plan.local : [];
      return endpoints.filter((e) => isIPv6(e.ip) === family).map((e) => hostPort(e.ip, e.port)).sort();
    };
    for (const e of plan.reachable) endpointIPs.add(e.ip);
    for (const ip of port.clusterIPs) {
      bound.add(ip);
      if (plan.internal === 'reject' || plan.internal === 'drop') out.noEndpoints.push({ protocol, ip, port: port.port, verdict: plan.internal });
      else {
        out.virtualServers.push({ ...base, address: hostPort(ip, port.port), reals: reals(plan.internal, isIPv6(ip)) });
        out.clusterServices.push({ protocol, ip, port: port.port });
      }
    }
    if (plan.external === undefined) continue;
    const external = plan.external;
    for (const ip of externalAddresses(port)) {
      bound.add(ip);
      if (external === 'reject' || external === 'drop') out.noEndpoints.push({ protocol, ip, port: port.port, verdict: external });
      else {
        out.virtualServers.push({ ...base, address: hostPort(ip, port.port), reals: reals(external, isIPv6(ip)) });
        if (external === 'cluster') out.masqueradeExternal.push({ protocol, ip, port: port.port });
      }
    }
    if (port.nodePort === undefined) continue;
    if (external === 'reject' || external === 'drop') {
      out.noEndpoints.push({ protocol, ip: undefined, port: port.nodePort, verdict: external });
      continue;
    }
    if (external === 'cluster') out.masqueradeNodePorts.push({ protocol, port: port.nodePort });
    for (const ip of state.nodeIPs) {
      out.virtualServers.push({ ...base, address: hostPort(ip, port.nodePort), reals: reals(external, isIPv6(ip)) });
    }
  }
  out.virtualServers.sort((a, b) => (a.protocol + a.address < b.protocol + b.address ? -1 : 1));
  out.boundAddresses = [...bound].sort();
  out.endpointIPs = [...endpointIPs].sort();
  return out;
}

/** ipvsadm's service flags: `-t`, `-u`, and SCTP's long one (it has no short form). */
const FLAG_OF_PROTOCOL: Record<IpvsProtocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
const PROTOCOL_OF_FLAG: Record<string, IpvsProtocol> = { '-t': 'tcp', '--tcp-service': 'tcp', '-u': 'udp', '--udp-service': 'udp', '--sctp-service': 'sctp' };

/** Parses `ipvsadm -Sn` (the format `ipvsadm-restore` reads). */
export function parseIpvsSave(text: string): VirtualServer[] {
  const byKey = new Map<string, VirtualServer>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const protoFlag = words.find((w) => w in PROTOCOL_OF_FLAG);
    const address = protoFlag ? words[words.indexOf(protoFlag) + 1] : undefined;
    if (!protoFlag || !address) continue;
    const protocol = PROTOCOL_OF_FLAG[protoFlag]!;
    const key = `${protocol} ${address}`;
    if (words[0] === '-A') {
      const scheduler = (valueAfter(words, '-s') ?? 'wlc') as Scheduler;
      const persistence = words.includes('-p') ? Number(valueAfter(words, '-p') ?? 300) : undefined;
      byKey.set(key, { protocol, address, scheduler, persistence, reals: [] });
    } else if (words[0] === '-a') {
      const real = valueAfter(words, '-r');
      if (real) byKey.get(key)?.reals.push(real);
    }
  }
  for (const vs of byKey.values()) vs.reals.sort();
  return [...byKey.values()];
}

function valueAfter(words: string[], flag: string): string | undefined {
  const i = words.indexOf(flag);
  return i >= 0 ? words[i + 1] : undefined;
}

/**
 * `ipvsadm-restore` input that makes `current` (restricted to virtual servers ferry owns)
 * equal `desired`: deletes what goes, edits a changed scheduler or persistence in place,
 * adds what is new, and adds or removes real servers one by one.
 */
export function ipvsRestoreInput(current: readonly VirtualServer[], desired: readonly VirtualServer[]): string {
  const lines: string[] = [];
  const flag = (vs: VirtualServer) => `${FLAG_OF_PROTOCOL[vs.protocol]} ${vs.address}`;
  const service = (vs: VirtualServer) => `${flag(vs)} -s ${vs.scheduler}${vs.persistence === undefined ? '' : ` -p ${vs.persistence}`}`;
  const key = (vs: VirtualServer) => `${vs.protocol} ${vs.address}`;
  const now = new Map(current.map((vs) => [key(vs), vs]));
  const want = new Map(desired.map((vs) => [key(vs), vs]));
  for (const [k, vs] of now) if (!want.has(k)) lines.push(`-D ${flag(vs)}`);
  for (const [k, vs] of want) {
    const old = now.get(k);
    if (!old) lines.push(`-A ${service(vs)}`);
    else if (old.scheduler !== vs.scheduler || old.persistence !== vs.persistence) lines.push(`-E ${service(vs)}`);
    const had = new Set(old?.reals ?? []);
    const has = new Set(vs.reals);
    for (const real of had) if (!has.has(real)) lines.push(`-d ${flag(vs)} -r ${real}`);
    // -m: masquerading (NAT), the only forwarding method that reaches pods on other nodes.
    for (const real of has) if (!had.has(real)) lines.push(`-a ${flag(vs)} -r ${real} -m -w 1`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
