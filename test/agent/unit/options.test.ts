import { AGENT_FLAGS, agentCommand, duration, parseAgentOptions } from '../../../src/agent/options';
import { ConfigError } from '../../../src/errors';

const parse = (...argv: string[]) => parseAgentOptions(argv, {});
const refusal = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

/** What a bare command line gives: no kube-proxy setting is in effect. */
const NOT_SET = {
  config: undefined,
  bindAddress: undefined,
  clusterCIDRs: [],
  detectLocalMode: undefined,
  bridgeInterface: undefined,
  interfaceNamePrefix: undefined,
  masqueradeAll: false,
  conntrackMaxPerCore: undefined,
  conntrackMin: undefined,
  conntrackTcpEstablishedTimeoutMs: undefined,
  conntrackTcpCloseWaitTimeoutMs: undefined,
  conntrackTcpBeLiberal: false,
  conntrackUdpTimeoutMs: undefined,
  conntrackUdpStreamTimeoutMs: undefined,
  featureGates: {},
  verbosity: 0,
};

test('defaults: nftables, rr, kube-proxy ports, 30 s / 1 s', () => {
  expect(parse('--node-name', 'node-1')).toEqual({
    mode: 'nftables',
    nodeName: 'node-1',
    kubeconfig: undefined,
    scheduler: 'rr',
    healthzBind: '0.0.0.0:10256',
    metricsBind: '0.0.0.0:10249',
    syncPeriodMs: 30_000,
    minSyncIntervalMs: 1000,
    nodePortAddresses: [],
    iptablesBackend: 'auto',
    cleanup: false,
    ...NOT_SET,
  });
});

test('every flag', () => {
  expect(
    parse('--mode', 'iptables', '--node-name=n1', '--kubeconfig', '/k', '--scheduler', 'sed', '--healthz-bind', '[::]:10256', '--metrics-bind', '',
      '--sync-period', '1m30s', '--min-sync-interval', '250ms', '--nodeport-addresses', '10.0.0.0/8, fd00::/64', '--iptables-backend', 'legacy'),
  ).toEqual({
    mode: 'iptables', nodeName: 'n1', kubeconfig: '/k', scheduler: 'sed', healthzBind: '[::]:10256', metricsBind: undefined,
    syncPeriodMs: 90_000, minSyncIntervalMs: 250, nodePortAddresses: ['10.0.0.0/8', 'fd00::/64'], iptablesBackend: 'legacy', cleanup: false, ...NOT_SET,
  });
});

test('the node name may come from NODE_NAME (the DaemonSet passes it via the downward API); --cleanup needs none', () => {
  expect(parseAgentOptions([], { NODE_NAME: 'node-7' }).nodeName).toBe('node-7');
  expect(parseAgentOptions(['--node-name', 'node-8'], { NODE_NAME: 'node-7' }).nodeName).toBe('node-8');
  expect(parse('--cleanup').cleanup).toBe(true);
});

test.each([
  [['--node-name', 'n', '--mode', 'ebpf'], '--mode "ebpf" is not supported: expected one of nftables, iptables, ipvs, userspace'],
  [['--node-name', 'n', '--scheduler', 'wrr'], '--scheduler "wrr" is not supported: expected one of rr, lc, dh, sh, sed, nq'],
  [[], '--node-name is required (or --hostname-override, hostnameOverride in --config, or NODE_NAME in the environment): the name of the Node this agent runs on'],
  [['--node-name', 'Node_1'], '--node-name "Node_1" is not a valid Node name: expected a DNS subdomain (lowercase letters, digits, \'-\' and \'.\')'],
  [['--node-name', 'n', '--sync-period', '30'], '--sync-period "30" is not a duration: expected e.g. 30s, 1m30s or 500ms'],
  [['--node-name', 'n', '--sync-period', '0s'], '--sync-period "0s" must be greater than zero'],
  [['--node-name', 'n', '--min-sync-interval', '1m'], '--min-sync-interval "1m" must not exceed --sync-period "30s"'],
  [['--node-name', 'n', '--healthz-bind', 'localhost:10256'], '--healthz-bind "localhost:10256" is not an address to listen on: expected IP:port such as 0.0.0.0:10256 or [::]:10256 (empty disables it)'],
  [['--node-name', 'n', '--metrics-bind', '0.0.0.0:99999'], '--metrics-bind "0.0.0.0:99999" is not an address to listen on: expected IP:port such as 0.0.0.0:10256 or [::]:10256 (empty disables it)'],
  [['--node-name', 'n', '--nodeport-addresses', '10.0.0.0/33'], '--nodeport-addresses entry "10.0.0.0/33" is not a CIDR: expected comma-separated CIDRs such as 10.0.0.0/8,fd00::/64'],
])('%j → %s', (argv, message) => {
  expect(refusal(...argv)).toBe(message);
});

test('unknown flags, missing values and stray words are refused, naming them', () => {
  expect(refusal('--node-name', 'n', '--proxy-modes', 'x')).toBe("unknown option '--proxy-modes'");
  expect(refusal('--node-name')).toBe("option '--node-name <name>' argument missing");
  expect(refusal('--node-name', 'n', 'nftables')).toBe('unexpected argument "nftables": ferry agent takes only flags');
});

test.each([
  ['500ms', 500],
  ['2s', 2000],
  ['1m30s', 90_000],
  ['1h', 3_600_000],
  ['1.5s', 1500],
])('duration %s = %d ms', (text, ms) => {
  expect(duration('--x', text)).toBe(ms);
});

test("another spelling in a flag's aliases (kube-proxy's, say) sets the same option, is named in its errors and listed in the help", () => {
  expect(parse('--node-name', 'n', '--proxy-mode', 'ipvs').mode).toBe('ipvs');
  expect(refusal('--node-name', 'n', '--proxy-mode', 'ebpf')).toBe('--proxy-mode "ebpf" is not supported: expected one of nftables, iptables, ipvs, userspace');
  expect(agentCommand().helpInformation()).toMatch(/--mode <mode> .*\(kube-proxy: --proxy-mode\)/);
});
