import { elementsOf, planFull, planIncremental, type FamilyPlan } from '../../../src/agent/nftables/plan';
import { renderServicePort } from '../../../src/agent/nftables/service';
import { NftablesProxier } from '../../../src/agent/nftables/proxier';
import { shardOf, tableName } from '../../../src/agent/nftables/names';
import { buildProxyState } from '../../../src/agent/state';
import type { ProxyState } from '../../../src/agent/types';
import type { CommandRunner } from '../../../src/agent/exec';
import { newNode, newSlice, NODE, representativeCluster, representativeState } from './fixtures';

const families = ['ip', 'ip6'] as const;

function full(state: ProxyState, previous?: Map<string, FamilyPlan>, now = 0): Map<string, FamilyPlan> {
  return new Map(
    families.map((family) => [
      family,
      planFull({
        family,
        state,
        previous: previous?.get(family)?.services ?? new Map(),
        pending: previous?.get(family)?.pending ?? new Map(),
        tombstones: previous?.get(family)?.tombstones,
        now,
        // A cold start: the kernel was listed and has nothing of ferry's.
        kernel: previous ? undefined : { chains: new Set<string>(), sets: new Set<string>() },
        trusted: previous !== undefined,
      }),
    ]),
  );
}

function incremental(state: ProxyState, previous: Map<string, FamilyPlan>, changed: string[], now = 0): Map<string, FamilyPlan> {
  return new Map(
    families.map((family) => [
      family,
      planIncremental({ family, state, previous: previous.get(family)!.services, pending: previous.get(family)!.pending, tombstones: previous.get(family)!.tombstones, now, changed: new Set(changed) }),
    ]),
  );
}

const text = (plans: Map<string, FamilyPlan>) => [...plans.values()].map((p) => p.tx.text()).join('');

/** The representative cluster with one Service's slice replaced. */
function withSlice(service: string, slice: ReturnType<typeof newSlice> | undefined, dropService = false): ProxyState {
  const { services, slices } = representativeCluster();
  return buildProxyState(
    services.filter((s) => !dropService || s.metadata!.name !== service),
    [...slices.filter((s) => s.metadata!.labels!['kubernetes.io/service-name'] !== service), ...(slice ? [slice] : [])],
    newNode(),
    { nodeName: NODE },
  );
}

describe('nftables rendering (golden)', () => {
  test('full sync of the representative cluster: one transaction for ip and ip6 ferry', () => {
    expect(text(full(representativeState()))).toMatchSnapshot();
  });

  test.each([
    ['ClusterIP + NodePort, TCP', 'default/web:http/TCP'],
    ['ClusterIP + NodePort, UDP', 'default/web:dns/UDP'],
    ['externalTrafficPolicy Local with a local endpoint', 'default/local-with:http/TCP'],
    ['externalTrafficPolicy Local without a local endpoint (NodePort dropped)', 'default/local-without:http/TCP'],
    ['internalTrafficPolicy Local', 'default/internal:http/TCP'],
    ['ClientIP affinity', 'default/sticky:http/TCP'],
    ['no endpoints (rejected)', 'default/empty:http/TCP'],
    ['only serving-terminating endpoints', 'default/leaving:http/TCP'],
  ])('%s', (_, key) => {
    const port = representativeState().services.get(key)!;
    expect(renderServicePort(port, 'ip')).toMatchSnapshot();
  });

  test('dual-stack: each family gets its own ClusterIP and endpoints', () => {
    const port = representativeState().services.get('default/dual:http/TCP')!;
    expect(renderServicePort(port, 'ip')?.elements.map((e) => e.key)).toEqual(['10.96.0.17 . tcp . 80', 'tcp . 30087']);
    expect(renderServicePort(port, 'ip6')).toMatchSnapshot();
  });

  test('headless and ExternalName Services get nothing', () => {
    expect(text(full(representativeState()))).not.toMatch(/headless|external-name/);
  });
});

