import { buildProxyState, nodeIPs, usableEndpoints } from '../../../src/agent/state';
import type { Endpoint } from '../../../src/agent/types';
import {
  affinity,
  annotate,
  clusterIP,
  externalLocal,
  internalLocal,
  loadBalancer,
  newNode,
  newService,
  newSlice,
  nodePort,
  NODE,
  udpToo,
} from './fixtures';

const build = (services: Parameters<typeof buildProxyState>[0], slices: Parameters<typeof buildProxyState>[1] = [], log?: (l: string) => void) =>
  buildProxyState(services, slices, newNode(), { nodeName: NODE, log });

describe('buildProxyState', () => {
  test('one entry per service port and protocol, keyed `ns/name:port/PROTO`, with the Service fields kube-proxy uses', () => {
    const state = build([newService('web', clusterIP('10.96.0.10'), udpToo, nodePort(30080, 30053))], [newSlice('web', [['10.244.1.2']])]);
    expect([...state.services.keys()]).toEqual(['default/web:dns/UDP', 'default/web:http/TCP']);
    expect(state.services.get('default/web:http/TCP')).toEqual({
      key: 'default/web:http',
      namespace: 'default',
      name: 'web',
      portName: 'http',
      protocol: 'TCP',
      clusterIPs: ['10.96.0.10'],
      port: 80,
      nodePort: 30080,
      externalLocal: false,
      internalLocal: false,
      healthCheckNodePort: undefined,
      affinity: undefined,
      scheduler: undefined,
      endpoints: [{ ip: '10.244.1.2', port: 8080, nodeName: NODE, local: true, ready: true, serving: true, terminating: false }],
    });
    expect(state.services.get('default/web:dns/UDP')?.endpoints[0]?.port).toBe(5353);
    expect(state.nodeIPs).toEqual(['192.168.1.10']);
  });

  test.each([
    ['headless (clusterIP None)', newService('h', clusterIP('None'))],
    ['ExternalName', newService('x', (s) => (s.spec = { type: 'ExternalName', externalName: 'example.com' }))],
  ])('%s gets nothing', (_, service) => {
    expect(build([service], [newSlice(service.metadata!.name!, [['10.244.1.2']])]).services.size).toBe(0);
  });

  test('SCTP ports are kept, with their SCTP endpoints (the kernel modes program them)', () => {
    const svc = newService('s', (s) => (s.spec!.ports = [{ name: 'diameter', port: 3868, protocol: 'SCTP' }, { name: 'tcp', port: 3868, protocol: 'TCP' }]));
    const slice = newSlice('s', [['10.244.1.2']]);
    slice.ports = [{ name: 'diameter', port: 3868, protocol: 'SCTP' }, { name: 'tcp', port: 3869, protocol: 'TCP' }];
    const state = build([svc], [slice]);
    expect([...state.services.keys()]).toEqual(['default/s:diameter/SCTP', 'default/s:tcp/TCP']);
    expect(state.services.get('default/s:diameter/SCTP')?.endpoints.map((e) => e.port)).toEqual([3868]);
    expect(state.services.get('default/s:tcp/TCP')?.endpoints.map((e) => e.port)).toEqual([3869]);
  });

  test('endpoints are matched to service ports by port name and protocol', () => {
    const svc = newService('m', (s) => (s.spec!.ports = [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }]));
    const slice = newSlice('m', [['10.244.1.2']]);
    slice.ports = [{ name: 'metrics', port: 19090, protocol: 'TCP' }, { name: 'http', port: 18080, protocol: 'UDP' }];
    const state = build([svc], [slice]);
    expect(state.services.get('default/m:metrics/TCP')?.endpoints.map((e) => e.port)).toEqual([19090]);
    expect(state.services.get('default/m:http/TCP')?.endpoints).toEqual([]);
  });

  test('a Service without a selector uses its hand-made slices; slices of other Services and FQDN slices are ignored', () => {
    const manual = newService('manual');
    delete manual.spec!.selector;
    const other = newSlice('other', [['10.244.9.9']]);
    const fqdn = { ...newSlice('manual', [['10.244.1.3']], 'manual-fqdn'), addressType: 'FQDN' };
    const state = build([manual], [newSlice('manual', [['10.244.1.2']], 'hand-made'), other, fqdn]);
    expect(state.services.get('default/manual:http/TCP')?.endpoints.map((e) => e.ip)).toEqual(['10.244.1.2']);
  });

  test('endpoint conditions: no `ready` means ready, `serving` defaults to `ready`; duplicates across slices keep the ready copy', () => {
    const slice = newSlice('c', [['10.244.1.2'], ['10.244.1.3']]);
    slice.endpoints[0]!.conditions = {};
    slice.endpoints[1]!.conditions = { ready: false, terminating: true };
    const dup = newSlice('c', [['10.244.1.3', { ready: true }]], 'c-dup');
    const [first, second] = build([newService('c')], [slice, dup]).services.get('default/c:http/TCP')!.endpoints;
    expect(first).toMatchObject({ ip: '10.244.1.2', ready: true, serving: true, terminating: false });
    expect(second).toMatchObject({ ip: '10.244.1.3', ready: true });
    const alone = build([newService('c')], [slice]).services.get('default/c:http/TCP')!.endpoints[1];
    expect(alone).toMatchObject({ ready: false, serving: false, terminating: true });
  });

  test.each([
    ['no affinity', [], undefined],
    ['ClientIP with the default timeout', [affinity()], { timeoutSeconds: 10800 }],
    ['ClientIP with timeoutSeconds', [affinity(60)], { timeoutSeconds: 60 }],
  ])('%s', (_, tweaks, expected) => {
    expect(build([newService('a', ...tweaks)]).services.get('default/a:http/TCP')?.affinity).toEqual(expected);
  });

  test('traffic policies: externalTrafficPolicy counts only where there is external traffic; health check only for Local LoadBalancers', () => {
    const state = build([
      newService('etp-clusterip', externalLocal),
      newService('etp-nodeport', nodePort(30001), externalLocal),
      newService('lb-local', nodePort(30002), loadBalancer(32000)),
      newService('itp', internalLocal),
    ]);
    const get = (name: string) => state.services.get(`default/${name}:http/TCP`)!;
    expect(get('etp-clusterip')).toMatchObject({ externalLocal: false, nodePort: undefined });
    expect(get('etp-nodeport')).toMatchObject({ externalLocal: true, nodePort: 30001, healthCheckNodePort: undefined });
    expect(get('lb-local')).toMatchObject({ externalLocal: true, nodePort: 30002, healthCheckNodePort: 32000 });
    expect(get('itp')).toMatchObject({ internalLocal: true, externalLocal: false });
  });

  test('ferry.io/ipvs-scheduler is read leniently: a bad value is logged and the agent default applies', () => {
    const lines: string[] = [];
    const state = build([newService('good', annotate({ 'ferry.io/ipvs-scheduler': 'sh' })), newService('bad', annotate({ 'ferry.io/ipvs-scheduler': 'wrr' }))], [], (l) => lines.push(l));
    expect(state.services.get('default/good:http/TCP')?.scheduler).toBe('sh');
    expect(state.services.get('default/bad:http/TCP')?.scheduler).toBeUndefined();
    expect(lines).toEqual([expect.stringContaining('service default/bad: annotation ferry.io/ipvs-scheduler="wrr" is invalid')]);
  });
});

