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
    ['SCTP only', newService('s', (s) => (s.spec!.ports = [{ name: 'sctp', port: 9, protocol: 'SCTP' }]))],
  ])('%s gets nothing', (_, service) => {
    expect(build([service], [newSlice(service.metadata!.name!, [['10.244.1.2']])]).services.size).toBe(0);
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
