import { AffinityTable } from '../../../src/agent/userspace/affinity';
import { Balancer, ConnectionCount, type BalancerConfig } from '../../../src/agent/userspace/balancer';

const eps = (...ports: number[]) => ports.map((port) => ({ ip: '10.0.0.1', port }));
const config = (over: Partial<BalancerConfig> = {}): BalancerConfig => ({
  scheduler: 'rr',
  affinityTimeoutMs: undefined,
  virtualAddress: '10.96.0.1',
  endpoints: eps(1, 2, 3),
  ...over,
});

describe('AffinityTable (fake clock)', () => {
  it('pins a client until timeoutSeconds after its last new connection', () => {
    const t = new AffinityTable(10_000);
    t.record('c1', 'a', 0);
    expect(t.lookup('c1', 9_999)).toBe('a');
    t.record('c1', 'a', 9_999); // a new connection restarts the timeout
    expect(t.lookup('c1', 19_998)).toBe('a');
    expect(t.lookup('c1', 19_999)).toBeUndefined();
    expect(t.size).toBe(0); // the expired entry is dropped on lookup
  });

  it('sweeps expired entries and those of removed endpoints', () => {
    const t = new AffinityTable(1_000);
    t.record('old', 'a', 0);
    t.record('fresh', 'a', 900);
    t.record('gone', 'b', 900);
    t.sweep(1_000, new Set(['a']));
    expect(t.size).toBe(1);
    expect(t.lookup('fresh', 1_000)).toBe('a');
  });
});

describe('Balancer', () => {
  it('round-robins new connections across endpoints', () => {
    const b = new Balancer(config());
    expect([1, 2, 3, 4].map(() => b.pick('c', 0)!.port)).toEqual([1, 2, 3, 1]);
  });

  it('ClientIP affinity pins each client until it expires', () => {
    let now = 0;
    const b = new Balancer(config({ affinityTimeoutMs: 10_000 }));
    const first = b.pick('client-a', now)!;
    b.connected('client-a', first, now);
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      expect(b.pick('client-a', now)).toBe(first);
      b.connected('client-a', first, now);
    }
    const other = b.pick('client-b', now)!;
    expect(other).not.toBe(first); // rr moved on for the unpinned client
    now += 10_000; // client-a idle for the whole timeout
    expect(b.pick('client-a', now)).not.toBe(first);
  });

  it('skips endpoints that already failed for this connection, then starts over', () => {
    const b = new Balancer(config());
    const tried = new Set(['10.0.0.1:1']);
    expect(b.pick('c', 0, tried)!.port).toBe(2);
    expect(b.pick('c', 0, new Set(['10.0.0.1:1', '10.0.0.1:2', '10.0.0.1:3']))).toBeDefined();
  });

  it('a pinned endpoint that failed is not used again for that connection', () => {
    const b = new Balancer(config({ affinityTimeoutMs: 60_000 }));
    const pinned = b.pick('c', 0)!;
    b.connected('c', pinned, 0);
    const retry = b.pick('c', 1, new Set([pinned.id]))!;
    expect(retry.id).not.toBe(pinned.id);
    b.connected('c', retry, 1); // re-pinned to the endpoint that worked
    expect(b.pick('c', 2)!.id).toBe(retry.id);
  });

  it('an update keeps the counts of remaining endpoints and forgets removed ones (drain)', () => {
    const b = new Balancer(config({ scheduler: 'lc' }));
    const [e1, e2] = b.endpoints;
    const c1 = new ConnectionCount(e1!);
    c1.established();
    new ConnectionCount(e2!).established();
    b.update(config({ scheduler: 'lc', endpoints: eps(1, 3) }));
    expect(b.endpoints.map((e) => e.port)).toEqual([1, 3]);
    expect(b.endpoints[0]).toBe(e1); // same object, live counts kept
    expect(b.has('10.0.0.1:2')).toBe(false);
    for (let i = 0; i < 20; i++) expect(b.pick('c', 0)!.port).not.toBe(2);
    expect(b.pick('c', 0)!.port).toBe(3); // lc: 3 is idle, 1 has an active connection
    c1.release();
    expect(e1!.active).toBe(0);
  });

  it('an affinity pinned to a removed endpoint is not honoured', () => {
    const b = new Balancer(config({ affinityTimeoutMs: 60_000 }));
    const pinned = b.pick('c', 0)!; // port 1
    b.connected('c', pinned, 0);
    b.update(config({ affinityTimeoutMs: 60_000, endpoints: eps(2, 3) }));
    expect(b.pick('c', 1)!.port).not.toBe(1);
  });

  it('switches scheduler on update', () => {
    const b = new Balancer(config({ scheduler: 'rr' }));
    b.update(config({ scheduler: 'dh' }));
    const picks = new Set([1, 2, 3, 4, 5].map((i) => b.pick(`10.2.0.${i}`, 0)!.port));
    expect(picks.size).toBe(1); // dh: one destination, one endpoint
  });

  it('drops duplicate endpoints and has none when empty', () => {
    const b = new Balancer(config({ endpoints: eps(1, 1, 2) }));
    expect(b.endpoints).toHaveLength(2);
    b.update(config({ endpoints: [] }));
    expect(b.pick('c', 0)).toBeUndefined();
  });

  it('sweeps expired affinity entries so the table stays bounded', () => {
    const b = new Balancer(config({ affinityTimeoutMs: 1_000 }));
    for (let i = 0; i < 500; i++) b.connected(`client-${i}`, b.pick(`client-${i}`, 0)!, 0);
    expect(b.affinityEntries).toBe(500);
    b.pick('late', 120_000); // the periodic sweep runs on a pick
    expect(b.affinityEntries).toBe(0);
  });
});

describe('ConnectionCount (IPVS active/inactive accounting)', () => {
  it('inactive while connecting, active when established, inactive when half-closed, gone on release', () => {
    const b = new Balancer(config());
    const e = b.endpoints[0]!;
    const c = new ConnectionCount(e);
    expect([e.active, e.inactive]).toEqual([0, 1]);
    c.established();
    expect([e.active, e.inactive]).toEqual([1, 0]);
    c.halfClosed();
    c.halfClosed();
    c.established(); // a closing connection does not become active again
    expect([e.active, e.inactive]).toEqual([0, 1]);
    c.release();
    c.release();
    expect([e.active, e.inactive]).toEqual([0, 0]);
  });
});
