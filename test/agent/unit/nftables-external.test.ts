/**
 * The nftables mode's drop-in features: externalIPs and load balancer IPs, masquerading by
 * a pod-traffic detector or --masquerade-all, SCTP. Rendered without root; the datapath
 * suite (test/agent/datapath/kube-proxy-parity.test.ts) sends real packets through them.
 */
import { emptyChanges, tableContent, updateContent } from '../../../src/agent/nftables/content';
import { isContentAddressed } from '../../../src/agent/nftables/names';
import { planTable } from '../../../src/agent/nftables/plan';
import { NftablesProxier } from '../../../src/agent/nftables/proxier';
import { renderContext, renderServicePort, type RenderContext } from '../../../src/agent/nftables/service';
import type { CommandRunner } from '../../../src/agent/exec';
import { buildProxyState } from '../../../src/agent/state';
import type { ProxyState } from '../../../src/agent/types';
import { affinity, clusterIP, externalLocal, loadBalancer, newNode, newService, newSlice, NODE, nodePort } from './fixtures';

const REMOTE = { node: 'node2' };
type Tweak = Parameters<typeof newService>[1];
const externalIPs = (...ips: string[]): Tweak => (s) => (s.spec!.externalIPs = ips);
const ingress = (...entries: Array<{ ip: string; ipMode?: string }>): Tweak => (s) => (s.status = { loadBalancer: { ingress: entries } });
const sctp: Tweak = (s) => (s.spec!.ports = [{ name: 'diameter', port: 3868, protocol: 'SCTP' }]);

function port(service: ReturnType<typeof newService>, slice = newSlice(service.metadata!.name!, [['10.244.1.2'], ['10.244.2.2', REMOTE]])) {
  const state = buildProxyState([service], [slice], newNode(), { nodeName: NODE });
  return [...state.services.values()][0]!;
}
const podsContext = (cidr = '10.244.0.0/16'): RenderContext => renderContext({ podTraffic: { 4: { kind: 'cidr', cidr } } }, 'ip');

describe('externalIPs and load balancer IPs', () => {
  test('Cluster policy: each address is a key of service-ips, sent to a masquerading chain that looks it up like a ClusterIP', () => {
    const render = renderServicePort(port(newService('ext', clusterIP('10.96.0.20'), loadBalancer(), nodePort(30090), externalIPs('203.0.113.10'), ingress({ ip: '198.51.100.1' }, { ip: '198.51.100.2', ipMode: 'Proxy' }))), 'ip')!;
    expect(render).toMatchSnapshot();
    const keys = render.elements.filter((e) => e.map === 'service-ips').map((e) => `${e.key} → ${e.value}`);
    expect(keys).toEqual([
      '10.96.0.20 . tcp . 80 → goto dnat-tcp-2',
      '203.0.113.10 . tcp . 80 → goto extip-tcp-2',
      '198.51.100.1 . tcp . 80 → goto extip-tcp-2',
    ]);
    expect(render.chains.find((c) => c.name === 'extip-tcp-2')?.rules).toEqual([
      'meta mark set meta mark | 0x00004000',
      'dnat ip to ip daddr . tcp dport . numgen random mod 2 map @cluster-endpoints-tcp',
    ]);
    // ipMode Proxy: the load balancer proxies it; the node must not capture it.
    expect(JSON.stringify(render)).not.toContain('198.51.100.2');
  });

  test('Local policy: local endpoints first; this host short-circuits to all, unmasqueraded for pods with a detector', () => {
    const render = renderServicePort(port(newService('extl', clusterIP('10.96.0.21'), externalIPs('203.0.113.11'), externalLocal)), 'ip', podsContext())!;
    const chain = render.chains.find((c) => c.name.startsWith('extip-local-'))!;
    expect(chain.name).toMatch(/^extip-local-tcp-1-2-p[A-Z2-7]{6}$/);
    expect(chain.rules).toEqual([
      'ip saddr 10.244.0.0/16 dnat ip to ip daddr . tcp dport . numgen random mod 2 offset 1 map @cluster-endpoints-tcp',
      'fib saddr type local meta mark set meta mark | 0x00004000',
      'fib saddr type local dnat ip to ip daddr . tcp dport . numgen random mod 2 offset 1 map @cluster-endpoints-tcp',
      'dnat ip to ip daddr . tcp dport . numgen random mod 1 map @cluster-endpoints-tcp',
    ]);
    expect(render.elements.filter((e) => e.key.startsWith('203.0.113.11 . 80 .')).map((e) => `${e.key} : ${e.value}`)).toEqual([
      '203.0.113.11 . 80 . 0 : 10.244.1.2 . 8080',
      '203.0.113.11 . 80 . 1 : 10.244.1.2 . 8080',
      '203.0.113.11 . 80 . 2 : 10.244.2.2 . 8080',
    ]);
  });

  test('no endpoint anywhere: rejected; Local policy without a local one: the chain drops what is not short-circuited', () => {
    const none = renderServicePort(port(newService('e', clusterIP('10.96.0.22'), externalIPs('203.0.113.12')), newSlice('e', [])), 'ip')!;
    expect(none.elements).toContainEqual({ map: 'service-ips', key: '203.0.113.12 . tcp . 80', value: 'goto reject-chain' });
    const remote = renderServicePort(port(newService('r', clusterIP('10.96.0.23'), externalIPs('203.0.113.13'), externalLocal), newSlice('r', [['10.244.2.2', REMOTE]])), 'ip')!;
    expect(remote.chains.find((c) => c.name === 'extip-local-tcp-0-1')?.rules.at(-1)).toBe('drop');
  });

  test('only addresses of the family are rendered in it', () => {
    const service = newService('dual', clusterIP('10.96.0.24', 'fd00:96::24'), externalIPs('203.0.113.14', '2001:db8::14'));
    const slices = [newSlice('dual', [['10.244.1.2']]), newSlice('dual', [['fd00:244:1::2']], 'dual-v6', 'IPv6')];
    const state = buildProxyState([service], slices, newNode(), { nodeName: NODE });
    const [only] = state.services.values();
    expect(JSON.stringify(renderServicePort(only!, 'ip'))).not.toContain('2001:db8::14');
    expect(renderServicePort(only!, 'ip6')!.elements).toContainEqual({ map: 'service-ips', key: '2001:db8::14 . tcp . 80', value: 'goto extip-tcp-1' });
  });

  test('with ClientIP affinity the addresses go to the Service\'s own external- chain', () => {
    const render = renderServicePort(port(newService('sticky', clusterIP('10.96.0.25'), affinity(60), externalIPs('203.0.113.15'))), 'ip')!;
    const external = render.chains.find((c) => c.name.startsWith('external-'))!;
    expect(render.elements).toContainEqual({ map: 'service-ips', key: '203.0.113.15 . tcp . 80', value: `goto ${external.name}` });
    expect(external.rules[0]).toBe('meta mark set meta mark | 0x00004000');
  });
});

