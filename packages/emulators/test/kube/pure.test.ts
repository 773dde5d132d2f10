/** Unit tests of the emulator's pure parts: selectors, patches, allocators, store history. */
import { StatusError } from '../../src/kube/errors';
import { applyPatch, commonListStrategies, PatchType } from '../../src/kube/patch';
import { IPv4Allocator, PortAllocator } from '../../src/kube/resources/allocators';
import { parseFieldSelector, parseLabelSelector } from '../../src/kube/selectors';
import { ObjectStore } from '../../src/kube/store';
import { toWatchEvent } from '../../src/kube/watch';

const statusOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err.status;
    throw err;
  }
  throw new Error('expected a StatusError');
};

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', replicas: '3' };
  it.each([
    ['app = web', true],
    ['app=web,tier!=back', true],
    ['app in (db,web)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['missing!=x', true],
    ['!app', false],
    ['replicas>2,replicas<4', true],
    ['app=', false],
  ])('%j matches: %s', (selector, expected) => {
    expect(parseLabelSelector(selector).matches(labels)).toBe(expected);
  });
  it('reports parse errors as BadRequest', () => {
    expect(statusOf(() => parseLabelSelector('app in ()'))).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(statusOf(() => parseLabelSelector('app ~ x'))).toMatchObject({ code: 400 });
  });
});

describe('field selectors', () => {
  const allowed = new Set(['metadata.name', 'spec.type']);
  it('matches =, == and != with escapes', () => {
    const sel = parseFieldSelector('metadata.name==a\\,b,spec.type!=NodePort', allowed);
    expect(sel.matches({ 'metadata.name': 'a,b', 'spec.type': 'ClusterIP' })).toBe(true);
    expect(sel.matches({ 'metadata.name': 'a,b', 'spec.type': 'NodePort' })).toBe(false);
  });
  it('rejects unknown fields and malformed terms', () => {
    expect(statusOf(() => parseFieldSelector('spec.ports=1', allowed)).message).toBe('field label not supported: spec.ports');
    expect(statusOf(() => parseFieldSelector('nonsense', allowed)).message).toBe("invalid selector: 'nonsense'; can't understand 'nonsense'");
  });
});

describe('patches', () => {
  const target = { metadata: { name: 'x', labels: { a: '1' }, finalizers: ['f/a'] }, spec: { ports: [{ port: 80, protocol: 'TCP', name: 'http' }], selector: { app: 'x' } } };
  it('merge patch follows RFC 7386', () => {
    expect(applyPatch(PatchType.merge, target, { metadata: { labels: { a: null, b: '2' } }, spec: { selector: null } }, {})).toEqual({
      metadata: { name: 'x', labels: { b: '2' }, finalizers: ['f/a'] },
      spec: { ports: [{ port: 80, protocol: 'TCP', name: 'http' }] },
    });
  });
  it('JSON patch supports move, copy, test and reports failures as 422', () => {
    const out = applyPatch(PatchType.json, target, [{ op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/c' }, { op: 'move', from: '/metadata/labels/a', path: '/metadata/labels/d' }], {});
    expect(out.metadata).toMatchObject({ labels: { c: '1', d: '1' } });
    expect(statusOf(() => applyPatch(PatchType.json, target, [{ op: 'remove', path: '/metadata/labels/zzz' }], {}))).toMatchObject({ code: 422 });
    expect(statusOf(() => applyPatch(PatchType.json, target, { op: 'add' }, {}))).toMatchObject({ code: 400 });
  });
  it('strategic merge patch honours $patch directives', () => {
    const strategies = { ...commonListStrategies, 'spec.ports': { kind: 'merge' as const, keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } } };
    const replaced = applyPatch(PatchType.strategic, target, { spec: { ports: [{ $patch: 'replace' }, { port: 9 }] } }, strategies);
    expect(replaced.spec).toMatchObject({ ports: [{ port: 9 }] });
    const deleted = applyPatch(PatchType.strategic, target, { spec: { selector: { $patch: 'delete' } } }, strategies);
    expect(deleted.spec).toEqual({ ports: target.spec.ports });
  });
  it('refuses unknown patch types with 415', () => {
    expect(statusOf(() => applyPatch('application/apply-patch+yaml', target, {}, {}))).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
  });
});

describe('allocators', () => {
  it('hands out dynamic ClusterIPs above the static band, next-fit', () => {
    const ips = new IPv4Allocator('10.96.5.7/12');
    expect(ips.cidr).toBe('10.96.0.0/12');
    expect(ips.first).toBe('10.96.0.1');
    const a = ips.allocateNext();
    expect(a).toBe('10.96.1.1');
    ips.release(a);
    expect(ips.allocateNext()).toBe('10.96.1.2');
    expect(() => ips.allocate('10.96.0.0')).toThrow('the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12');
  });
  it('uses the static subrange of small ranges and reports a full range', () => {
    const ports = new PortAllocator(30000, 30009);
    const all = Array.from({ length: 10 }, () => ports.allocateNext());
    expect(new Set(all).size).toBe(10);
    expect(() => ports.allocateNext()).toThrow('range is full');
  });
});

describe('store history', () => {
  const obj = (name: string, v: string) => ({ metadata: { name, labels: { v } } });
  it('rebuilds past states and expires history beyond the limit', () => {
    const store = new ObjectStore(2);
    store.create('r', 'a', obj('a', '1'));
    const rv = store.resourceVersion;
    store.update('r', 'a', obj('a', '2'));
    store.create('r', 'b', obj('b', '1'));
    expect(store.listAt('r', rv)?.map((o) => o.metadata.labels)).toEqual([{ v: '1' }]);
    store.delete('r', 'a');
    expect(store.listAt('r', rv)).toBeUndefined();
    expect(store.eventsSince('r', rv)).toEqual({ expired: 2 });
    const since = store.eventsSince('r', 3);
    expect(Array.isArray(since) && since.map((e) => `${e.type} ${e.key} ${e.rv}`)).toEqual(['DELETED a 4']);
  });
  it('turns a change out of a selection into DELETED with the new resourceVersion', () => {
    const store = new ObjectStore(10);
    store.create('r', 'a', obj('a', 'in'));
    store.update('r', 'a', obj('a', 'out'));
    const events = store.eventsSince('r', 0);
    const change = Array.isArray(events) ? events[1] : undefined;
    if (!change) throw new Error('expected the update in the history');
    const event = toWatchEvent(change, (o) => o.metadata.labels?.v === 'in');
    expect(event?.type).toBe('DELETED');
    expect(event?.object.metadata).toMatchObject({ labels: { v: 'in' }, resourceVersion: '2' });
  });
});
