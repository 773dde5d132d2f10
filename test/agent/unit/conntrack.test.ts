import { conntrackArgs, staleConntrackFilters } from '../../../src/agent/conntrack';
import { buildProxyState } from '../../../src/agent/state';
import { clusterIP, newNode, newService, newSlice, NODE, nodePort, udpToo } from './fixtures';

const state = (endpoints: string[]) =>
  buildProxyState([newService('dns', clusterIP('10.96.0.10'), udpToo, nodePort(30080, 30053))], endpoints.length ? [newSlice('dns', endpoints.map((ip) => [ip]))] : [], newNode(), { nodeName: NODE });

test('a UDP endpoint that went away: entries DNATed to it via the ClusterIP and the NodePort (TCP needs nothing)', () => {
  const filters = staleConntrackFilters(state(['10.244.1.2', '10.244.1.3']), state(['10.244.1.2']), undefined);
  expect(filters.map(conntrackArgs)).toEqual([
    ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--dst-nat', '10.244.1.3'],
    ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.244.1.3'],
  ]);
});

test('a UDP Service that gets its first endpoint: every entry to its ClusterIP and NodePort', () => {
  expect(staleConntrackFilters(state([]), state(['10.244.1.2']), new Set(['default/dns:dns/UDP'])).map(conntrackArgs)).toEqual([
    ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10'],
    ['-D', '-p', 'udp', '--dport', '30053'],
  ]);
});

test('nothing when nothing UDP changed', () => {
  expect(staleConntrackFilters(state(['10.244.1.2']), state(['10.244.1.2', '10.244.1.3']), undefined)).toEqual([]);
  expect(staleConntrackFilters(state(['10.244.1.2', '10.244.1.3']), state(['10.244.1.2']), new Set(['default/dns:http/TCP']))).toEqual([]);
});
