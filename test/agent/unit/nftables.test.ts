import { emptyChanges, tableContent, updateContent, type TableContent } from '../../../src/agent/nftables/content';
import { planTable } from '../../../src/agent/nftables/plan';
import { renderServicePort, type ServiceRender } from '../../../src/agent/nftables/service';
import { NftablesProxier } from '../../../src/agent/nftables/proxier';
import { shardOf, stateChain, tableName, type Family } from '../../../src/agent/nftables/names';
import { buildProxyState } from '../../../src/agent/state';
import type { ProxyState } from '../../../src/agent/types';
import type { CommandRunner } from '../../../src/agent/exec';
import { clusterIP, newNode, newService, newSlice, NODE, representativeCluster, representativeState } from './fixtures';

const families = ['ip', 'ip6'] as const;

function rendersOf(state: ProxyState, family: Family): ServiceRender[] {
  return [...state.services.values()].flatMap((port) => renderServicePort(port, family) ?? []);
}

/** A cold start of one table per family: what `nft -f` gets. */
function coldText(state: ProxyState): string {
  return families
    .map((family) => planTable({ family, table: 'ferry', desired: tableContent(family, rendersOf(state, family), state.nodeIPs.filter((ip) => ip.includes(':') === (family === 'ip6'))), listed: 'absent', pending: new Map(), now: 0, collect: true }).tx.text())
    .join('');
}

/** The ip table committed for `before`, then updated to `after` (only `changed` keys re-rendered): the incremental transaction. */
function incrementalText(before: ProxyState, after: ProxyState, changed: string[], now = 0, pending = new Map()) {
  const renders = new Map([...before.services].flatMap(([key, port]) => (renderServicePort(port, 'ip') ? [[key, renderServicePort(port, 'ip')!] as const] : [])));
  const content = tableContent('ip', renders.values(), before.nodeIPs);
  const fingerprint = content.fingerprint;
  const removed = changed.flatMap((key) => (renders.has(key) ? [renders.get(key)!] : []));
  const added = changed.flatMap((key) => (after.services.has(key) && renderServicePort(after.services.get(key)!, 'ip') ? [renderServicePort(after.services.get(key)!, 'ip')!] : []));
  const changes = emptyChanges();
  updateContent('ip', content, removed, added, after.nodeIPs, changes);
  const plan = planTable({ family: 'ip', table: 'ferry', desired: content, changes: { changes, fingerprint }, pending, now, collect: false });
  return { text: plan.tx.text(), pending: plan.pending, content };
}