describe('nftables incremental sync', () => {
  test("a one-Service change touches only that Service's chains and map elements", () => {
    const before = full(representativeState());
    const after = withSlice('web', newSlice('web', [['10.244.1.2'], ['10.244.2.9', { node: 'node2' }]]));
    const tx = text(incremental(after, before, ['default/web:http/TCP', 'default/web:dns/UDP']));
    const lines = tx.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/default\/web\//);
    expect(tx).toMatchSnapshot();
  });

  test("deleting a Service leaves its map elements as tombstones into emptied chains; the next full sync deletes them", () => {
    const before = full(representativeState());
    const gone = incremental(withSlice('sticky', undefined, true), before, ['default/sticky:http/TCP'], 10_000);
    const tx = text(gone);
    // nft dumps the whole ruleset before deleting an element: a one-Service change never does.
    expect(tx).not.toMatch(/delete/);
    expect(tx).toMatch(/flush chain ip ferry clusterip-\w+-default\/sticky\/tcp\/http\n/);
    expect(tx).toMatch(/flush chain ip ferry external-\w+-default\/sticky\/tcp\/http\n/);
    expect(tx).toMatch(/flush chain ip ferry service-\w+-default\/sticky\/tcp\/http\n/);
    // Endpoint chains and affinity sets are unreachable now and stay intact until deleted.
    expect(tx).not.toMatch(/flush (chain ip ferry endpoint-|set)/);
    expect([...gone.get('ip')!.tombstones.keys()].sort()).toEqual(['service-ips|10.96.0.14 . tcp . 80', 'service-nodeports|tcp . 30084']);
    // Less than a second later a full sync deletes the elements, not yet the chains.
    const soon = planFull({ family: 'ip', state: withSlice('sticky', undefined, true), previous: gone.get('ip')!.services, pending: gone.get('ip')!.pending, tombstones: gone.get('ip')!.tombstones, now: 10_500, kernel: undefined, trusted: true });
    expect(soon.tx.text()).toContain('delete element ip ferry service-ips { 10.96.0.14 . tcp . 80 }');
    expect(soon.tx.text()).toContain('delete element ip ferry service-nodeports { tcp . 30084 }');
    expect(soon.tx.text()).not.toMatch(/delete (chain|set) .*sticky/);
    expect(soon.tombstones.size).toBe(0);
    // A second after they were emptied, chains and sets go; the tombstones' targets a second after that.
    const later = planFull({ family: 'ip', state: withSlice('sticky', undefined, true), previous: soon.services, pending: soon.pending, now: 11_000, kernel: undefined, trusted: true });
    expect(later.tx.text()).toMatch(/delete chain ip ferry service-\w+-default\/sticky\/tcp\/http\n/);
    expect(later.tx.text()).toMatch(/delete set ip ferry affinity-\w+-default\/sticky/);
    expect(later.tx.text()).not.toMatch(/delete chain ip ferry clusterip-\w+-default\/sticky/);
    const last = planFull({ family: 'ip', state: withSlice('sticky', undefined, true), previous: later.services, pending: later.pending, now: 11_500, kernel: undefined, trusted: true });
    expect(last.tx.text()).toMatch(/delete chain ip ferry clusterip-\w+-default\/sticky\/tcp\/http\n/);
    expect(last.pending.size).toBe(0);
  });

  test('a Service re-created before the next full sync takes its tombstones back without touching the maps', () => {
    const before = full(representativeState());
    const gone = incremental(withSlice('web', undefined, true), before, ['default/web:http/TCP', 'default/web:dns/UDP']);
    const back = incremental(representativeState(), gone, ['default/web:http/TCP', 'default/web:dns/UDP']);
    expect(text(back)).not.toMatch(/element|add map|delete/);
    expect(text(back)).toMatch(/add chain ip ferry clusterip-\w+-default\/web\/tcp\/http \{ goto service-/);
    expect(back.get('ip')!.tombstones.size).toBe(0);
  });

  test('endpoints going to zero and coming back rewrite the dispatch chain, never the map elements', () => {
    const before = full(representativeState());
    const none = incremental(withSlice('web', undefined), before, ['default/web:http/TCP']);
    expect(text(none)).not.toMatch(/element|add map|delete/);
    expect(text(none)).toMatch(/add chain ip ferry clusterip-\w+-default\/web\/tcp\/http \{ goto reject-chain ; \}/);
    expect(text(none)).toMatch(/add chain ip ferry external-\w+-default\/web\/tcp\/http \{ goto reject-chain ; \}/);
    const back = incremental(representativeState(), none, ['default/web:http/TCP']);
    expect(text(back)).not.toMatch(/element|add map|delete/);
    expect(text(back)).toMatch(/add chain ip ferry clusterip-\w+-default\/web\/tcp\/http \{ goto service-/);
  });

  test('a key that changes hands is deleted at once: a tombstone never leads into a live chain', () => {
    const before = full(representativeState());
    const state = representativeState();
    const web = state.services.get('default/web:http/TCP')!;
    const services = new Map(state.services);
    services.set('default/web:http/TCP', { ...web, port: 8080 });
    const moved = incremental({ ...state, services }, before, ['default/web:http/TCP']);
    expect(text(moved)).toContain('delete element ip ferry service-ips { 10.96.0.10 . tcp . 80 }');
    expect(text(moved)).toMatch(/add map ip ferry service-ips \{[^}]*elements = \{ 10\.96\.0\.10 \. tcp \. 8080 : goto clusterip-/);
    expect(moved.get('ip')!.tombstones.size).toBe(0);
  });

  test('an endpoint leaving rewrites only the policy chain; map elements stay; the endpoint chain is queued for deletion', () => {
    const before = full(representativeState());
    const plans = incremental(withSlice('web', newSlice('web', [['10.244.1.2']])), before, ['default/web:http/TCP']);
    expect(text(plans).trim().split('\n')).toEqual([
      expect.stringMatching(/^flush chain ip ferry service-\w+-default\/web\/tcp\/http$/),
      expect.stringMatching(/^add chain ip ferry service-\w+-default\/web\/tcp\/http \{ goto endpoint-\w+-default\/web\/tcp\/http__10\.244\.1\.2\/8080 ; \}$/),
    ]);
    expect([...plans.get('ip')!.pending.keys()]).toEqual([expect.stringMatching(/^endpoint-\w+-default\/web\/tcp\/http__10\.244\.2\.2\/8080$/)]);
  });

  test('an endpoint coming back within the second reuses its intact chain', () => {
    const before = full(representativeState());
    const shrunk = incremental(withSlice('web', newSlice('web', [['10.244.1.2']])), before, ['default/web:http/TCP']);
    const back = incremental(representativeState(), shrunk, ['default/web:http/TCP']);
    expect(text(back)).not.toMatch(/add chain ip ferry endpoint-/);
    expect(back.get('ip')!.pending.size).toBe(0);
  });

  test('a periodic full sync (trusted record) with nothing changed rewrites only the fixed objects', () => {
    const state = representativeState();
    const first = full(state);
    const again = planFull({ family: 'ip', state, previous: first.get('ip')!.services, pending: new Map(), now: 0, kernel: undefined, trusted: true });
    const text = again.tx.text();
    expect(text).not.toMatch(/default\//);
    expect(text).not.toMatch(/ : goto |delete element/);
    expect(text).toMatch(/add chain ip ferry services \{/);
  });

  test('a full sync after a restart reconciles the listed map elements instead of flushing the maps', () => {
    const state = representativeState();
    const first = full(state).get('ip')!;
    const chains = new Set([...first.services.values()].flatMap((r) => r.chains.map((c) => c.name)));
    const elements = elementsOf(first.services);
    elements.set('service-ips|10.96.9.9 . tcp . 80', { map: 'service-ips', key: '10.96.9.9 . tcp . 80', value: 'goto service-XXXXXXXX-default/gone/tcp/http' });
    // An older ferry hooked nat-prerouting at another priority: that base chain is re-created.
    const baseChains = new Map([
      ['nat-prerouting', { type: 'nat', hook: 'prerouting', prio: -150 }],
      ['nat-output', { type: 'nat', hook: 'output', prio: -100 }],
    ]);
    const restart = planFull({ family: 'ip', state, previous: new Map(), pending: new Map(), now: 0, kernel: { chains, sets: new Set(), baseChains }, elements, trusted: false });
    const text = restart.tx.text();
    expect(text).not.toMatch(/flush map/);
    expect(text).toContain('delete element ip ferry service-ips { 10.96.9.9 . tcp . 80 }');
    expect(text).not.toMatch(/ : goto /);
    // Endpoint chains are content-addressed and exist: not rewritten. Policy chains are.
    expect(text).not.toMatch(/add chain ip ferry endpoint-/);
    expect(text).toMatch(/flush chain ip ferry service-\w+-default\/web\/tcp\/http\n/);
    expect(text).toContain('add chain ip ferry nat-prerouting\ndelete chain ip ferry nat-prerouting\n');
    expect(text).not.toContain('delete chain ip ferry nat-output');
    expect(text).toMatch(/^add table ip ferry\n/);
  });
});

describe('NftablesProxier', () => {
  /** `listing`: what `nft -j list …` answers, by the arguments after `-j`. */
  function fakeNft(listing: Record<string, unknown[]> = {}) {
    const calls: Array<{ args: readonly string[]; input?: string }> = [];
    let fail = false;
    const run: CommandRunner = async (command, args, input) => {
      calls.push({ args, input });
      if (command === 'nft' && args[0] === '-j') return { code: 0, stdout: JSON.stringify({ nftables: listing[args.slice(1).join(' ')] ?? [] }), stderr: '' };
      if (command === 'conntrack') return { code: 1, stdout: '', stderr: '0 flow entries have been deleted.' };
      if (fail) return { code: 1, stdout: '', stderr: 'Error: Could not process rule: No such file or directory' };
      return { code: 0, stdout: '', stderr: '' };
    };
    return { run, calls, failNext: (v: boolean) => (fail = v) };
  }

  test('first sync is full (lists the kernel, one nft -f); later syncs are incremental; a failure makes the next one full', async () => {
    const nft = fakeNft();
    const proxier = new NftablesProxier({ run: nft.run, now: () => 0 });
    const state = representativeState();
    await proxier.sync(state, new Set(['default/web:http/TCP']));
    expect(nft.calls.map((c) => c.args.join(' '))).toEqual(['-j list chains ip', '-j -t list sets ip', '-j list chains ip6', '-j -t list sets ip6', '-f -']);
    nft.calls.length = 0;
    const next = withSlice('web', newSlice('web', [['10.244.1.2']]));
    await proxier.sync(next, new Set(['default/web:http/TCP']));
    expect(nft.calls.filter((c) => c.args[0] === '-j')).toEqual([]);
    nft.failNext(true);
    await expect(proxier.sync(state, new Set(['default/web:http/TCP']))).rejects.toThrow(/nft -f - exited with 1: Error: Could not process rule/);
    nft.failNext(false);
    nft.calls.length = 0;
    await proxier.sync(state, new Set(['default/web:http/TCP']));
    expect(nft.calls[0]?.args.join(' ')).toBe('-j list chains ip');
  });

  test('a removed UDP endpoint has its conntrack entries deleted', async () => {
    const nft = fakeNft();
    const proxier = new NftablesProxier({ run: nft.run, now: () => 0 });
    await proxier.sync(representativeState(), undefined);
    nft.calls.length = 0;
    await proxier.sync(withSlice('web', newSlice('web', [['10.244.1.2']])), new Set(['default/web:dns/UDP', 'default/web:http/TCP']));
    expect(nft.calls.filter((c) => !c.input).map((c) => c.args.join(' '))).toEqual([
      '-D -p udp --orig-dst 10.96.0.10 --dst-nat 10.244.2.2',
      '-D -p udp --dport 30053 --dst-nat 10.244.2.2',
    ]);
  });

  test('a transaction that deletes runs on its own, ending with a listing that spares nft a dump of every chain', async () => {
    const nft = fakeNft();
    let refuseListing = false;
    const run: CommandRunner = async (command, args, input) => {
      if (!refuseListing || !input?.includes('list chain')) return nft.run(command, args, input);
      nft.calls.push({ args, input });
      return { code: 1, stdout: '', stderr: 'Error: No such file or directory' };
    };
    let now = 0;
    const proxier = new NftablesProxier({ run, now: () => now, families: ['ip'], tables: 1 });
    await proxier.sync(representativeState(), undefined);
    await proxier.sync(withSlice('sticky', undefined, true), new Set(['default/sticky:http/TCP']));
    nft.calls.length = 0;
    now = 5000;
    await proxier.sync(withSlice('sticky', undefined, true), undefined);
    const inputs = nft.calls.filter((c) => c.input).map((c) => c.input!);
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toContain('delete element ip ferry service-ips { 10.96.0.14 . tcp . 80 }');
    expect(inputs[0]).toMatch(/\nlist chain ip ferry reject-chain\n$/);

    // The listed chain is gone (someone deleted it): the same transaction again, unlisted.
    nft.calls.length = 0;
    refuseListing = true;
    now = 10_000;
    await proxier.sync(withSlice('sticky', undefined, true), undefined);
    const retried = nft.calls.filter((c) => c.input).map((c) => c.input!);
    expect(retried).toHaveLength(2);
    expect(retried[1]).toBe(retried[0]!.replace('list chain ip ferry reject-chain\n', ''));
    expect(retried[1]).toMatch(/delete chain ip ferry clusterip-\w+-default\/sticky/);
  });

  describe('Services spread over several tables', () => {
    /** The tables (`ip ferry-3`) each Service's chains are written to, by Service. */
    function tablesByService(input: string): Map<string, Set<string>> {
      const out = new Map<string, Set<string>>();
      for (const m of input.matchAll(/^add chain (ip6? ferry(?:-\d+)?) \S+-default\/([a-z-]+)\//gm)) {
        if (!out.has(m[2]!)) out.set(m[2]!, new Set());
        out.get(m[2]!)!.add(m[1]!);
      }
      return out;
    }

    test('each Service lives in the one table its name hashes to; a one-Service change writes only that table', async () => {
      const nft = fakeNft();
      const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 4 });
      await proxier.sync(representativeState(), undefined);
      const input = nft.calls.at(-1)!.input!;
      const placed = tablesByService(input);
      for (const [service, tables] of placed) {
        const shard = shardOf(`default/${service}:http/TCP`, 4);
        expect([service, [...tables].filter((t) => t.startsWith('ip '))]).toEqual([service, [`ip ${tableName(shard)}`]]);
      }
      expect(new Set([...placed.values()].flatMap((t) => [...t])).size).toBeGreaterThan(2);
      // `ferry` always exists; a table is created (with its base chains) only when a Service lands in it.
      const created = [...input.matchAll(/^add chain (ip6? ferry(?:-\d+)?) nat-prerouting \{ type nat/gm)].map((m) => m[1]);
      expect(created).toContain('ip ferry');
      expect(created).toContain('ip6 ferry');
      expect(created.filter((t) => t!.startsWith('ip ')).length).toBeLessThanOrEqual(4);

      nft.calls.length = 0;
      await proxier.sync(withSlice('web', newSlice('web', [['10.244.1.2']])), new Set(['default/web:http/TCP']));
      const change = nft.calls.find((c) => c.input)!.input!;
      const webTable = `ip ${tableName(shardOf('default/web:http/TCP', 4))}`;
      for (const line of change.trim().split('\n')) expect(line).toContain(` ${webTable} `);
    });

    test('a change within one table ends with a listing that narrows what nft reads to it; a change spanning tables is one plain transaction', async () => {
      const nft = fakeNft();
      const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 4, families: ['ip'] });
      await proxier.sync(representativeState(), undefined);
      const webTable = `ip ${tableName(shardOf('default/web:http/TCP', 4))}`;
      nft.calls.length = 0;
      await proxier.sync(withSlice('web', newSlice('web', [['10.244.1.2']])), new Set(['default/web:http/TCP']));
      expect(nft.calls.filter((c) => c.input).map((c) => c.input!.split('\n').at(-2))).toEqual([`list chain ${webTable} reject-chain`]);

      const other = ['local-with', 'local-without', 'internal', 'sticky'].find((name) => shardOf(`default/${name}:http/TCP`, 4) !== shardOf('default/web:http/TCP', 4))!;
      const { services, slices } = representativeCluster();
      const replaced = new Set(['web', other]);
      const both = buildProxyState(
        services,
        [...slices.filter((s) => !replaced.has(s.metadata!.labels!['kubernetes.io/service-name']!)), newSlice('web', [['10.244.1.7']]), newSlice(other, [['10.244.1.8']])],
        newNode(),
        { nodeName: NODE },
      );
      nft.calls.length = 0;
      await proxier.sync(both, new Set(['default/web:http/TCP', `default/${other}:http/TCP`]));
      const inputs = nft.calls.filter((c) => c.input).map((c) => c.input!);
      expect(inputs).toHaveLength(1);
      expect(inputs[0]).toContain(` ${webTable} `);
      expect(inputs[0]).toContain(` ip ${tableName(shardOf(`default/${other}:http/TCP`, 4))} `);
      expect(inputs[0]).not.toContain('list chain');
    });

    test('after a restart, the dispatch maps are listed in one call and only their differences are written', async () => {
      const state = representativeState();
      const web = renderServicePort(state.services.get('default/web:http/TCP')!, 'ip')!;
      const element = web.elements.find((e) => e.map === 'service-ips')!;
      const listed = (key: string, target: string) => [{ concat: key.split(' . ').map((part) => (/^\d+$/.test(part) ? Number(part) : part)) }, { goto: { target } }];
      const nft = fakeNft({
        'list chains ip': web.chains.map((c) => ({ chain: { family: 'ip', table: 'ferry', name: c.name } })),
        'list maps ip': [
          { map: { family: 'ip', table: 'ferry', name: 'service-ips', elem: [listed(element.key, element.value.slice('goto '.length)), listed('10.96.0.99 . tcp . 80', 'clusterip-gone')] } },
          { map: { family: 'ip', table: 'someone-else', name: 'service-ips', elem: [listed('10.96.0.98 . tcp . 80', 'theirs')] } },
        ],
      });
      const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 1, families: ['ip'] });
      await proxier.sync(state, undefined);
      expect(nft.calls.filter((c) => c.args[0] === '-j').map((c) => c.args.join(' '))).toEqual(['-j list chains ip', '-j -t list sets ip', '-j list maps ip']);
      const input = nft.calls.find((c) => c.input)!.input!;
      expect(input).toContain('delete element ip ferry service-ips { 10.96.0.99 . tcp . 80 }');
      expect(input).not.toContain('10.96.0.98');
      expect(input).not.toContain(`${element.key} : ${element.value}`);
      expect(input).toContain('10.96.0.14 . tcp . 80 : goto clusterip-');
    });

    test('a Service landing in a table not set up yet creates that table in the same transaction', async () => {
      const nft = fakeNft();
      const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 64, families: ['ip'] });
      const { services, slices } = representativeCluster();
      const only = (names: string[]) => buildProxyState(services.filter((s) => names.includes(s.metadata!.name!)), slices, newNode(), { nodeName: NODE });
      await proxier.sync(only(['web']), undefined);
      const shard = shardOf('default/sticky:http/TCP', 64);
      expect(shard).not.toBe(shardOf('default/web:http/TCP', 64));
      expect(nft.calls.at(-1)!.input).not.toContain(`ip ${tableName(shard)} `);
      nft.calls.length = 0;
      await proxier.sync(only(['web', 'sticky']), new Set(['default/sticky:http/TCP']));
      const input = nft.calls.find((c) => c.input)!.input!;
      expect(input).toMatch(new RegExp(`^add table ip ${tableName(shard)} \\{ comment`));
      expect(input).toContain(`add chain ip ${tableName(shard)} nat-prerouting { type nat hook prerouting priority -100 ; policy accept ; }`);
      expect(input).toMatch(new RegExp(`add map ip ${tableName(shard)} service-ips .*10\\.96\\.0\\.14 \\. tcp \\. 80 : goto clusterip-`));
      expect(input).not.toMatch(/default\/web\//);
    });

    test('after a restart, a table beyond the count is dropped and a table of another layout is replaced', async () => {
      const chain = (table: string, name: string, hook?: string) => ({ chain: { family: 'ip', table, name, ...(hook ? { type: hook === 'input' ? 'filter' : 'nat', hook, prio: -110 } : {}) } });
      const nft = fakeNft({
        'list chains ip': [chain('ferry-7', 'nat-prerouting', 'prerouting'), chain('ferry', 'filter-input', 'input'), chain('ferry', 'nat-prerouting', 'prerouting'), chain('other', 'filter-input', 'input')],
      });
      const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 4, families: ['ip'] });
      await proxier.sync(representativeState(), undefined);
      const input = nft.calls.find((c) => c.input)!.input!;
      expect(input).toMatch(/^delete table ip ferry\nadd table ip ferry \{ comment/);
      expect(input).toMatch(/\ndelete table ip ferry-7\n$/);
      expect(input).not.toMatch(/ other /);
    });

    test('--cleanup deletes every table of ours and nothing else', async () => {
      const table = (family: string, name: string) => ({ table: { family, name } });
      const nft = fakeNft({ 'list tables': [table('ip', 'ferry'), table('ip', 'ferry-3'), table('ip6', 'ferry-12'), table('ip', 'ferryman'), table('inet', 'ferry-1')] });
      await new NftablesProxier({ run: nft.run }).cleanup();
      expect(nft.calls.at(-1)!.input).toBe('add table ip ferry\ndelete table ip ferry\nadd table ip6 ferry\ndelete table ip6 ferry\ndelete table ip ferry-3\ndelete table ip6 ferry-12\n');
    });
  });
});