describe('nodeIPs', () => {
  test.each([
    ['the InternalIPs by default', newNode(), {}, ['192.168.1.10']],
    ['ExternalIPs when there is no InternalIP', newNode('n', (n) => (n.status!.addresses = [{ type: 'ExternalIP', address: '203.0.113.5' }])), {}, ['203.0.113.5']],
    ['nothing without a Node', undefined, {}, []],
    [
      'host addresses inside --nodeport-addresses, never loopback',
      newNode(),
      { nodePortAddresses: ['10.0.0.0/8', '127.0.0.0/8', 'fd00::/8'], hostAddresses: ['10.1.2.3', '127.0.0.1', '192.168.1.10', 'fd00::5'] },
      ['10.1.2.3', 'fd00::5'],
    ],
  ] as const)('%s', (_, node, options, expected) => {
    expect(nodeIPs(node, options)).toEqual(expected);
  });
});

describe('usableEndpoints (kube-proxy CategorizeEndpoints)', () => {
  const ep = (ip: string, o: Partial<Endpoint>): Endpoint => ({ ip, port: 80, nodeName: o.local ? NODE : 'node2', local: false, ready: true, serving: true, terminating: false, ...o });
  const ips = (endpoints: Endpoint[]) => endpoints.map((e) => e.ip);
  test.each([
    ['ready endpoints everywhere', [ep('a', { local: true }), ep('b', {})], ['a', 'b'], ['a']],
    ['ready ones win over serving-terminating', [ep('a', { ready: false, terminating: true }), ep('b', {})], ['b'], []],
    ['serving-terminating when nothing is ready', [ep('a', { ready: false, terminating: true, local: true }), ep('b', { ready: false, serving: false, terminating: true })], ['a'], ['a']],
    ['Local falls back among local endpoints only', [ep('a', { ready: false, terminating: true, local: true }), ep('b', {})], ['b'], ['a']],
    ['not serving, not usable', [ep('a', { ready: false, serving: false })], [], []],
  ])('%s', (_, endpoints, cluster, local) => {
    expect(ips(usableEndpoints({ endpoints }, { local: false }))).toEqual(cluster);
    expect(ips(usableEndpoints({ endpoints }, { local: true }))).toEqual(local);
  });
});

