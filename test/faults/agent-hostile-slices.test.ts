/**
 * Hostile EndpointSlices and Services fed through the agent's state builder into the
 * nftables, iptables and ipvs renderers (issue 9, item 6). Only the API server's validation
 * stands between an EndpointSlice author and the agent's nft / iptables-restore /
 * ipvsadm-restore input, and that input is line- and token-oriented: an address holding a
 * newline would start a rule of the author's choosing. The agent must drop what is not an
 * address or a port, say so in a log line naming the value, and render only what it checked.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { planRestore } from '../../src/agent/iptables/restore';
import { renderIptablesService } from '../../src/agent/iptables/service';
import { renderCompanion } from '../../src/agent/ipvs/companion';
import { ipvsRestoreInput, renderIpvs } from '../../src/agent/ipvs/render';
import { tableContent } from '../../src/agent/nftables/content';
import { planTable } from '../../src/agent/nftables/plan';
import { renderServicePort } from '../../src/agent/nftables/service';
import { buildProxyState, isValidAddress, isValidPort } from '../../src/agent/state';
import type { ProxyState, ServicePort } from '../../src/agent/types';

const NODE = 'node1';

function service(name: string, spec: Partial<NonNullable<V1Service['spec']>> = {}, namespace = 'default'): V1Service {
  return {
    metadata: { namespace, name },
    spec: { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }], ...spec },
  };
}

function slice(serviceName: string, addresses: unknown[], options: { port?: unknown; addressType?: string; name?: string } = {}): V1EndpointSlice {
  return {
    metadata: { namespace: 'default', name: options.name ?? `${serviceName}-x`, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: options.addressType ?? 'IPv4',
    ports: [{ name: 'http', port: (options.port ?? 8080) as number, protocol: 'TCP' }],
    endpoints: addresses.map((address, i) => ({ addresses: [address as string], nodeName: i % 2 === 0 ? NODE : 'node2', conditions: { ready: true } })),
  } as V1EndpointSlice;
}

function build(services: V1Service[], slices: V1EndpointSlice[]): { state: ProxyState; log: string[] } {
  const log: string[] = [];
  const node = { metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } };
  const state = buildProxyState(services, slices, node, { nodeName: NODE, log: (line) => log.push(line) });
  return { state, log };
}

/** Everything the three kernel modes would write for the state. */
function rendered(state: ProxyState): { nft: string; iptables: string; ipvs: string } {
  const nft = (['ip', 'ip6'] as const)
    .map((family) => {
      const renders = [...state.services.values()].flatMap((p) => renderServicePort(p, family) ?? []);
      const nodeIPs = state.nodeIPs.filter((ip) => ip.includes(':') === (family === 'ip6'));
      return planTable({ family, table: 'ferry', desired: tableContent(family, renders, nodeIPs), listed: 'absent', pending: new Map(), now: 0, collect: true }).tx.text();
    })
    .join('');
  const iptables = ([4, 6] as const).map((family) => planRestore({ family, state, previous: new Map(), changed: undefined, existing: new Set() }).text).join('');
  const desired = renderIpvs(state, 'rr');
  const ipvs = ipvsRestoreInput([], desired.virtualServers) + renderCompanion(desired, state.nodeIPs);
  return { nft, iptables, ipvs };
}

const NFT_COMMAND = /^(add (table|chain|map|set)|delete (element|chain|set|table)|flush (chain|map|set)) (ip6?) ferry[\w-]* /;
const RESTORE_LINE = /^(\*(nat|filter)|:FERRY-[A-Z0-9-]+ - \[0:0\]|-[ADX] FERRY-[A-Z0-9-]+( .*)?|COMMIT)$/;
const IPVS_LINE = /^-[AaDdE] -[tu] \S+( .*)?$/;

