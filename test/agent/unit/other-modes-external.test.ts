/**
 * externalIPs, load balancer IPs, masquerading by a pod-traffic detector and SCTP in the
 * iptables, ipvs and userspace modes, and the conntrack cleanup and sysctls that go with
 * them (the nftables mode's are in nftables-external.test.ts).
 */
import { applyConntrackSettings, conntrackMax, conntrackWrites } from '../../../src/agent/conntrack-sysctls';
import { conntrackArgs, staleConntrackFilters } from '../../../src/agent/conntrack';
import { renderCompanion } from '../../../src/agent/ipvs/companion';
import { ipvsRestoreInput, parseIpvsSave, renderIpvs } from '../../../src/agent/ipvs/render';
import { planRestore } from '../../../src/agent/iptables/restore';
import { renderIptablesService } from '../../../src/agent/iptables/service';
import { buildProxyState } from '../../../src/agent/state';
import type { ProxyState } from '../../../src/agent/types';
import { planServicePort } from '../../../src/agent/userspace/plan';
import { clusterIP, externalLocal, newNode, newService, newSlice, NODE, NODE_IP, nodePort, udpToo } from './fixtures';

type Tweak = Parameters<typeof newService>[1];
const externalIPs = (...ips: string[]): Tweak => (s) => (s.spec!.externalIPs = ips);
const ingress = (...entries: Array<{ ip: string; ipMode?: string }>): Tweak => (s) => (s.status = { loadBalancer: { ingress: entries } });
const REMOTE = { node: 'node2' };

function stateOf(service: ReturnType<typeof newService>, endpoints: Array<[string, { node?: string }?]> = [['10.244.1.2'], ['10.244.2.2', REMOTE]], extra: Partial<ProxyState> = {}): ProxyState {
  return { ...buildProxyState([service], endpoints.length > 0 ? [newSlice(service.metadata!.name!, endpoints)] : [], newNode(), { nodeName: NODE }), ...extra };
}
const only = (state: ProxyState) => [...state.services.values()][0]!;

describe('iptables', () => {
  test('externalIPs and VIP-mode load balancer IPs jump to the EXT chain from FERRY-SERVICES; Proxy-mode ones do not', () => {
    const render = renderIptablesService(only(stateOf(newService('ext', clusterIP('10.96.0.20'), externalIPs('203.0.113.10'), ingress({ ip: '198.51.100.1' }, { ip: '198.51.100.2', ipMode: 'Proxy' })))), 4, [NODE_IP])!;
    expect(render.services.filter((r) => r.includes('external IP') || r.includes('loadbalancer IP'))).toEqual([
      expect.stringMatching(/^-m comment --comment "default\/ext:http external IP" -d 203\.0\.113\.10\/32 -p tcp -m tcp --dport 80 -j FERRY-EXT-\w+$/),
      expect.stringMatching(/^-m comment --comment "default\/ext:http loadbalancer IP" -d 198\.51\.100\.1\/32 -p tcp -m tcp --dport 80 -j FERRY-EXT-\w+$/),
    ]);
    expect(JSON.stringify(render)).not.toContain('198.51.100.2');
    expect(render.chains.find((c) => c.name.startsWith('FERRY-EXT-'))!.rules[0]).toContain('-j FERRY-MARK-MASQ');
  });

  test('an external address without endpoints is rejected on INPUT and FORWARD', () => {
    const render = renderIptablesService(only(stateOf(newService('ext', clusterIP('10.96.0.20'), externalIPs('203.0.113.10')), [])), 4, [NODE_IP])!;
    const reject = '-m comment --comment "default/ext:http has no endpoints" -d 203.0.113.10/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset';
    expect(render.filterExternal).toContain(reject);
    expect(render.filterServices).toContain(reject);
  });

  test('ClusterCIDR: ClusterIP traffic from outside the pods is marked first in the internal chain; Local external traffic from pods is short-circuited', () => {
    const state = stateOf(newService('web', clusterIP('10.96.0.10'), nodePort(30080), externalLocal), undefined, { podTraffic: { 4: { kind: 'cidr', cidr: '10.244.0.0/16' } } });
    const text = planRestore({ family: 4, state, previous: new Map(), changed: undefined, existing: new Set() }).text;
    expect(text).toMatch(/^-A FERRY-SVC-\w+ -m comment --comment "default\/web:http cluster IP" -d 10\.96\.0\.10\/32 -p tcp -m tcp --dport 80 ! -s 10\.244\.0\.0\/16 -j FERRY-MARK-MASQ$/m);
    expect(text).toMatch(/^-A FERRY-EXT-\w+ -m comment --comment "pod traffic for default\/web:http external destinations" -s 10\.244\.0\.0\/16 -j FERRY-SVC-\w+$/m);
    const all = planRestore({ family: 4, state: { ...state, podTraffic: undefined, masqueradeAll: true }, previous: new Map(), changed: undefined, existing: new Set() }).text;
    expect(all).toMatch(/^-A FERRY-SVC-\w+ -m comment --comment "default\/web:http cluster IP" -d 10\.96\.0\.10\/32 -p tcp -m tcp --dport 80 -j FERRY-MARK-MASQ$/m);
  });

  test('SCTP: -p sctp -m sctp', () => {
    const svc = newService('diam', clusterIP('10.96.0.30'), (s) => (s.spec!.ports = [{ name: 'http', port: 3868, protocol: 'SCTP' }]));
    const slice = newSlice('diam', [['10.244.1.2']]);
    slice.ports = [{ name: 'http', port: 3868, protocol: 'SCTP' }];
    const render = renderIptablesService(only(buildProxyState([svc], [slice], newNode(), { nodeName: NODE })), 4, [NODE_IP])!;
    expect(render.services[0]).toContain('-d 10.96.0.30/32 -p sctp -m sctp --dport 3868');
  });
});