describe('masquerading ClusterIP traffic (kube-proxy: "masquerades off-cluster traffic to a service VIP")', () => {
  const web = () => port(newService('web', clusterIP('10.96.0.10')));

  test('without a detector or --masquerade-all the ClusterIP chain is the plain shared one', () => {
    expect(renderServicePort(web(), 'ip', {})!.chains.map((c) => c.name)).toEqual(['dnat-tcp-2']);
  });

  test('ClusterCIDR: traffic from outside the pod CIDR is marked; the chain is named after the detector', () => {
    const [chain] = renderServicePort(web(), 'ip', podsContext())!.chains;
    expect(chain!.name).toMatch(/^dnat-tcp-2-p[A-Z2-7]{6}$/);
    expect(chain!.rules).toEqual(['ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x00004000', 'dnat ip to ip daddr . tcp dport . numgen random mod 2 map @cluster-endpoints-tcp']);
    expect(isContentAddressed(chain!.name)).toBe(true);
    // Another CIDR is another chain: a chain's name always says what it holds.
    expect(renderServicePort(web(), 'ip', podsContext('10.200.0.0/16'))!.chains[0]!.name).not.toBe(chain!.name);
  });

  test('interface detectors and --masquerade-all', () => {
    expect(renderServicePort(web(), 'ip', renderContext({ podTraffic: { 4: { kind: 'interface', name: 'cbr0' } } }, 'ip'))!.chains[0]!.rules[0]).toBe('iifname != "cbr0" meta mark set meta mark | 0x00004000');
    expect(renderServicePort(web(), 'ip', renderContext({ podTraffic: { 4: { kind: 'interfacePrefix', prefix: 'veth' } } }, 'ip'))!.chains[0]!.rules[0]).toBe('iifname != "veth*" meta mark set meta mark | 0x00004000');
    const all = renderServicePort(web(), 'ip', renderContext({ masqueradeAll: true }, 'ip'))!.chains[0]!;
    expect([all.name, all.rules[0]]).toEqual(['dnat-tcp-2-all', 'meta mark set meta mark | 0x00004000']);
  });

  test("a family without a detector of its own is not masqueraded (kube-proxy's no-op detector)", () => {
    expect(renderContext({ podTraffic: { 4: { kind: 'cidr', cidr: '10.244.0.0/16' } } }, 'ip6')).toEqual({});
  });

  test('NodePort with externalTrafficPolicy Local: pod traffic goes to every endpoint, unmasqueraded', () => {
    const render = renderServicePort(port(newService('loc', clusterIP('10.96.0.11'), nodePort(30081), externalLocal)), 'ip', podsContext())!;
    const chain = render.chains.find((c) => c.name.startsWith('nodeport-local-'))!;
    expect(chain.rules[0]).toBe('ip saddr 10.244.0.0/16 dnat ip to tcp dport . numgen random mod 2 offset 1 map @nodeport-endpoints-tcp');
  });

  test('ClientIP affinity: the clusterip- chain marks before it dispatches', () => {
    const render = renderServicePort(port(newService('sticky', clusterIP('10.96.0.14'), affinity(60))), 'ip', podsContext())!;
    expect(render.chains.find((c) => c.name.startsWith('clusterip-'))!.rules[0]).toBe('ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x00004000');
  });
});

