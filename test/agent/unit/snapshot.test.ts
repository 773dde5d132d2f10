import { ChangeTracker } from '../../../src/agent/changes';
import { Snapshot } from '../../../src/agent/snapshot';
import { clusterIP, newNode, newService, newSlice, NODE, nodePort } from './fixtures';

describe('ChangeTracker', () => {
  test('records {previous, current} per key, merging repeated changes until drained', () => {
    const tracker = new ChangeTracker<{ metadata: { resourceVersion: string }; v: number }>();
    tracker.record('a', { metadata: { resourceVersion: '1' }, v: 1 });
    tracker.record('a', { metadata: { resourceVersion: '2' }, v: 2 });
    expect(tracker.drain()).toEqual([{ key: 'a', previous: undefined, current: { metadata: { resourceVersion: '2' }, v: 2 } }]);
    tracker.record('a', { metadata: { resourceVersion: '3' }, v: 3 });
    tracker.record('a', undefined);
    expect(tracker.drain()).toEqual([{ key: 'a', previous: { metadata: { resourceVersion: '2' }, v: 2 }, current: undefined }]);
  });

  test('a change that ends where it started, or only bumps resourceVersion, is no change', () => {
    const tracker = new ChangeTracker<{ metadata: { resourceVersion: string }; v: number }>();
    tracker.record('a', { metadata: { resourceVersion: '1' }, v: 1 });
    tracker.drain();
    tracker.record('a', { metadata: { resourceVersion: '9' }, v: 1 });
    expect(tracker.hasPending).toBe(false);
    tracker.record('b', { metadata: { resourceVersion: '1' }, v: 1 });
    tracker.record('b', undefined);
    expect(tracker.drain()).toEqual([]);
  });
});

describe('Snapshot', () => {
  const web = newService('web', clusterIP('10.96.0.10'), nodePort(30080));
  const api = newService('api', clusterIP('10.96.0.11'));

  function seeded() {
    const snapshot = new Snapshot({ nodeName: NODE });
    snapshot.node.record(NODE, newNode());
    snapshot.services.record('default/web', web);
    snapshot.services.record('default/api', api);
    snapshot.slices.record('default/web-abc', newSlice('web', [['10.244.1.2']]));
    return snapshot;
  }

  test('the first update is a full build', () => {
    const { state, changed } = seeded().update(false);
    expect(changed).toBeUndefined();
    expect([...state.services.keys()]).toEqual(['default/api:http/TCP', 'default/web:http/TCP']);
  });

  test('later updates rebuild only touched Services and report the service ports that differ', () => {
    const snapshot = seeded();
    const first = snapshot.update(false).state;
    snapshot.slices.record('default/web-abc', newSlice('web', [['10.244.1.2'], ['10.244.1.3']]));
    const { state, changed } = snapshot.update(false);
    expect(changed).toEqual(new Set(['default/web:http/TCP']));
    expect(state.services.get('default/web:http/TCP')?.endpoints).toHaveLength(2);
    expect(state.services.get('default/api:http/TCP')).toBe(first.services.get('default/api:http/TCP'));
    // The previous state is left as it was: proxiers compare against it (conntrack).
    expect(first.services.get('default/web:http/TCP')?.endpoints).toHaveLength(1);
  });

  test('a change proxying does not care about (a label) yields no changed port; a deleted Service yields its keys', () => {
    const snapshot = seeded();
    snapshot.update(false);
    snapshot.services.record('default/api', { ...api, metadata: { ...api.metadata, labels: { team: 'x' } } });
    expect(snapshot.update(false).changed).toEqual(new Set());
    snapshot.services.record('default/web', undefined);
    const { state, changed } = snapshot.update(false);
    expect(changed).toEqual(new Set(['default/web:http/TCP']));
    expect(state.services.has('default/web:http/TCP')).toBe(false);
  });

  test("a change of the node's addresses rebuilds everything", () => {
    const snapshot = seeded();
    snapshot.update(false);
    snapshot.node.record(NODE, newNode(NODE, (n) => (n.status!.addresses = [{ type: 'InternalIP', address: '192.168.1.99' }])));
    const { state, changed } = snapshot.update(false);
    expect(changed).toBeUndefined();
    expect(state.nodeIPs).toEqual(['192.168.1.99']);
  });

  test('a dropped endpoint is logged once, not again at every full rebuild', () => {
    const lines: string[] = [];
    const snapshot = new Snapshot({ nodeName: NODE, log: (line) => lines.push(line) });
    snapshot.node.record(NODE, newNode());
    snapshot.services.record('default/web', web);
    snapshot.slices.record('default/web-abc', newSlice('web', [['10.244.1.2'], ['10.244.1.3\nflush ruleset']]));
    for (let i = 0; i < 3; i++) expect(snapshot.update(true).state.services.get('default/web:http/TCP')?.endpoints.map((e) => e.ip)).toEqual(['10.244.1.2']);
    expect(lines).toEqual(['service "default/web": EndpointSlice "web-abc": endpoint address "10.244.1.3\\nflush ruleset" is invalid (accepted: an IPv4 address); endpoint dropped']);
  });
});

describe('Snapshot: what every Service depends on', () => {
  test("a change of the Node's zone (topology hints) or pod CIDRs (NodeCIDR detection) rebuilds everything; other Node changes do not", () => {
    const snapshot = new Snapshot({ nodeName: NODE, detector: { mode: 'NodeCIDR', clusterCIDRs: [], bridgeInterface: undefined, interfaceNamePrefix: undefined } });
    snapshot.node.record(NODE, newNode());
    snapshot.services.record('default/web', newService('web', clusterIP('10.96.0.10')));
    snapshot.update(false);
    snapshot.node.record(NODE, newNode(NODE, (n) => (n.metadata!.annotations = { unrelated: 'x' })));
    expect(snapshot.update(false).changed).toEqual(new Set());
    snapshot.node.record(NODE, newNode(NODE, (n) => (n.metadata!.labels = { 'topology.kubernetes.io/zone': 'zone-a' })));
    expect(snapshot.update(false).changed).toBeUndefined();
    snapshot.node.record(NODE, newNode(NODE, (n) => {
      n.metadata!.labels = { 'topology.kubernetes.io/zone': 'zone-a' };
      n.spec = { podCIDRs: ['10.244.1.0/24'] };
    }));
    const update = snapshot.update(false);
    expect(update.changed).toBeUndefined();
    expect(update.state.podTraffic).toEqual({ 4: { kind: 'cidr', cidr: '10.244.1.0/24' } });
  });
});
