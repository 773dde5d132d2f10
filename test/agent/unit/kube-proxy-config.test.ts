/**
 * `ferry agent` as a drop-in for kube-proxy: its configuration file (--config) and its
 * flags. What the agent takes, what it names in a warning, what it refuses, and which
 * source wins.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kubeProxyConfigOf, readKubeProxyConfig } from '../../../src/agent/kube-proxy-config';
import { networkOf, resolveArgv } from '../../../src/agent/options';
import { ConfigError } from '../../../src/errors';

const KUBEADM = resolve(__dirname, '../fixtures/kubeadm-kube-proxy-config.yaml');
const dir = mkdtempSync(join(tmpdir(), 'ferry-kube-proxy-config-'));
let files = 0;
/** A config file with these lines after apiVersion and kind. */
function file(body: string, head = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n'): string {
  const path = join(dir, `config-${files++}.yaml`);
  writeFileSync(path, head + body);
  return path;
}
const resolveWith = (...argv: string[]) => resolveArgv(['--node-name', 'node-1', ...argv], {});
const refusal = (...argv: string[]) => {
  try {
    resolveWith(...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe("kubeadm's KubeProxyConfiguration (test/agent/fixtures/kubeadm-kube-proxy-config.yaml)", () => {
  const { options, warnings, sources } = resolveWith('--config', KUBEADM);

  test('effective options: the kubeconfig and the cluster CIDR are taken; every zero, null or empty field keeps the agent default', () => {
    expect(options).toMatchObject({
      mode: 'nftables',
      kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
      clusterCIDRs: ['10.244.0.0/16'],
      detectLocalMode: undefined,
      healthzBind: '0.0.0.0:10256',
      metricsBind: '0.0.0.0:10249',
      syncPeriodMs: 30_000,
      minSyncIntervalMs: 1000,
      nodePortAddresses: [],
      bindAddress: undefined,
      masqueradeAll: false,
      conntrackMaxPerCore: undefined,
      conntrackTcpEstablishedTimeoutMs: undefined,
      featureGates: {},
    });
    expect(sources).toMatchObject({ kubeconfig: `--config ${JSON.stringify(KUBEADM)}: clientConnection.kubeconfig`, clusterCIDRs: `--config ${JSON.stringify(KUBEADM)}: clusterCIDR`, mode: 'default' });
  });

  test('one warning: its empty mode means iptables to kube-proxy; nothing else it sets is ignored', () => {
    expect(warnings).toEqual([`--config ${JSON.stringify(KUBEADM)}: mode "" means kube-proxy's default (iptables); the agent uses its own default (nftables) unless --mode or mode says otherwise`]);
  });

  test('as kubeadm runs it (--config … --hostname-override=$(NODE_NAME)): the hostname override is the node name', () => {
    expect(resolveArgv(['--config', KUBEADM, '--hostname-override', 'Worker-1 '], {}).options.nodeName).toBe('worker-1');
  });
});

describe('every supported field', () => {
  const path = file(`mode: iptables
hostnameOverride: Node-7
bindAddress: 10.0.0.7
healthzBindAddress: 0.0.0.0
metricsBindAddress: "[::]:10250"
clientConnection:
  kubeconfig: /etc/kp/kubeconfig
iptables:
  syncPeriod: 1m0s
  minSyncPeriod: 2s
  masqueradeAll: true
ipvs:
  scheduler: sh
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
detectLocalMode: ClusterCIDR
nodePortAddresses: [10.0.0.0/8]
conntrack:
  maxPerCore: 65536
  min: 262144
  tcpEstablishedTimeout: 24h0m0s
  tcpCloseWaitTimeout: 1h0m0s
  tcpBeLiberal: true
  udpTimeout: 30s
  udpStreamTimeout: 5m0s
featureGates:
  PreferSameTrafficDistribution: false
logging:
  verbosity: 4
`);

  test('each is taken, and its source named', () => {
    const { options, warnings, sources } = resolveArgv(['--config', path], {});
    expect(options).toEqual({
      mode: 'iptables', nodeName: 'node-7', kubeconfig: '/etc/kp/kubeconfig', config: path, scheduler: 'sh',
      healthzBind: '0.0.0.0:10256', metricsBind: '[::]:10250', syncPeriodMs: 60_000, minSyncIntervalMs: 2000,
      nodePortAddresses: ['10.0.0.0/8'], bindAddress: '10.0.0.7', iptablesBackend: 'auto',
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244:0:0:0:0:0/56'], detectLocalMode: 'ClusterCIDR', bridgeInterface: undefined, interfaceNamePrefix: undefined,
      masqueradeAll: true, conntrackMaxPerCore: 65536, conntrackMin: 262144, conntrackTcpEstablishedTimeoutMs: 86_400_000,
      conntrackTcpCloseWaitTimeoutMs: 3_600_000, conntrackTcpBeLiberal: true, conntrackUdpTimeoutMs: 30_000, conntrackUdpStreamTimeoutMs: 300_000,
      featureGates: { PreferSameTrafficDistribution: false }, verbosity: 4, cleanup: false,
    });
    expect(warnings).toEqual([]);
    expect(sources.syncPeriodMs).toBe(`--config ${JSON.stringify(path)}: iptables.syncPeriod`);
  });

  test('a flag given wins over the file, and a warning says kube-proxy would not let it', () => {
    const { options, warnings } = resolveArgv(['--config', path, '--proxy-mode', 'nftables', '--sync-period', '10s'], {});
    expect([options.mode, options.syncPeriodMs]).toEqual(['nftables', 10_000]);
    expect(warnings).toEqual([
      `--proxy-mode "nftables" wins over --config ${JSON.stringify(path)}: mode "iptables" (kube-proxy would ignore the flag)`,
      `--sync-period "10s" wins over --config ${JSON.stringify(path)}: iptables.syncPeriod "1m0s" (kube-proxy would ignore the flag)`,
    ]);
  });

  test("the file wins over the environment (NODE_NAME); a flag over both", () => {
    expect(resolveArgv(['--config', path], { NODE_NAME: 'from-env' }).options.nodeName).toBe('node-7');
    expect(resolveArgv(['--config', path, '--node-name', 'from-flag'], { NODE_NAME: 'from-env' }).options.nodeName).toBe('from-flag');
  });
});

describe('sections and modes, as kube-proxy converts v1alpha1', () => {
  test("the sync periods and masqueradeAll come from the file's mode's section; other sections' values are named as not used", () => {
    const path = file('mode: ipvs\niptables:\n  syncPeriod: 30s\n  masqueradeAll: true\nipvs:\n  syncPeriod: 20s\n  minSyncPeriod: 3s\n');
    const { options, warnings } = resolveArgv(['--config', path, '--node-name', 'n'], {});
    expect([options.syncPeriodMs, options.minSyncIntervalMs, options.masqueradeAll]).toEqual([20_000, 3000, false]);
    expect(warnings).toEqual([
      `--config ${JSON.stringify(path)}: iptables.syncPeriod "30s" is not used: mode "ipvs" reads ipvs.syncPeriod, as kube-proxy does`,
      `--config ${JSON.stringify(path)}: iptables.masqueradeAll true is not used: mode "ipvs" reads ipvs.masqueradeAll, as kube-proxy does`,
    ]);
  });

  test('--ipvs-sync-period counts only in ipvs mode; --iptables-sync-period in the others', () => {
    expect(resolveWith('--mode', 'ipvs', '--ipvs-sync-period', '5s').options.syncPeriodMs).toBe(5000);
    const other = resolveWith('--ipvs-sync-period', '5s', '--iptables-sync-period', '7s');
    expect(other.options.syncPeriodMs).toBe(7000);
    expect(other.warnings).toEqual(['--ipvs-sync-period "5s" is not used: it applies in ipvs mode, and the agent runs in nftables mode (as kube-proxy)']);
  });
});

describe('fields the agent does not implement', () => {
  test('each named once with its value, unless zero or kube-proxy\'s default; fields outside the schema too', () => {
    const path = file(`enableProfiling: true
oomScoreAdj: -500
clientConnection:
  qps: 5
  burst: 50
iptables:
  masqueradeBit: 15
  localhostNodePorts: true
ipvs:
  strictARP: true
winkernel:
  enableDSR: true
udpIdleTimeout: 250ms
conntrack:
  max: 0
`);
    const { warnings } = resolveWith('--config', path);
    const at = `--config ${JSON.stringify(path)}`;
    expect(warnings).toEqual([
      `${at}: enableProfiling true is not used: the agent serves no /debug/pprof`,
      `${at}: oomScoreAdj -500 is not used: set the agent's oom_score_adj in its Pod spec`,
      `${at}: clientConnection.burst 50 is not used: the agent lists once and then watches: it has no client-side rate limit`,
      `${at}: iptables.masqueradeBit 15 is not used: the agent always marks with bit 14 (0x4000)`,
      `${at}: iptables.localhostNodePorts true is not used: the agent never serves NodePorts on 127.0.0.1`,
      `${at}: winkernel.enableDSR true is not used: Windows (winkernel) only`,
      `${at}: udpIdleTimeout "250ms" is not a field of KubeProxyConfiguration kubeproxy.config.k8s.io/v1alpha1; ignored`,
      `${at}: conntrack.max 0 is not a field of KubeProxyConfiguration kubeproxy.config.k8s.io/v1alpha1; ignored`,
    ]);
  });

  test('feature gates: unknown ones and known ones the agent always has, turned off, are named', () => {
    const { warnings, options } = resolveWith('--feature-gates', 'PreferSameTrafficDistribution=false,TopologyAwareHints=false,MadeUpGate=true');
    expect(options.featureGates).toEqual({ PreferSameTrafficDistribution: false, TopologyAwareHints: false, MadeUpGate: true });
    expect(warnings).toEqual([
      '--feature-gates: feature gate TopologyAwareHints=false is not honoured: the agent always has this feature',
      '--feature-gates: feature gate "MadeUpGate" is not one the agent knows; ignored',
    ]);
  });

  test("kube-proxy's other flags are accepted and named in a warning, unless their value is what the agent does", () => {
    const { warnings } = resolveWith('--oom-score-adj=-999', '--iptables-masquerade-bit', '14', '--profiling', '--kube-api-qps', '20', '--bind-address-hard-fail');
    expect(warnings).toEqual([
      '--oom-score-adj "-999" is not used: set the agent\'s oom_score_adj in its Pod spec',
      '--profiling true is not used: the agent serves no /debug/pprof',
      '--kube-api-qps "20" is not used: the agent lists once and then watches: it has no client-side rate limit',
    ]);
  });
});

describe('usage errors name the field (or flag), the value and what is accepted', () => {
  test.each([
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n', 'apiVersion "kubeproxy.config.k8s.io/v1alpha2" is not supported: expected kubeproxy.config.k8s.io/v1alpha1'],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n', 'kind "KubeletConfiguration" is not supported: expected KubeProxyConfiguration'],
    // kube-proxy's own generated default of 2017 (cmd/kube-proxy/app/zz_generated.default_config_yaml.go): an API group long gone.
    ['apiVersion: componentconfig/v1alpha1\nkind: KubeProxyConfiguration\nbindAddress: 0.0.0.0\n', 'apiVersion "componentconfig/v1alpha1" is not supported: expected kubeproxy.config.k8s.io/v1alpha1'],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  masqueradeAll: "yes"\n', 'iptables.masqueradeAll "yes" is not true or false'],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nconntrack: 5\n', 'conntrack 5 is not an object'],
  ])('%j', (text, message) => {
    const path = file(text, '');
    expect(refusal('--config', path)).toBe(`--config ${JSON.stringify(path)}: ${message}`);
  });

  test.each([
    ['mode: ebpf\n', 'mode "ebpf" is not supported: expected one of nftables, iptables, ipvs, userspace'],
    ['mode: kernelspace\n', 'mode "kernelspace" is not supported: expected one of nftables, iptables, ipvs, userspace'],
    ['iptables:\n  syncPeriod: 30\n', 'iptables.syncPeriod 30 is not a duration such as 30s or 1h0m0s'],
    ['iptables:\n  syncPeriod: thirty\n', 'iptables.syncPeriod "thirty" is not a duration: expected e.g. 30s, 1m30s or 500ms'],
    ['clusterCIDR: 10.244.0.0/16,10.245.0.0/16\n', 'clusterCIDR "10.244.0.0/16,10.245.0.0/16" has two IPv4 CIDRs: expected one per family, such as 10.244.0.0/16,fd00:10:244::/56'],
    ['detectLocalMode: BridgeInterface\n', 'detectLocalMode BridgeInterface needs the bridge: --pod-bridge-interface (detectLocal.bridgeInterface in --config)'],
    ['detectLocalMode: Pods\n', 'detectLocalMode "Pods" is not supported: expected one of ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix'],
    ['healthzBindAddress: localhost:10256\n', 'healthzBindAddress "localhost:10256" is not an address to listen on: expected IP:port such as 0.0.0.0:10256 or [::]:10256 (empty disables it)'],
    ['conntrack:\n  maxPerCore: -1\n', 'conntrack.maxPerCore "-1" is not a count: expected a whole number from 0 to 2147483647'],
    ['featureGates:\n  Foo: "on"\n', 'featureGates {"Foo":"on"} is not a map of feature gate names to true or false'],
  ])('%j', (body, message) => {
    const path = file(body);
    expect(refusal('--config', path)).toBe(`--config ${JSON.stringify(path)}: ${message}`);
  });

  test('a file that is missing, not YAML, or holds two documents', () => {
    expect(refusal('--config', join(dir, 'missing.yaml'))).toMatch(/^--config ".*missing\.yaml": cannot read it: ENOENT/);
    expect(refusal('--config', file('mode: [unclosed', ''))).toMatch(/: not YAML or JSON: /);
    expect(refusal('--config', file('---\nmode: ipvs\n'))).toMatch(/: expected one KubeProxyConfiguration document, found 2$/);
  });

  test('JSON is YAML: a JSON file is read the same way', () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs', ipvs: { scheduler: 'lc' } }));
    expect(resolveWith('--config', path).options).toMatchObject({ mode: 'ipvs', scheduler: 'lc' });
  });

  test.each([
    [['--detect-local-mode', 'InterfaceNamePrefix'], '--detect-local-mode InterfaceNamePrefix needs the prefix: --pod-interface-name-prefix (detectLocal.interfaceNamePrefix in --config)'],
    [['--pod-bridge-interface', 'br"0'], '--pod-bridge-interface "br\\"0" is not an interface name: expected 1 to 15 letters, digits, \'_\', \'.\', \':\', \'@\' or \'-\''],
    [['--masquerade-all=maybe'], '--masquerade-all "maybe" is not a boolean: expected true or false'],
    [['--nodeport-addresses', 'localhost'], '--nodeport-addresses entry "localhost" is not supported: the agent never serves NodePorts on loopback addresses; expected CIDRs, primary or all'],
    [['--init-only'], '--init-only is not supported: the agent has no separate privileged initialisation (run it with NET_ADMIN, as kube-proxy after --init-only)'],
    [['--v', 'loud'], '--v "loud" is not a verbosity: expected a whole number from 0 to 10'],
    [['--feature-gates', 'Foo'], '--feature-gates entry "Foo" is not a feature gate: expected Name=true or Name=false'],
  ])('%j', (argv, message) => {
    expect(refusal(...argv)).toBe(message);
  });
});