/** Every line is a command of the expected kind, and no hostile fragment made it in. */
function expectOnlyValidated(out: { nft: string; iptables: string; ipvs: string }, hostile: readonly string[]): void {
  const lines = (text: string) => text.trim().split('\n').filter((l) => l !== '');
  const ipvsadm = lines(out.ipvs).filter((l) => !/^(add|delete) /.test(l));
  const companion = lines(out.ipvs).filter((l) => /^(add|delete) /.test(l));
  // Collected first, asserted once: thousands of lines make per-line expectations slow.
  expect(lines(out.nft).filter((l) => !NFT_COMMAND.test(l))).toEqual([]);
  expect(lines(out.iptables).filter((l) => !RESTORE_LINE.test(l))).toEqual([]);
  expect(ipvsadm.filter((l) => !IPVS_LINE.test(l))).toEqual([]);
  expect(companion.filter((l) => !/^(add|delete) (table|set|chain) ip6? ferry-ipvs/.test(l))).toEqual([]);
  for (const text of Object.values(out)) for (const fragment of hostile) expect(text).not.toContain(fragment);
  // Every address-looking token is one the state builder accepts.
  const tokens = Object.values(out).flatMap((text) => text.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? []);
  expect(tokens.filter((t) => !isValidAddress(t))).toEqual([]);
}

describe('hostile EndpointSlice addresses', () => {
  const bad = [
    '10.244.1.2\nadd rule ip filter input drop',
    '10.244.1.3;',
    '10.244.1.3 ; flush ruleset',
    '1.2.3.4 } ; flush ruleset',
    '10.244.1.4 -j ACCEPT',
    ' 10.244.1.5',
    '10.244.1.06',
    '999.1.1.1',
    'fd00::1',
    'example.com',
    '"10.244.1.7"',
    42,
  ];
  const { state, log } = build([service('web')], [slice('web', ['10.244.1.20', ...bad, '10.244.2.21'])]);

  test('only the valid endpoints are kept', () => {
    expect(state.services.get('default/web:http/TCP')!.endpoints.map((e) => e.ip)).toEqual(['10.244.1.20', '10.244.2.21']);
  });

  test('a log line names each dropped endpoint, escaped so it cannot forge a line of its own', () => {
    for (const value of bad) {
      const named = log.filter((line) => line.includes(`endpoint address ${JSON.stringify(value)} is invalid`));
      expect([value, named.length]).toEqual([value, 1]);
    }
    for (const line of log) {
      expect(line).not.toContain('\n');
      expect(line).toMatch(/^service "default\/web": EndpointSlice "web-x": endpoint address .* is invalid \(accepted: an IPv4 address\); endpoint dropped$/);
    }
  });

  test('the nftables, iptables and ipvs inputs hold only validated values', () => {
    const out = rendered(state);
    expectOnlyValidated(out, ['flush ruleset', 'add rule ip filter', '10.244.1.4 -j', '10.244.1.06', 'example.com', '999.1.1.1']);
    for (const text of Object.values(out)) expect(text).toContain('10.244.1.20');
  });
});

describe('hostile IPv6 addresses', () => {
  const bad = ['fe80::1%eth0', 'fd00::1%25lo', 'fd00::1 . 80', 'fd00::2\n', '10.244.1.2', '::ffff:10.0.0.1 } ; flush ruleset'];
  const { state, log } = build(
    [service('six', { clusterIP: 'fd00:96::10', clusterIPs: ['fd00:96::10'], ipFamilies: ['IPv6'] })],
    [slice('six', ['fd00:244::5', ...bad], { addressType: 'IPv6' })],
  );

  test('zone ids, IPv4 addresses in an IPv6 slice and anything after the address are dropped and named', () => {
    expect(state.services.get('default/six:http/TCP')!.endpoints.map((e) => e.ip)).toEqual(['fd00:244::5']);
    for (const value of bad) expect(log).toContainEqual(expect.stringContaining(`endpoint address ${JSON.stringify(value)} is invalid (accepted: an IPv6 address without a zone)`));
    const out = rendered(state);
    expectOnlyValidated(out, ['%', 'flush ruleset']);
    expect(out.nft).toContain('fd00:244::5');
  });
});