describe('ipvs', () => {
  test('externalIPs and load balancer IPs: virtual servers bound to the dummy interface; masqueraded under Cluster policy', () => {
    const desired = renderIpvs(stateOf(newService('ext', clusterIP('10.96.0.20'), externalIPs('203.0.113.10'), ingress({ ip: '198.51.100.1' }, { ip: '198.51.100.9', ipMode: 'Proxy' }))), 'rr');
    expect(desired.virtualServers.map((vs) => vs.address)).toEqual(['10.96.0.20:80', '198.51.100.1:80', '203.0.113.10:80']);
    expect(desired.boundAddresses).toEqual(['10.96.0.20', '198.51.100.1', '203.0.113.10']);
    expect(desired.masqueradeExternal).toEqual([{ protocol: 'tcp', ip: '203.0.113.10', port: 80 }, { protocol: 'tcp', ip: '198.51.100.1', port: 80 }]);
    const companion = renderCompanion(desired, [NODE_IP]);
    expect(companion).toContain('add set ip ferry-ipvs masquerade-external { type ipv4_addr . inet_proto . inet_service ; elements = { 203.0.113.10 . tcp . 80, 198.51.100.1 . tcp . 80 } ; }');
    expect(companion).toContain('ip daddr . meta l4proto . th dport @masquerade-external meta mark set meta mark | 0x00004000');
  });

  test('ClusterCIDR: the companion marks ClusterIP traffic from outside the pods', () => {
    const state = stateOf(newService('web', clusterIP('10.96.0.10')), undefined, { podTraffic: { 4: { kind: 'cidr', cidr: '10.244.0.0/16' } } });
    const companion = renderCompanion(renderIpvs(state, 'rr'), [NODE_IP], state);
    expect(companion).toContain('add set ip ferry-ipvs cluster-ips { type ipv4_addr . inet_proto . inet_service ; elements = { 10.96.0.10 . tcp . 80 } ; }');
    expect(companion).toContain('ip saddr != 10.244.0.0/16 ip daddr . meta l4proto . th dport @cluster-ips meta mark set meta mark | 0x00004000');
  });

  test('SCTP virtual servers use --sctp-service, read back from ipvsadm -Sn', () => {
    const current = parseIpvsSave('-A --sctp-service 10.96.0.30:3868 -s rr\n-a --sctp-service 10.96.0.30:3868 -r 10.244.1.9:3868 -m -w 1');
    expect(current).toEqual([{ protocol: 'sctp', address: '10.96.0.30:3868', scheduler: 'rr', persistence: undefined, reals: ['10.244.1.9:3868'] }]);
    const input = ipvsRestoreInput(current, [{ protocol: 'sctp', address: '10.96.0.30:3868', scheduler: 'rr', persistence: undefined, reals: ['10.244.1.2:3868'] }]);
    expect(input).toBe('-d --sctp-service 10.96.0.30:3868 -r 10.244.1.9:3868\n-a --sctp-service 10.96.0.30:3868 -r 10.244.1.2:3868 -m -w 1\n');
  });
});