describe('external addresses (kube-proxy pkg/proxy/serviceport.go)', () => {
  const lb = (ingress: Array<{ ip?: string; hostname?: string; ipMode?: string }>) => (s: Parameters<Parameters<typeof newService>[1]>[0]) => (s.status = { loadBalancer: { ingress } });

  test('spec.externalIPs are captured, invalid ones dropped and named', () => {
    const log: string[] = [];
    const state = build([newService('ext', (s) => (s.spec!.externalIPs = ['203.0.113.10', '203.0.113.10', 'not-an-ip', '2001:db8::10']))], [], (l) => log.push(l));
    expect(state.services.get('default/ext:http/TCP')?.externalIPs).toEqual(['203.0.113.10', '2001:db8::10']);
    expect(log).toEqual(['service "default/ext": externalIP "not-an-ip" is invalid (accepted: an IPv4 address, or an IPv6 address without a zone); ignored']);
  });

  test('load balancer ingress IPs: ipMode VIP or absent are captured, Proxy (KEP-1860) and hostnames are not', () => {
    const state = build([
      newService('lb', loadBalancer(), nodePort(30080), lb([{ ip: '198.51.100.1' }, { ip: '198.51.100.2', ipMode: 'VIP' }, { ip: '198.51.100.3', ipMode: 'Proxy' }, { hostname: 'x.elb.amazonaws.com' }])),
    ]);
    expect(state.services.get('default/lb:http/TCP')?.loadBalancerIPs).toEqual(['198.51.100.1', '198.51.100.2']);
  });

  test('a Service without any keeps its old shape (no empty fields)', () => {
    const port = build([newService('plain')]).services.get('default/plain:http/TCP')!;
    expect('externalIPs' in port || 'loadBalancerIPs' in port).toBe(false);
  });

  test('externalTrafficPolicy Local counts for a ClusterIP Service with externalIPs (kube-proxy ExternalPolicyLocal)', () => {
    const state = build([newService('ext', externalLocal, (s) => (s.spec!.externalIPs = ['203.0.113.10']))]);
    expect(state.services.get('default/ext:http/TCP')?.externalLocal).toBe(true);
  });
});