describe('SCTP', () => {
  const stateOf = (...services: Array<ReturnType<typeof newService>>): ProxyState => {
    const slices = services.map((s) => {
      const slice = newSlice(s.metadata!.name!, [['10.244.1.2']]);
      slice.ports = [{ name: 'diameter', port: 3868, protocol: 'SCTP' }, { name: 'http', port: 8080, protocol: 'TCP' }];
      return slice;
    });
    return buildProxyState(services, slices, newNode(), { nodeName: NODE });
  };
  const rendersOf = (state: ProxyState) => [...state.services.values()].flatMap((p) => renderServicePort(p, 'ip') ?? []);

  test('an SCTP port gets its own endpoint map (the same port may be served over TCP too)', () => {
    const render = renderServicePort(port(newService('diam', clusterIP('10.96.0.30'), sctp), (() => {
      const slice = newSlice('diam', [['10.244.1.2']]);
      slice.ports = [{ name: 'diameter', port: 3868, protocol: 'SCTP' }];
      return slice;
    })()), 'ip')!;
    expect(render.chains).toEqual([{ name: 'dnat-sctp-1', rules: ['dnat ip to ip daddr . sctp dport . numgen random mod 1 map @cluster-endpoints-sctp'], immutable: true }]);
    expect(render.elements).toContainEqual({ map: 'service-ips', key: '10.96.0.30 . sctp . 3868', value: 'goto dnat-sctp-1' });
    expect(render.elements).toContainEqual({ map: 'cluster-endpoints-sctp', key: '10.96.0.30 . 3868 . 0', value: '10.244.1.2 . 3868' });
  });

  test('the SCTP maps are declared only in a table that has an SCTP Service, before the chains that use them', () => {
    const plain = stateOf(newService('web', clusterIP('10.96.0.10')));
    const cold = (state: ProxyState) => planTable({ family: 'ip', table: 'ferry', desired: tableContent('ip', rendersOf(state), []), listed: 'absent', pending: new Map(), now: 0, collect: true }).tx.text();
    expect(cold(plain)).not.toContain('sctp');
    const withSctp = stateOf(newService('web', clusterIP('10.96.0.10')), newService('diam', clusterIP('10.96.0.30'), sctp));
    const text = cold(withSctp);
    expect(text.indexOf('add map ip ferry cluster-endpoints-sctp')).toBeGreaterThan(-1);
    expect(text.indexOf('add map ip ferry cluster-endpoints-sctp')).toBeLessThan(text.indexOf('add chain ip ferry dnat-sctp-1'));

    // Incremental: the first SCTP Service of a table declares the map before its chain.
    const content = tableContent('ip', rendersOf(plain), []);
    const fingerprint = content.fingerprint;
    const changes = emptyChanges();
    const diam = rendersOf(stateOf(newService('diam', clusterIP('10.96.0.30'), sctp)));
    updateContent('ip', content, [], diam, [], changes);
    const incremental = planTable({ family: 'ip', table: 'ferry', desired: content, changes: { changes, fingerprint }, pending: new Map(), now: 0, collect: false }).tx.text();
    expect(incremental.indexOf('add map ip ferry cluster-endpoints-sctp')).toBeLessThan(incremental.indexOf('add chain ip ferry dnat-sctp-1'));
    expect(incremental.indexOf('add chain ip ferry dnat-sctp-1')).toBeGreaterThan(-1);

    // A refill after a restart declares and flushes them whatever the table held.
    const refill = planTable({ family: 'ip', table: 'ferry', desired: tableContent('ip', rendersOf(plain), []), listed: { chains: new Set(), sets: new Set(), fingerprint: 'other', foreign: false }, pending: new Map(), now: 0, collect: true }).tx.text();
    expect(refill).toContain('flush map ip ferry cluster-endpoints-sctp\n');
  });
});

describe('NftablesProxier: a new detector re-renders every Service', () => {
  test('the cached renders are not reused when the pod CIDRs change', async () => {
    const inputs: string[] = [];
    const run: CommandRunner = async (command, args, input) => {
      if (input) inputs.push(input);
      if (command === 'nft' && args[0] === '-j') return { code: 0, stdout: '{"nftables":[]}', stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    const proxier = new NftablesProxier({ run, now: () => 0, tables: 1, families: ['ip'] });
    const base = buildProxyState([newService('web', clusterIP('10.96.0.10'))], [newSlice('web', [['10.244.1.2']])], newNode(), { nodeName: NODE });
    await proxier.sync(base, undefined);
    await proxier.sync({ ...base, podTraffic: { 4: { kind: 'cidr', cidr: '10.244.0.0/16' } } }, undefined);
    expect(inputs.at(-1)).toMatch(/add chain ip ferry dnat-tcp-1-p[A-Z2-7]{6} \{ ip saddr != 10\.244\.0\.0\/16 /);
  });
});
