/**
 * kube-proxy's local traffic detector (pkg/proxy/util/localdetector.go), per family: which
 * packets come from pods. `--detect-local-mode` picks how, and the agent derives one
 * {@link PodTrafficMatch} per family from the options and its Node (detectorOf); each mode
 * renders it in its own syntax here.
 *
 * What the modes do with it, as kube-proxy does (pkg/proxy/nftables/proxier.go):
 * - ClusterIP traffic that is *not* from a pod is masqueraded ("you can establish a static
 *   route for your Service range, routing to any node, and that node will bridge into the
 *   Service for you; since that might bounce off-node, we masquerade");
 * - traffic *from* a pod to a NodePort, externalIP or load balancer IP of an
 *   externalTrafficPolicy Local Service is sent to any endpoint, as if it had gone out to the
 *   load balancer and come back ("short-circuit pod traffic").
 * Without a detector for a family neither happens, as in kube-proxy's no-op detector.
 */
import { isIPv6 } from 'node:net';
import { base32Hash } from './hash';
import type { PodTrafficMatch, ProxyState } from './types';

export const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
export type DetectLocalMode = (typeof DETECT_LOCAL_MODES)[number];

export interface DetectorOptions {
  /** `--detect-local-mode`; undefined: ClusterCIDR when `--cluster-cidr` is given (kube-proxy's default), else none. */
  mode: DetectLocalMode | undefined;
  clusterCIDRs: readonly string[];
  bridgeInterface: string | undefined;
  interfaceNamePrefix: string | undefined;
}

/** An interface name as the kernel allows it (IFNAMSIZ 16 with the NUL), and safe inside quotes in a rule. */
export const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/**
 * The detector of each family. `podCIDRs` are the Node's `spec.podCIDRs` (NodeCIDR mode).
 * A family without a CIDR of its own gets no detector (kube-proxy's no-op one).
 */
export function detectorOf(options: DetectorOptions, podCIDRs: readonly string[]): NonNullable<ProxyState['podTraffic']> | undefined {
  const mode = options.mode ?? (options.clusterCIDRs.length > 0 ? 'ClusterCIDR' : undefined);
  const byFamily = (cidrs: readonly string[]) => {
    const out: NonNullable<ProxyState['podTraffic']> = {};
    for (const family of [4, 6] as const) {
      // One per family: kube-proxy's validation allows a dual-stack pair at most.
      const mine = cidrs.find((c) => (isIPv6(c.split('/')[0]!) ? 6 : 4) === family);
      if (mine !== undefined) out[family] = { kind: 'cidr', cidr: mine };
    }
    return out[4] || out[6] ? out : undefined;
  };
  switch (mode) {
    case undefined:
      return undefined;
    case 'ClusterCIDR':
      return byFamily(options.clusterCIDRs);
    case 'NodeCIDR':
      return byFamily(podCIDRs);
    case 'BridgeInterface':
      return options.bridgeInterface ? { 4: { kind: 'interface', name: options.bridgeInterface }, 6: { kind: 'interface', name: options.bridgeInterface } } : undefined;
    case 'InterfaceNamePrefix':
      return options.interfaceNamePrefix
        ? { 4: { kind: 'interfacePrefix', prefix: options.interfaceNamePrefix }, 6: { kind: 'interfacePrefix', prefix: options.interfaceNamePrefix } }
        : undefined;
  }
}

/** A match's CIDRs and names, checked again before they are written into a rule. */
function assertSafe(match: PodTrafficMatch): void {
  const ok =
    match.kind === 'cidr'
      ? /^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(match.cidr)
      : INTERFACE_NAME.test(match.kind === 'interface' ? match.name : match.prefix);
  if (!ok) throw new Error(`pod traffic match ${JSON.stringify(match)} is invalid; refusing to render it`);
}

/** The nft match for pod traffic (`negate`: for traffic from anywhere else). */
export function nftPodMatch(match: PodTrafficMatch, family: 'ip' | 'ip6', negate = false): string {
  assertSafe(match);
  const op = negate ? '!= ' : '';
  switch (match.kind) {
    case 'cidr':
      return `${family} saddr ${op}${match.cidr}`;
    case 'interface':
      return `iifname ${op}"${match.name}"`;
    case 'interfacePrefix':
      return `iifname ${op}"${match.prefix}*"`;
  }
}

/** The iptables arguments for pod traffic (`negate`: from anywhere else), as kube-proxy's detector writes them. */
export function iptablesPodMatch(match: PodTrafficMatch, negate = false): string {
  assertSafe(match);
  const not = negate ? '! ' : '';
  switch (match.kind) {
    case 'cidr':
      return `${not}-s ${match.cidr}`;
    case 'interface':
      return `${not}-i ${match.name}`;
    case 'interfacePrefix':
      return `${not}-i ${match.prefix}+`;
  }
}

/**
 * A short, stable tag for a detector, for names that must say what their rules hold
 * (nftables' content-addressed shared chains).
 */
export function podMatchTag(match: PodTrafficMatch): string {
  return base32Hash(JSON.stringify(match), 6);
}