describe('topology hints (kube-proxy pkg/proxy/topology.go CategorizeEndpoints)', () => {
  const zoned = (zone: string | undefined) => newNode(NODE, (n) => (n.metadata!.labels = zone ? { 'topology.kubernetes.io/zone': zone } : {}));
  /** Endpoints with `forZones` (and `forNodes`) hints. */
  function hinted(entries: Array<[ip: string, zones?: string[], nodes?: string[], ready?: boolean]>) {
    const slice = newSlice('web', entries.map(([ip, , , ready]) => [ip, { node: 'node2', ready: ready ?? true }]));
    slice.endpoints.forEach((e, i) => {
      const [, zones, nodes] = entries[i]!;
      if (zones || nodes) e.hints = { ...(zones ? { forZones: zones.map((name) => ({ name })) } : {}), ...(nodes ? { forNodes: nodes.map((name) => ({ name })) } : {}) };
    });
    return slice;
  }
  const cluster = (slice: ReturnType<typeof hinted>, zone: string | null = 'zone-a', nodeHints = true) =>
    usableEndpoints(buildProxyState([newService('web', (s) => (s.spec!.trafficDistribution = 'PreferClose'))], [slice], zoned(zone ?? undefined), { nodeName: NODE, nodeHints }).services.get('default/web:http/TCP')!, { local: false }).map((e) => e.ip);

  test('PreferClose: only the endpoints hinted for this node\'s zone', () => {
    expect(cluster(hinted([['10.0.0.1', ['zone-a']], ['10.0.0.2', ['zone-b']], ['10.0.0.3', ['zone-a', 'zone-c']]]))).toEqual(['10.0.0.1', '10.0.0.3']);
  });

  test('falls back to every endpoint when no endpoint is hinted for this zone', () => {
    expect(cluster(hinted([['10.0.0.1', ['zone-b']], ['10.0.0.2', ['zone-c']]]))).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  test('falls back when one ready endpoint has no hint (hints incomplete), or the node has no zone label', () => {
    expect(cluster(hinted([['10.0.0.1', ['zone-a']], ['10.0.0.2']]))).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(cluster(hinted([['10.0.0.1', ['zone-a']], ['10.0.0.2', ['zone-b']]]), null)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  test('an unready endpoint without hints does not stop the hints (only ready ones count)', () => {
    expect(cluster(hinted([['10.0.0.1', ['zone-a']], ['10.0.0.2', ['zone-b']], ['10.0.0.3', undefined, undefined, false]]))).toEqual(['10.0.0.1']);
  });

  test('forNodes hints (PreferSameNode) win over zone hints when every ready endpoint has one; the feature gate turns them off', () => {
    const slice = hinted([['10.0.0.1', ['zone-a'], ['node2']], ['10.0.0.2', ['zone-a'], [NODE]], ['10.0.0.3', ['zone-b'], ['node3']]]);
    expect(cluster(slice)).toEqual(['10.0.0.2']);
    expect(cluster(slice, 'zone-a', false)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  test('Local policy ignores hints', () => {
    const slice = hinted([['10.0.0.1', ['zone-b']]]);
    slice.endpoints[0]!.nodeName = NODE;
    const port = buildProxyState([newService('web', externalLocal, nodePort(30080))], [slice], zoned('zone-a'), { nodeName: NODE }).services.get('default/web:http/TCP')!;
    expect(usableEndpoints(port, { local: true }).map((e) => e.ip)).toEqual(['10.0.0.1']);
  });
});

describe('pod traffic and masquerading in the state', () => {
  const withPodCIDRs = newNode(NODE, (n) => (n.spec = { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }));
  const stateWith = (detector: NonNullable<Parameters<typeof buildProxyState>[3]['detector']>, masqueradeAll = false) =>
    buildProxyState([], [], withPodCIDRs, { nodeName: NODE, detector, masqueradeAll });
  const none = { mode: undefined, clusterCIDRs: [], bridgeInterface: undefined, interfaceNamePrefix: undefined };

  test.each([
    ['no detector: nothing', none, {}],
    ['--cluster-cidr alone means ClusterCIDR', { ...none, clusterCIDRs: ['10.244.0.0/16'] }, { podTraffic: { 4: { kind: 'cidr', cidr: '10.244.0.0/16' } } }],
    ['NodeCIDR: the Node\'s podCIDRs, per family', { ...none, mode: 'NodeCIDR' as const }, { podTraffic: { 4: { kind: 'cidr', cidr: '10.244.1.0/24' }, 6: { kind: 'cidr', cidr: 'fd00:10:244:1::/64' } } }],
    ['BridgeInterface', { ...none, mode: 'BridgeInterface' as const, bridgeInterface: 'cbr0' }, { podTraffic: { 4: { kind: 'interface', name: 'cbr0' }, 6: { kind: 'interface', name: 'cbr0' } } }],
    ['InterfaceNamePrefix', { ...none, mode: 'InterfaceNamePrefix' as const, interfaceNamePrefix: 'veth' }, { podTraffic: { 4: { kind: 'interfacePrefix', prefix: 'veth' }, 6: { kind: 'interfacePrefix', prefix: 'veth' } } }],
  ])('%s', (_, detector, expected) => {
    const state = stateWith(detector);
    expect({ podTraffic: state.podTraffic, masqueradeAll: state.masqueradeAll }).toEqual({ podTraffic: undefined, masqueradeAll: undefined, ...expected });
  });

  test('--masquerade-all', () => {
    expect(stateWith(none, true).masqueradeAll).toBe(true);
  });

  test('--bind-address replaces the node IP of its family for NodePorts', () => {
    const node = newNode(NODE, (n) => n.status!.addresses!.push({ type: 'InternalIP', address: 'fd00::10' }));
    expect(nodeIPs(node, { primaryIP: '192.168.1.99' })).toEqual(['192.168.1.99', 'fd00::10']);
    expect(nodeIPs(node, {})).toEqual(['192.168.1.10', 'fd00::10']);
  });
});