describe('hostile ports', () => {
  test.each([
    ['0', 0],
    ['70000', 70000],
    ['NaN', Number.NaN],
    ['a string', '8080'],
    ['a fraction', 80.5],
    ['negative', -1],
  ])('an EndpointSlice port of %s drops its endpoints, named', (_, port) => {
    const { state, log } = build([service('web')], [slice('web', ['10.244.1.2'], { port })]);
    expect(state.services.get('default/web:http/TCP')!.endpoints).toEqual([]);
    expect(log).toEqual([`service "default/web": EndpointSlice "web-x": port "http" is ${JSON.stringify(port) ?? String(port)}, invalid (accepted: a port from 1 to 65535); its endpoints dropped`]);
    // The Service itself is still served: with no endpoint, it rejects.
    expectOnlyValidated(rendered(state), ['70000', 'NaN', '80.5']);
    expect(rendered(state).nft).toContain('10.96.0.10 . tcp . 80 : goto reject-chain');
  });

  test.each([
    ['port 0', { ports: [{ name: 'http', port: 0, protocol: 'TCP' }] }, 'port "http": port 0 is invalid'],
    ['port 70000', { ports: [{ name: 'http', port: 70000, protocol: 'TCP' }] }, 'port "http": port 70000 is invalid'],
    ['port NaN', { ports: [{ name: 'http', port: Number.NaN, protocol: 'TCP' }] }, 'port "http": port null is invalid'],
    ['port "80"', { ports: [{ name: 'http', port: '80' as unknown as number, protocol: 'TCP' }] }, 'port "http": port "80" is invalid'],
    ['nodePort 70000', { ports: [{ name: 'http', port: 80, nodePort: 70000, protocol: 'TCP' }] }, 'port "http": nodePort 70000 is invalid'],
    ['a quote in the port name', { ports: [{ name: 'ht"tp', port: 80, protocol: 'TCP' }] }, 'port "ht\\"tp": name is invalid'],
  ])('a Service %s drops that port, named', (_, spec, message) => {
    const { state, log } = build([service('web', spec as Partial<NonNullable<V1Service['spec']>>)], [slice('web', ['10.244.1.2'])]);
    expect(state.services.size).toBe(0);
    expect(log).toEqual([expect.stringContaining(`service "default/web": ${message}`)]);
    expectOnlyValidated(rendered(state), ['70000', '"80"', 'ht"tp']);
  });

  test('a bad healthCheckNodePort is not served; the rest of the Service is', () => {
    const { state, log } = build([service('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 99999 })], [slice('lb', ['10.244.1.2'])]);
    expect(state.services.get('default/lb:http/TCP')).toMatchObject({ healthCheckNodePort: undefined, nodePort: 30080 });
    expect(log).toEqual(['service "default/lb": healthCheckNodePort 99999 is invalid (accepted: a port from 1 to 65535); no health check served']);
  });
});

describe('hostile Services and Nodes', () => {
  test.each([
    ['a quote in the name', service('web"x'), 'namespace "default" or name "web\\"x" is invalid'],
    ['a newline in the namespace', service('web', {}, 'default\n-A INPUT -j ACCEPT'), 'namespace "default\\n-A INPUT -j ACCEPT" or name "web" is invalid'],
    ['a 100-character name', service('a'.repeat(100)), 'is invalid (accepted: DNS labels of at most 63 characters)'],
    ['an affinity timeout of 0', service('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }), 'timeoutSeconds 0 is invalid'],
  ])('%s: the Service is dropped, named', (_, svc, message) => {
    const { state, log } = build([svc], [slice(svc.metadata!.name!, ['10.244.1.2'])]);
    expect(state.services.size).toBe(0);
    expect(log).toEqual([expect.stringContaining(message)]);
    expect(log[0]).not.toContain('\n');
  });

  test('a hostile ClusterIP is ignored; the Service keeps its valid one', () => {
    const { state, log } = build([service('web', { clusterIPs: ['10.96.0.10', '10.96.0.11\nflush ruleset'] })], [slice('web', ['10.244.1.2'])]);
    expect(state.services.get('default/web:http/TCP')!.clusterIPs).toEqual(['10.96.0.10']);
    expect(log).toEqual(['service "default/web": clusterIP "10.96.0.11\\nflush ruleset" is invalid (accepted: an IPv4 address, or an IPv6 address without a zone); ignored']);
    expectOnlyValidated(rendered(state), ['flush ruleset', '10.96.0.11']);
  });

  test("a hostile node address is not a NodePort address", () => {
    const log: string[] = [];
    const node = { metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'InternalIP', address: '192.168.1.11 ; flush ruleset' }] } };
    const state = buildProxyState([service('web')], [slice('web', ['10.244.1.2'])], node, { nodeName: NODE, log: (l) => log.push(l) });
    expect(state.nodeIPs).toEqual(['192.168.1.10']);
    expect(log).toEqual(['node "node1": address "192.168.1.11 ; flush ruleset" is invalid (accepted: an IPv4 address, or an IPv6 address without a zone); NodePorts do not answer on it']);
    expectOnlyValidated(rendered(state), ['flush ruleset']);
  });
});

describe('thousands of endpoints, hostile and not', () => {
  test('5,000 valid endpoints are all rendered; 2,000 hostile ones are all dropped and named', () => {
    const valid = Array.from({ length: 5000 }, (_, i) => `10.${100 + Math.floor(i / 250)}.${i % 250}.1`);
    const hostile = Array.from({ length: 2000 }, (_, i) => `10.1.${Math.floor(i / 250)}.${i % 250}\nflush ruleset`);
    const { state, log } = build([service('big')], [slice('big', [...valid, ...hostile])]);
    expect(state.services.get('default/big:http/TCP')!.endpoints).toHaveLength(5000);
    expect(log).toHaveLength(2000);
    const out = rendered(state);
    expectOnlyValidated(out, ['flush ruleset']);
    expect(out.nft.match(/ : 10\.\d+\.\d+\.1 \. 8080/g)).toHaveLength(5000 + 5000);
    expect(out.iptables.match(/-j DNAT --to-destination/g)).toHaveLength(5000);
  });
});

describe('the renderers check again', () => {
  const port = (patch: Partial<ServicePort>): ServicePort => ({
    key: 'default/web:http',
    namespace: 'default',
    name: 'web',
    portName: 'http',
    protocol: 'TCP',
    clusterIPs: ['10.96.0.10'],
    port: 80,
    nodePort: undefined,
    externalLocal: false,
    internalLocal: false,
    healthCheckNodePort: undefined,
    affinity: undefined,
    scheduler: undefined,
    endpoints: [{ ip: '10.244.1.2', port: 8080, nodeName: NODE, local: true, ready: true, serving: true, terminating: false }],
    ...patch,
  });
  const state = (p: ServicePort): ProxyState => ({ nodeName: NODE, nodeIPs: ['192.168.1.10'], services: new Map([['default/web:http/TCP', p]]) });

  test.each([
    ['an endpoint address', port({ endpoints: [{ ip: '10.244.1.2\nflush ruleset', port: 8080, nodeName: NODE, local: true, ready: true, serving: true, terminating: false }] }), /endpoint address "10\.244\.1\.2\\nflush ruleset" is not an IP address/],
    ['an endpoint port', port({ endpoints: [{ ip: '10.244.1.2', port: 0, nodeName: NODE, local: true, ready: true, serving: true, terminating: false }] }), /endpoint port 0 is not a port from 1 to 65535/],
    ['a ClusterIP', port({ clusterIPs: ['10.96.0.10 ; flush ruleset'] }), /clusterIP "10\.96\.0\.10 ; flush ruleset" is not an IP address/],
    ['a nodePort', port({ nodePort: 70000 }), /nodePort 70000 is not a port/],
    ['a name', port({ name: 'web"' }), /service name "web\\"" is not a DNS label/],
  ])('a state built by hand with a bad %s is refused by every renderer', (_, bad, message) => {
    expect(() => renderServicePort(bad, 'ip')).toThrow(message);
    expect(() => renderIptablesService(bad, 4, ['192.168.1.10'])).toThrow(message);
    expect(() => renderIpvs(state(bad), 'rr')).toThrow(message);
  });

  test('isValidPort and isValidAddress', () => {
    expect([1, 65535, 0, 65536, 1.5, Number.NaN, '80', undefined].map(isValidPort)).toEqual([true, true, false, false, false, false, false, false]);
    expect(['10.0.0.1', 'fd00::1', 'fe80::1%eth0', '10.0.0.01', '10.0.0.1 ', 'FD00::A', '::ffff:1.2.3.4'].map((a) => isValidAddress(a))).toEqual([true, true, false, false, false, true, true]);
  });
});