describe('userspace', () => {
  const options = { defaultScheduler: 'rr' as const, clusterIPs: true };

  test('externalIPs and load balancer IPs get a listener of their own behind the redirect, with the external policy', () => {
    const port = only(stateOf(newService('ext', clusterIP('10.96.0.20'), externalIPs('203.0.113.10', '2001:db8::10'), ingress({ ip: '198.51.100.1' }), externalLocal)));
    const plan = planServicePort('k', port, [NODE_IP], options);
    const external = plan.listeners.find((l) => l.id === 'k external')!;
    expect(external.redirectKeys).toEqual(['203.0.113.10 . tcp . 80', '198.51.100.1 . tcp . 80']);
    expect(external.balancer.endpoints).toEqual([{ ip: '10.244.1.2', port: 8080 }]);
    expect(external.keepClient).toBe(true);
  });

  test('SCTP is left to the kernel modes (Node.js has no SCTP sockets)', () => {
    const svc = newService('diam', clusterIP('10.96.0.30'), (s) => (s.spec!.ports = [{ name: 'http', port: 3868, protocol: 'SCTP' }]));
    const slice = newSlice('diam', [['10.244.1.2']]);
    slice.ports = [{ name: 'http', port: 3868, protocol: 'SCTP' }];
    expect(planServicePort('k', only(buildProxyState([svc], [slice], newNode(), { nodeName: NODE })), [NODE_IP], options)).toEqual({ listeners: [], rejects: [], endpoints: 0 });
  });
});

describe('conntrack', () => {
  test('a removed UDP endpoint: entries to the externalIPs and load balancer IPs go too', () => {
    const svc = newService('dns', clusterIP('10.96.0.10'), udpToo, externalIPs('203.0.113.10'), ingress({ ip: '198.51.100.1' }));
    const before = stateOf(svc, [['10.244.1.2'], ['10.244.1.3']]);
    const after = stateOf(svc, [['10.244.1.2']]);
    expect(staleConntrackFilters(before, after, undefined).map(conntrackArgs)).toEqual([
      ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--dst-nat', '10.244.1.3'],
      ['-D', '-p', 'udp', '--orig-dst', '203.0.113.10', '--dst-nat', '10.244.1.3'],
      ['-D', '-p', 'udp', '--orig-dst', '198.51.100.1', '--dst-nat', '10.244.1.3'],
    ]);
  });

  test.each([
    [{ maxPerCore: 32768, min: 131072 }, 2, 131072],
    [{ maxPerCore: 32768, min: 131072 }, 8, 262144],
    [{ maxPerCore: 32768, min: 131072 }, 64, 1048576],
    [{ maxPerCore: 0, min: 131072 }, 8, 0],
    [{}, 8, 0],
  ])('nf_conntrack_max for %j on %d CPUs: %d (kube-proxy getConntrackMax)', (settings, cpus, max) => {
    expect(conntrackMax(settings, cpus)).toBe(max);
  });

  test('only what is given is written: timeouts in seconds, max raised never lowered, hashsize a quarter of it', async () => {
    expect(conntrackWrites({ tcpEstablishedTimeoutMs: 86_400_000, tcpCloseWaitTimeoutMs: 3_600_000, udpTimeoutMs: 0 }, 2)).toEqual([
      { name: 'net/netfilter/nf_conntrack_tcp_timeout_established', value: 86400 },
      { name: 'net/netfilter/nf_conntrack_tcp_timeout_close_wait', value: 3600 },
    ]);
    const files: Record<string, string> = {
      '/proc/sys/net/netfilter/nf_conntrack_max': '262144\n',
      '/sys/module/nf_conntrack/parameters/hashsize': '16384\n',
      '/proc/sys/net/netfilter/nf_conntrack_udp_timeout': '30\n',
      '/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal': '0\n',
    };
    const lines: string[] = [];
    const changed = await applyConntrackSettings(
      { maxPerCore: 32768, min: 131072, udpTimeoutMs: 30_000, tcpBeLiberal: true, udpStreamTimeoutMs: 120_000 },
      { info: (l) => lines.push(l), warn: (l) => lines.push(`warn: ${l}`) },
      {
        read: async (path) => {
          if (!(path in files)) throw new Error(`ENOENT: ${path}`);
          return files[path]!;
        },
        write: async (path, value) => void (files[path] = value),
      },
      2,
    );
    // 131072 < 262144: the max is not lowered; hashsize rises to 131072 / 4; udp timeout already 30.
    expect(changed).toEqual(['/sys/module/nf_conntrack/parameters/hashsize=32768', 'net/netfilter/nf_conntrack_tcp_be_liberal=1']);
    expect(lines).toContainEqual(expect.stringMatching(/^warn: conntrack: cannot set net\/netfilter\/nf_conntrack_udp_timeout_stream to 120: ENOENT/));
  });
});
