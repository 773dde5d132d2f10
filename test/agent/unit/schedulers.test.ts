import fc from 'fast-check';
import {
  HASH_TABLE_SIZE,
  bucketTable,
  connectionOverhead,
  createScheduler,
  destinationHashKey,
  isScheduler,
  leastConnection,
  neverQueue,
  shortestExpectedDelay,
  sourceHashKey,
  type RealServer,
} from '../../../src/agent/schedulers';

const server = (id: string, active = 0, inactive = 0, weight?: number): RealServer => ({ id, active, inactive, weight });
const flow = (source: string, destination = '10.96.0.1') => ({ source, destination });
const ids = (servers: (RealServer | undefined)[]) => servers.map((s) => s?.id);

describe('scheduler names', () => {
  it('accepts exactly the six IPVS schedulers', () => {
    for (const name of ['rr', 'lc', 'dh', 'sh', 'sed', 'nq']) expect(isScheduler(name)).toBe(true);
    for (const name of ['wrr', 'wlc', 'RR', '', 'random']) expect(isScheduler(name)).toBe(false);
  });
});

describe('rr (ip_vs_rr.c)', () => {
  it('starts at the first server and cycles in list order', () => {
    const rr = createScheduler('rr');
    const servers = [server('a'), server('b'), server('c')];
    expect(ids(Array.from({ length: 7 }, () => rr.pick(servers, flow('1.1.1.1'))))).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('evens out exactly: every server gets k picks after k·n picks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 20 }), (n, k) => {
        const rr = createScheduler('rr');
        const servers = Array.from({ length: n }, (_, i) => server(`s${i}`));
        const counts = new Map<string, number>();
        for (let i = 0; i < n * k; i++) {
          const id = rr.pick(servers, flow('1.1.1.1'))!.id;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        return counts.size === n && [...counts.values()].every((c) => c === k);
      }),
    );
  });

  it('skips quiesced (weight 0) servers and returns none when all are', () => {
    const rr = createScheduler('rr');
    const servers = [server('a'), server('b', 0, 0, 0), server('c')];
    expect(ids([1, 2, 3, 4].map(() => rr.pick(servers, flow('x'))))).toEqual(['a', 'c', 'a', 'c']);
    expect(rr.pick([server('a', 0, 0, 0)], flow('x'))).toBeUndefined();
    expect(rr.pick([], flow('x'))).toBeUndefined();
  });

  it('after the last picked server is deleted, the one that took its place is next (ip_vs_rr_del_dest)', () => {
    const rr = createScheduler('rr');
    const servers = [server('a'), server('b'), server('c'), server('d')];
    expect(ids([1, 2].map(() => rr.pick(servers, flow('x'))))).toEqual(['a', 'b']);
    const withoutB = servers.filter((s) => s.id !== 'b');
    expect(ids([1, 2, 3].map(() => rr.pick(withoutB, flow('x'))))).toEqual(['c', 'd', 'a']);
  });

  it('keeps its position when a server is added elsewhere', () => {
    const rr = createScheduler('rr');
    expect(rr.pick([server('a'), server('c')], flow('x'))!.id).toBe('a');
    expect(rr.pick([server('a'), server('b'), server('c')], flow('x'))!.id).toBe('b');
  });
});