describe("kube-proxy's flags with kube-proxy's meaning", () => {
  test.each([
    [['--proxy-mode', 'ipvs'], { mode: 'ipvs' }],
    [['--healthz-bind-address', '0.0.0.0:10256', '--metrics-bind-address', '127.0.0.1:10249'], { healthzBind: '0.0.0.0:10256', metricsBind: '127.0.0.1:10249' }],
    [['--iptables-sync-period', '1m', '--iptables-min-sync-period', '0s'], { syncPeriodMs: 60_000, minSyncIntervalMs: 0 }],
    [['--ipvs-scheduler', 'lc'], { scheduler: 'lc' }],
    [['--nodeport-addresses', 'primary'], { nodePortAddresses: [] }],
    [['--nodeport-addresses', 'all'], { nodePortAddresses: ['0.0.0.0/0', '::/0'] }],
    [['--cluster-cidr', '10.244.5.0/16'], { clusterCIDRs: ['10.244.0.0/16'] }],
    [['--detect-local-mode', 'NodeCIDR'], { detectLocalMode: 'NodeCIDR' }],
    [['--masquerade-all'], { masqueradeAll: true }],
    [['--masquerade-all=false'], { masqueradeAll: false }],
    [['--conntrack-max-per-core', '0', '--conntrack-min', '131072'], { conntrackMaxPerCore: undefined, conntrackMin: 131072 }],
    [['--conntrack-tcp-timeout-established', '24h0m0s', '--conntrack-tcp-timeout-close-wait', '1h', '--conntrack-tcp-be-liberal'], { conntrackTcpEstablishedTimeoutMs: 86_400_000, conntrackTcpCloseWaitTimeoutMs: 3_600_000, conntrackTcpBeLiberal: true }],
    [['--conntrack-udp-timeout', '30s', '--conntrack-udp-timeout-stream', '0'], { conntrackUdpTimeoutMs: 30_000, conntrackUdpStreamTimeoutMs: undefined }],
    [['--kubeconfig', '/k', '--v=2'], { kubeconfig: '/k', verbosity: 2 }],
    [['-v', '5'], { verbosity: 5 }],
    [['--bind-address', '0.0.0.0'], { bindAddress: undefined }],
    [['--bind-address', '10.0.0.9'], { bindAddress: '10.0.0.9' }],
  ])('%j', (argv, expected) => {
    expect(resolveWith(...argv).options).toMatchObject(expected);
  });

  test('a CIDR with host bits is taken as its network (nft refuses them)', () => {
    expect(networkOf({ address: 'fd00:10:244:1::5', prefix: 56, family: 6 })).toBe('fd00:10:244:0:0:0:0:0/56');
    expect(networkOf({ address: '10.1.2.3', prefix: 12, family: 4 })).toBe('10.0.0.0/12');
  });
});

test('kubeProxyConfigOf refuses anything but one object', () => {
  expect(() => kubeProxyConfigOf(['a'], 'x')).toThrow('--config x: expected one KubeProxyConfiguration object (YAML or JSON), got ["a"]');
  expect(readKubeProxyConfig(KUBEADM).values.size).toBe(3);
});

test('an empty featureGates map sets nothing, so a --feature-gates flag overrides no field', () => {
  const path = file('featureGates: {}\n');
  expect(resolveWith('--config', path, '--feature-gates', 'PreferSameTrafficDistribution=true').warnings).toEqual([]);
});