/** The representative cluster with one Service's slice replaced (or the Service dropped). */
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
  test('cold start of the representative cluster: one table per family, maps instead of per-endpoint chains', () => {
    const text = coldText(representativeState());
    expect(text).toMatchSnapshot();
    // Only the ClientIP-affinity Service has chains of its own.
    const ownChains = [...text.matchAll(/^add chain ip6? ferry (\S+-default\/[a-z-]+)\//gm)].map((m) => m[1]!.split('-default/')[0]);
    expect(new Set([...text.matchAll(/^add chain ip6? ferry \S+-default\/([a-z-]+)\//gm)].map((m) => m[1]))).toEqual(new Set(['sticky']));
    expect(ownChains.length).toBeGreaterThan(0);
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

  test('endpoints are picked by one map lookup keyed by the packet and a random index', () => {
    const web = renderServicePort(representativeState().services.get('default/web:http/TCP')!, 'ip')!;
    expect(web.elements.filter((e) => e.map !== 'hairpin')).toEqual([
      { map: 'service-ips', key: '10.96.0.10 . tcp . 80', value: 'goto dnat-tcp-2' },
      { map: 'cluster-endpoints-tcp', key: '10.96.0.10 . 80 . 0', value: '10.244.1.2 . 8080' },
      { map: 'cluster-endpoints-tcp', key: '10.96.0.10 . 80 . 1', value: '10.244.2.2 . 8080' },
      { map: 'service-nodeports', key: 'tcp . 30080', value: 'goto nodeport-tcp-2' },
      { map: 'nodeport-endpoints-tcp', key: '30080 . 0', value: '10.244.1.2 . 8080' },
      { map: 'nodeport-endpoints-tcp', key: '30080 . 1', value: '10.244.2.2 . 8080' },
    ]);
    expect(web.chains.find((c) => c.name === 'dnat-tcp-2')!.rules).toEqual(['dnat ip to ip daddr . tcp dport . numgen random mod 2 map @cluster-endpoints-tcp']);
    // Hairpin: only this node's endpoint can reach itself through this node's rules.
    expect(web.elements.filter((e) => e.map === 'hairpin')).toEqual([{ map: 'hairpin', key: '10.244.1.2 . 10.244.1.2', value: '' }]);
  });

  test('dual-stack: each family gets its own ClusterIP and endpoints', () => {
    const port = representativeState().services.get('default/dual:http/TCP')!;
    expect(renderServicePort(port, 'ip')?.elements.filter((e) => e.map === 'service-ips').map((e) => e.key)).toEqual(['10.96.0.17 . tcp . 80']);
    expect(renderServicePort(port, 'ip6')).toMatchSnapshot();
  });

  test('headless and ExternalName Services get nothing', () => {
    expect(coldText(representativeState())).not.toMatch(/headless|external-name|10\.244\.1\.9/);
  });
});

describe('nftables incremental sync', () => {
  test("a one-Service change writes only that Service's map elements and the table's state chain", () => {
    const after = withSlice('web', newSlice('web', [['10.244.1.2'], ['10.244.2.9', { node: 'node2' }]]));
    const { text } = incrementalText(representativeState(), after, ['default/web:http/TCP', 'default/web:dns/UDP']);
    expect(text).toMatchSnapshot();
    expect(text).not.toMatch(/sticky|local-with|10\.96\.0\.1[1-7]/);
    expect(text).toContain('delete element ip ferry cluster-endpoints-tcp { 10.96.0.10 . 80 . 1 }');
    expect(text).toMatch(/elements = \{ 10\.96\.0\.10 \. 80 \. 1 : 10\.244\.2\.9 \. 8080 \}/);
    expect(text).toMatch(/add chain ip ferry state-2-\w+\ndelete chain ip ferry state-2-\w+\n/);
  });

  test('endpoints going to zero: the ClusterIP and NodePort reject; coming back: the shared chain is there already', () => {
    const none = incrementalText(representativeState(), withSlice('web', undefined), ['default/web:http/TCP']);
    expect(none.text).toMatch(/add map ip ferry service-ips \{[^}]*elements = \{ 10\.96\.0\.10 \. tcp \. 80 : goto reject-chain \}/);
    expect(none.text).toMatch(/add map ip ferry service-nodeports \{[^}]*elements = \{ tcp \. 30080 : goto reject-chain \}/);
    expect(none.text).toContain('delete element ip ferry cluster-endpoints-tcp { 10.96.0.10 . 80 . 0, 10.96.0.10 . 80 . 1 }');
    // dnat-tcp-2 is still used by other Services: not retired.
    expect(none.text).not.toMatch(/chain ip ferry dnat-tcp-2/);
  });

  test("a deleted Service with affinity: its elements go at once, its chains are emptied, deleted a second later", () => {
    const gone = incrementalText(representativeState(), withSlice('sticky', undefined, true), ['default/sticky:http/TCP'], 10_000);
    expect(gone.text).toContain('delete element ip ferry service-ips { 10.96.0.14 . tcp . 80 }');
    expect(gone.text).toContain('delete element ip ferry service-nodeports { tcp . 30084 }');
    expect(gone.text).toMatch(/flush chain ip ferry clusterip-\w+-default\/sticky\/tcp\/http\n/);
    expect(gone.text).toMatch(/flush chain ip ferry service-\w+-default\/sticky\/tcp\/http\n/);
    // Endpoint chains and affinity sets stay intact until deleted: a name that exists has its content.
    expect(gone.text).not.toMatch(/flush (chain ip ferry endpoint-|set)|delete (chain|set) ip ferry (endpoint|affinity|clusterip)/);
    expect([...gone.pending.keys()].filter((n) => n.includes('sticky'))).toHaveLength(7);
    const soon = planTable({ family: 'ip', table: 'ferry', desired: gone.content, changes: { changes: emptyChanges(), fingerprint: gone.content.fingerprint }, pending: gone.pending, now: 10_500, collect: true });
    expect(soon.tx.text()).toBe('');
    const later = planTable({ family: 'ip', table: 'ferry', desired: gone.content, changes: { changes: emptyChanges(), fingerprint: gone.content.fingerprint }, pending: gone.pending, now: 11_000, collect: true });
    const lines = later.tx.text().trim().split('\n');
    expect(lines.filter((l) => l.startsWith('delete chain'))).toHaveLength(5);
    expect(lines.filter((l) => l.startsWith('delete set'))).toHaveLength(2);
    expect(lines.findIndex((l) => l.startsWith('delete set'))).toBeGreaterThan(lines.findLastIndex((l) => l.startsWith('delete chain')));
    expect(later.pending.size).toBe(0);
  });

  test('a hairpin element goes only when no Service uses its endpoint any more', () => {
    const two = buildProxyState(
      [newService('a', clusterIP('10.96.1.1')), newService('b', clusterIP('10.96.1.2'))],
      [newSlice('a', [['10.244.1.50']]), newSlice('b', [['10.244.1.50']])],
      newNode(),
      { nodeName: NODE },
    );
    const one = { ...two, services: new Map([...two.services].filter(([key]) => !key.startsWith('default/b:'))) };
    const first = incrementalText(two, one, ['default/b:http/TCP']);
    expect(first.text).not.toMatch(/hairpin/);
    const none = { ...two, services: new Map() };
    expect(incrementalText(one, none, ['default/a:http/TCP']).text).toContain('delete element ip ferry hairpin { 10.244.1.50 . 10.244.1.50 }');
  });

  test('a key that changes hands (a ClusterIP reused by another Service) is rewritten, not lost', () => {
    const state = representativeState();
    const web = state.services.get('default/web:http/TCP')!;
    const services = new Map(state.services);
    services.delete('default/web:http/TCP');
    services.set('default/other:http/TCP', { ...web, key: 'default/other:http', name: 'other', endpoints: [{ ...web.endpoints[0]!, ip: '10.244.1.77' }] });
    const { text, content } = incrementalText(state, { ...state, services }, ['default/web:http/TCP', 'default/other:http/TCP']);
    expect(content.elements.get('service-ips')!.get('10.96.0.10 . tcp . 80')).toBe('goto dnat-tcp-1');
    expect(text).toContain('delete element ip ferry service-ips { 10.96.0.10 . tcp . 80 }');
    expect(text).toMatch(/10\.96\.0\.10 \. 80 \. 0 : 10\.244\.1\.77 \. 8080/);
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
    return { run, calls, failNext: (v: boolean) => (fail = v), inputs: () => calls.filter((c) => c.input).map((c) => c.input!) };
  }

  /** What a listing of the kernel shows after `input` was applied: chain names (with base chains' hooks) and set names. */
  function listingAfter(input: string): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = { 'list chains ip': [], 'list chains ip6': [], '-t list sets ip': [], '-t list sets ip6': [] };
    for (const m of input.matchAll(/^add chain (ip6?) (\S+) (\S+)(?: \{ type (\w+) hook (\w+) priority (-?\d+))?/gm)) {
      out[`list chains ${m[1]}`]!.push({ chain: { family: m[1], table: m[2], name: m[3], ...(m[4] ? { type: m[4], hook: m[5], prio: Number(m[6]) } : {}) } });
    }
    for (const m of input.matchAll(/^add set (ip6?) (\S+) (affinity-\S+)/gm)) out[`-t list sets ${m[1]}`]!.push({ set: { family: m[1], table: m[2], name: m[3] } });
    return out;
  }

  test('first sync lists chain and set names only, then writes; later syncs are incremental; a failure makes the next one list again', async () => {
    const nft = fakeNft();
    const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 1 });
    const state = representativeState();
    await proxier.sync(state, new Set(['default/web:http/TCP']));
    expect(nft.calls.map((c) => c.args.join(' '))).toEqual(['-j list chains ip', '-j -t list sets ip', '-j list chains ip6', '-j -t list sets ip6', '-f -']);
    nft.calls.length = 0;
    await proxier.sync(withSlice('web', newSlice('web', [['10.244.1.2']])), new Set(['default/web:http/TCP']));
    expect(nft.calls.filter((c) => c.args[0] === '-j')).toEqual([]);
    nft.failNext(true);
    await expect(proxier.sync(state, new Set(['default/web:http/TCP']))).rejects.toThrow(/nft -f - exited with 1: Error: Could not process rule/);
    nft.failNext(false);
    nft.calls.length = 0;
    await proxier.sync(state, new Set(['default/web:http/TCP']));
    expect(nft.calls[0]?.args.join(' ')).toBe('-j list chains ip');
  });

  test('a periodic full sync with nothing changed writes nothing', async () => {
    const nft = fakeNft();
    const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 4 });
    await proxier.sync(representativeState(), undefined);
    nft.calls.length = 0;
    await proxier.sync(representativeState(), undefined);
    expect(nft.inputs()).toEqual([]);
  });

  test('a restart finds each table by its state chain: unchanged tables are not written, changed ones refilled in one transaction', async () => {
    const first = fakeNft();
    await new NftablesProxier({ run: first.run, now: () => 0, tables: 4, families: ['ip'] }).sync(representativeState(), undefined);
    const listing = listingAfter(first.inputs()[0]!);
    const same = fakeNft(listing);
    await new NftablesProxier({ run: same.run, now: () => 0, tables: 4, families: ['ip'] }).sync(representativeState(), undefined);
    expect(same.inputs()).toEqual([]);

    const changed = fakeNft(listing);
    await new NftablesProxier({ run: changed.run, now: () => 0, tables: 4, families: ['ip'] }).sync(withSlice('web', newSlice('web', [['10.244.1.2']])), undefined);
    const [input] = changed.inputs();
    const webTable = `ip ${tableName(shardOf('default/web:http/TCP', 4))}`;
    // Only the table that holds web is written: its maps flushed and refilled, its old state chain replaced.
    expect(new Set([...input!.matchAll(/^\S+ \S+ (ip \S+) /gm)].map((m) => m[1]))).toEqual(new Set([webTable]));
    expect(input).toContain(`flush map ${webTable} cluster-endpoints-tcp\n`);
    expect(input).toMatch(new RegExp(`delete chain ${webTable} state-2-\\w+\\n`));
    expect(input).not.toMatch(/delete table|add table/);
  });

  test('a restart replaces a table of an older layout (no state chain) and drops tables beyond the count', async () => {
    const chain = (table: string, name: string, hook?: string) => ({ chain: { family: 'ip', table, name, ...(hook ? { type: 'nat', hook, prio: hook === 'postrouting' ? 100 : -100 } : {}) } });
    const old = ['nat-prerouting', 'nat-output', 'nat-postrouting'];
    const nft = fakeNft({
      'list chains ip': [
        ...old.map((n) => chain('ferry', n, n.slice(4))),
        chain('ferry', 'endpoint-ABCDEFGH-default/web/tcp/http__10.244.1.2/8080'),
        chain('ferry-7', 'nat-prerouting', 'prerouting'),
        chain('other', 'nat-prerouting', 'prerouting'),
      ],
    });
    await new NftablesProxier({ run: nft.run, now: () => 0, tables: 4, families: ['ip'] }).sync(representativeState(), undefined);
    const input = nft.inputs().join('');
    expect(input).toMatch(/^delete table ip ferry\nadd table ip ferry \{ comment/m);
    expect(input).toMatch(/^delete table ip ferry-7$/m);
    expect(input).not.toMatch(/ other /);
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

  test('each Service lives in the one table its name hashes to; a one-Service change writes only that table', async () => {
    const nft = fakeNft();
    const proxier = new NftablesProxier({ run: nft.run, now: () => 0, tables: 4 });
    await proxier.sync(representativeState(), undefined);
    const input = nft.inputs().at(-1)!;
    for (const [key] of representativeState().services) {
      const ip = /^default\/(\w[\w-]*):/.exec(key)![1];
      const table = `ip ${tableName(shardOf(key, 4))}`;
      const service = representativeState().services.get(key)!;
      const v4 = service.clusterIPs.find((a) => !a.includes(':'))!;
      expect([ip, input.match(new RegExp(`^add map (ip \\S+) service-ips .*${v4.replaceAll('.', '\\.')} \\. `, 'm'))?.[1]]).toEqual([ip, table]);
    }
    nft.calls.length = 0;
    await proxier.sync(withSlice('web', newSlice('web', [['10.244.1.2']])), new Set(['default/web:http/TCP']));
    const webTable = `ip ${tableName(shardOf('default/web:http/TCP', 4))}`;
    for (const line of nft.inputs()[0]!.trim().split('\n')) expect(line).toContain(` ${webTable} `);
  });

  test('a large sync is split into two nft processes over disjoint tables', async () => {
    const nft = fakeNft();
    await new NftablesProxier({ run: nft.run, now: () => 0, tables: 4, families: ['ip'], parallelBytes: 100 }).sync(representativeState(), undefined);
    const inputs = nft.inputs();
    expect(inputs).toHaveLength(2);
    const tables = inputs.map((i) => new Set([...i.matchAll(/^add table (ip \S+)/gm)].map((m) => m[1])));
    expect([...tables[0]!].filter((t) => tables[1]!.has(t))).toEqual([]);
    expect(tables[0]!.size + tables[1]!.size).toBeGreaterThanOrEqual(2);
  });

  test('--cleanup deletes every table of ours and nothing else', async () => {
    const table = (family: string, name: string) => ({ table: { family, name } });
    const nft = fakeNft({ 'list tables': [table('ip', 'ferry'), table('ip', 'ferry-3'), table('ip6', 'ferry-12'), table('ip', 'ferryman'), table('inet', 'ferry-1')] });
    await new NftablesProxier({ run: nft.run }).cleanup();
    expect(nft.calls.at(-1)!.input).toBe('add table ip ferry\ndelete table ip ferry\nadd table ip6 ferry\ndelete table ip6 ferry\ndelete table ip ferry-3\ndelete table ip6 ferry-12\n');
  });

  test('the state chain names the fingerprint of everything a table holds', () => {
    const content: TableContent = tableContent('ip', rendersOf(representativeState(), 'ip'), ['192.168.1.10']);
    const other = tableContent('ip', rendersOf(withSlice('web', newSlice('web', [['10.244.1.2']])), 'ip'), ['192.168.1.10']);
    const otherNode = tableContent('ip', rendersOf(representativeState(), 'ip'), ['192.168.1.11']);
    expect(new Set([content.fingerprint, other.fingerprint, otherNode.fingerprint]).size).toBe(3);
    expect(stateChain(content.fingerprint)).toMatch(/^state-2-[0-9a-f]{24}$/);
  });
});