describe('lc (ip_vs_lc.c): least active×256 + inactive', () => {
  it('computes the overhead as the kernel does', () => {
    expect(connectionOverhead(server('a', 3, 7))).toBe(3 * 256 + 7);
  });

  // Hand-computed: [servers as (active, inactive)] → overheads → the least, first on ties.
  it.each([
    ['one active beats 300 inactive', [[1, 0], [0, 300], [1, 1]], 'a'], // 256, 300, 257
    ['255 inactive beat an extra active', [[2, 0], [1, 255]], 'b'], // 512, 511
    ['ties go to the first', [[0, 5], [0, 5], [0, 4]], 'c'], // 5, 5, 4
    ['equal → first', [[1, 1], [1, 1]], 'a'], // 257, 257
    ['idle wins', [[0, 1], [0, 0]], 'b'], // 1, 0
  ])('%s', (_name, table, expected) => {
    const servers = (table as number[][]).map(([a, i], n) => server(String.fromCharCode(97 + n), a, i));
    expect(leastConnection(servers)!.id).toBe(expected);
    expect(createScheduler('lc').pick(servers, flow('x'))!.id).toBe(expected);
  });

  it('skips quiesced servers', () => {
    expect(leastConnection([server('a', 0, 0, 0), server('b', 9, 9)])!.id).toBe('b');
    expect(leastConnection([server('a', 0, 0, 0)])).toBeUndefined();
  });
});

describe('sed (ip_vs_sed.c): least (active + 1) / weight', () => {
  // Hand-computed expected delays.
  it.each([
    ['weights favour the heavier server', [[2, 3], [0, 1], [1, 3]], 'c'], // 1, 1, 0.667
    ['inactive connections do not count', [[0, 1, 500], [1, 1, 0]], 'a'], // 1, 2
    ['ties go to the first', [[1, 2], [0, 1]], 'a'], // 1, 1
    ['an idle light server can lose to a busy heavy one', [[0, 1], [2, 4]], 'b'], // 1, 0.75
  ])('%s', (_name, table, expected) => {
    const servers = (table as number[][]).map(([a, w, i], n) => server(String.fromCharCode(97 + n), a, i ?? 0, w));
    expect(shortestExpectedDelay(servers)!.id).toBe(expected);
    expect(createScheduler('sed').pick(servers, flow('x'))!.id).toBe(expected);
  });

  it('skips quiesced servers', () => {
    expect(shortestExpectedDelay([server('a', 0, 0, 0), server('b', 5, 0)])!.id).toBe('b');
  });
});

describe('nq (ip_vs_nq.c): the first idle server, else as sed', () => {
  it.each([
    ['an idle server beats a heavier busy one', [[3, 5], [0, 1]], 'b'], // sed would pick a (0.8 < 1)
    ['the first idle one', [[1, 1], [0, 1], [0, 9]], 'b'],
    ['no idle one: sed', [[2, 3], [1, 1], [1, 3]], 'c'], // 1, 2, 0.667
  ])('%s', (_name, table, expected) => {
    const servers = (table as number[][]).map(([a, w], n) => server(String.fromCharCode(97 + n), a, 0, w));
    expect(neverQueue(servers)!.id).toBe(expected);
    expect(createScheduler('nq').pick(servers, flow('x'))!.id).toBe(expected);
  });

  it('an idle but quiesced server is skipped', () => {
    expect(neverQueue([server('a', 0, 0, 0), server('b', 2, 0), server('c', 1, 0)])!.id).toBe('c');
  });
});

describe('dh / sh hash keys (ip_vs_dh_hashkey, ip_vs_sh_hashkey)', () => {
  it('dh: low 8 bits of address × 2654435761', () => {
    // 10.0.0.1 = 0x0a000001; the low byte of the product is 0x01 × 0xb1 = 0xb1.
    expect(destinationHashKey('10.0.0.1')).toBe(0xb1);
    // 2001:db8::1 folds to 0x20010db9; 0xb9 × 0xb1 = 0x7fe9 → 0xe9.
    expect(destinationHashKey('2001:db8::1')).toBe(0xe9);
    expect(destinationHashKey('::ffff:10.0.0.1')).toBe(0xb1);
  });

  it('sh: hash_32(address, 8) = high 8 bits of address × 0x61c88647', () => {
    // 0x61c88647 × 0x0a000001 mod 2³² = 0x61c88647 + 0xc6000000 = 0x27c88647 → 0x27.
    expect(sourceHashKey('10.0.0.1')).toBe(0x27);
    expect(sourceHashKey('0.0.0.0')).toBe(0);
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', 'x', '1.2.3', '1.2.3.256', '1::2::3', 'g::1']) {
      expect(destinationHashKey(bad)).toBeUndefined();
      expect(sourceHashKey(bad)).toBeUndefined();
    }
  });
});

