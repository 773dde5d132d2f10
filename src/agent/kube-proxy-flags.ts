/**
 * kube-proxy's command line beyond the flags the agent takes as aliases (options.ts): the
 * flags it accepts and does not use, each named in one warning, the flags it refuses
 * because ignoring them would do something else than asked, and the feature gates it knows.
 * A DaemonSet written for kube-proxy keeps working; nothing it asks for is dropped silently.
 */

/** Accepted and not used. `value`: commander's spelling of its argument; `equivalent`: values that are what ferry does anyway (no warning). */
export interface IgnoredFlag {
  flag: string;
  value: '<value>' | '[bool]';
  why: string;
  equivalent?: readonly string[];
}

export const IGNORED_KUBE_PROXY_FLAGS: readonly IgnoredFlag[] = [
  { flag: '--bind-address-hard-fail', value: '[bool]', why: 'the agent always exits when it cannot bind its health or metrics port', equivalent: ['true'] },
  { flag: '--config-sync-period', value: '<value>', why: 'the agent watches without relisting on a timer' },
  { flag: '--iptables-masquerade-bit', value: '<value>', why: 'the agent always marks with bit 14 (0x4000)', equivalent: ['14'] },
  { flag: '--iptables-localhost-nodeports', value: '[bool]', why: 'the agent never serves NodePorts on 127.0.0.1', equivalent: ['false'] },
  { flag: '--ipvs-exclude-cidrs', value: '<value>', why: 'the agent removes only virtual servers on its own addresses' },
  { flag: '--ipvs-strict-arp', value: '[bool]', why: 'the agent always sets strict ARP in ipvs mode', equivalent: ['true'] },
  { flag: '--ipvs-tcp-timeout', value: '<value>', why: 'the agent leaves the IPVS timeouts as they are', equivalent: ['0', '0s'] },
  { flag: '--ipvs-tcpfin-timeout', value: '<value>', why: 'the agent leaves the IPVS timeouts as they are', equivalent: ['0', '0s'] },
  { flag: '--ipvs-udp-timeout', value: '<value>', why: 'the agent leaves the IPVS timeouts as they are', equivalent: ['0', '0s'] },
  { flag: '--kube-api-burst', value: '<value>', why: 'the agent lists once and then watches: it has no client-side rate limit' },
  { flag: '--kube-api-qps', value: '<value>', why: 'the agent lists once and then watches: it has no client-side rate limit' },
  { flag: '--kube-api-content-type', value: '<value>', why: 'the agent asks the API server for JSON' },
  { flag: '--master', value: '<value>', why: "the API server is the kubeconfig's (--kubeconfig, $KUBECONFIG or in-cluster)" },
  { flag: '--oom-score-adj', value: '<value>', why: "set the agent's oom_score_adj in its Pod spec" },
  { flag: '--profiling', value: '[bool]', why: 'the agent serves no /debug/pprof', equivalent: ['false'] },
  { flag: '--show-hidden-metrics-for-version', value: '<value>', why: 'the agent hides no metrics' },
  { flag: '--healthz-port', value: '<value>', why: 'deprecated in kube-proxy; use --healthz-bind-address' },
  { flag: '--metrics-port', value: '<value>', why: 'deprecated in kube-proxy; use --metrics-bind-address' },
  { flag: '--logging-format', value: '<value>', why: 'the agent logs JSON lines', equivalent: ['json'] },
  { flag: '--vmodule', value: '<value>', why: 'the agent has one log level' },
  { flag: '--log-flush-frequency', value: '<value>', why: 'the agent writes each log line at once' },
];

/** Refused: kube-proxy exits after doing something the agent does not do; running on would be wrong. */
export const REFUSED_KUBE_PROXY_FLAGS: ReadonlyArray<{ flag: string; why: string }> = [
  { flag: '--init-only', why: 'the agent has no separate privileged initialisation (run it with NET_ADMIN, as kube-proxy after --init-only)' },
  { flag: '--write-config-to', why: 'the agent does not write configuration files; its effective options are logged at start' },
];

/**
 * Feature gates the agent knows. `honoured`: the agent follows the gate's value (default
 * as in kube-proxy); `always`: the feature is always on in the agent, so `false` is not
 * honoured (and warned about). Any other gate is named in a warning.
 */
export const KNOWN_FEATURE_GATES: Record<string, 'honoured' | 'always'> = {
  // hints.forNodes (trafficDistribution: PreferSameNode); on by default since Kubernetes 1.34.
  PreferSameTrafficDistribution: 'honoured',
  ServiceTrafficDistribution: 'always',
  TopologyAwareHints: 'always',
  LoadBalancerIPMode: 'always',
  NFTablesProxyMode: 'always',
  KubeProxyDrainingTerminatingNodes: 'always',
};

/** The warnings a set of feature gates deserves: unknown gates, and `always` gates turned off. */
export function featureGateWarnings(gates: Readonly<Record<string, boolean>>, source: string): string[] {
  const out: string[] = [];
  for (const [gate, on] of Object.entries(gates)) {
    const known = KNOWN_FEATURE_GATES[gate];
    if (known === undefined) out.push(`${source}: feature gate ${JSON.stringify(gate)} is not one the agent knows; ignored`);
    else if (known === 'always' && !on) out.push(`${source}: feature gate ${gate}=false is not honoured: the agent always has this feature`);
  }
  return out;
}