describe('dh / sh bucket tables (ip_vs_{dh,sh}_reassign)', () => {
  it('dh: bucket b belongs to server b mod n, weights ignored', () => {
    const table = bucketTable([server('a', 0, 0, 5), server('b'), server('c')], false);
    expect(table).toHaveLength(HASH_TABLE_SIZE);
    expect(table.slice(0, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('sh: each server fills `weight` consecutive buckets; a quiesced one still takes one', () => {
    const table = bucketTable([server('a', 0, 0, 2), server('b', 0, 0, 0), server('c')], true);
    expect(table.slice(0, 8)).toEqual(['a', 'a', 'b', 'c', 'a', 'a', 'b', 'c']);
  });
});

describe('dh and sh schedulers', () => {
  const four = [server('a'), server('b'), server('c'), server('d')];
  const clients = Array.from({ length: 1024 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);

  it('dh picks the server of the destination bucket', () => {
    // bucket 0xb1 = 177; 177 mod 3 = 0 → the first server.
    expect(createScheduler('dh').pick([server('a'), server('b'), server('c')], flow('9.9.9.9', '10.0.0.1'))!.id).toBe('a');
    // the source does not matter
    const dh = createScheduler('dh');
    const picks = new Set(clients.map((c) => dh.pick(four, flow(c, '10.0.0.1'))!.id));
    expect([...picks]).toEqual(['b']); // 177 mod 4 = 1
  });

  it('sh picks the server of the source bucket (weights spread buckets)', () => {
    // bucket 0x27 = 39; table a,a,b repeating → 39 mod 3 = 0 → a.
    expect(createScheduler('sh').pick([server('a', 0, 0, 2), server('b')], flow('10.0.0.1'))!.id).toBe('a');
  });

  it('sh is stable per client, whatever the connection counts', () => {
    const sh = createScheduler('sh');
    const first = clients.map((c) => sh.pick(four, flow(c))!.id);
    const busy = four.map((s, i) => server(s.id, i * 10, i * 100));
    expect(clients.map((c) => sh.pick(busy, flow(c))!.id)).toEqual(first);
    expect(clients.map((c) => createScheduler('sh').pick(four, flow(c))!.id)).toEqual(first);
  });

  it('sh spreads clients over the servers', () => {
    const sh = createScheduler('sh');
    const counts = new Map<string, number>();
    for (const c of clients) {
      const id = sh.pick(four, flow(c))!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(4);
    for (const n of counts.values()) expect(n / clients.length).toBeGreaterThan(0.15);
  });

  it('dh is stable per destination and spreads destinations', () => {
    const dh = createScheduler('dh');
    const destinations = clients; // any addresses
    const first = destinations.map((d) => dh.pick(four, flow('1.1.1.1', d))!.id);
    expect(destinations.map((d) => dh.pick(four, flow('2.2.2.2', d))!.id)).toEqual(first);
    const counts = new Map<string, number>();
    for (const id of first) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(4);
    for (const n of counts.values()) expect(n / destinations.length).toBeGreaterThan(0.15);
  });

  it('a quiesced server in the bucket means no server (no fallback), and the table follows list changes', () => {
    const sh = createScheduler('sh');
    // 10.0.0.1 → bucket 39 → 39 mod 3 = 0 → a
    expect(sh.pick([server('a', 0, 0, 0), server('b'), server('c')], flow('10.0.0.1'))).toBeUndefined();
    expect(sh.pick([server('b'), server('c')], flow('10.0.0.1'))!.id).toBe('c'); // 39 mod 2 = 1
  });
});
