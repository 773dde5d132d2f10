import { elementsOf, planFull, planIncremental, type FamilyPlan } from '../../../src/agent/nftables/plan';
import { renderServicePort } from '../../../src/agent/nftables/service';
import { NftablesProxier } from '../../../src/agent/nftables/proxier';
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
      planIncremental({ family, state, previous: previous.get(family)!.services, pending: previous.get(family)!.pending, now, changed: new Set(changed) }),
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

  test("deleting a Service deletes its map elements and empties its policy chains; its chains and sets go a second later", () => {
    const before = full(representativeState());
    const gone = incremental(withSlice('sticky', undefined, true), before, ['default/sticky:http/TCP'], 10_000);
    const tx = text(gone);
    expect(tx).toContain('delete element ip ferry service-ips { 10.96.0.14 . tcp . 80 }');
    expect(tx).toContain('delete element ip ferry service-nodeports { tcp . 30084 }');
    expect(tx).toMatch(/flush chain ip ferry service-\w+-default\/sticky\/tcp\/http\n/);
    // Endpoint chains and affinity sets are unreachable now and stay intact until deleted.
    expect(tx).not.toMatch(/flush (chain ip ferry endpoint-|set)/);
    expect(tx).not.toMatch(/delete chain/);
    // Less than a second later nothing is deleted; after it, the next deleting transaction does.
    const soon = incremental(withSlice('empty', undefined, true), gone, ['default/empty:http/TCP'], 10_500);
    expect(text(soon)).not.toMatch(/delete chain .*sticky/);
    const later = incremental(withSlice('web', undefined, true), soon, ['default/web:http/TCP'], 11_500);
    expect(text(later)).toMatch(/delete chain ip ferry service-\w+-default\/sticky\/tcp\/http\n/);
    expect(text(later)).toMatch(/delete set ip ferry affinity-\w+-default\/sticky/);
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
  function fakeNft() {
    const calls: Array<{ args: readonly string[]; input?: string }> = [];
    let fail = false;
    const run: CommandRunner = async (command, args, input) => {
      calls.push({ args, input });
      if (command === 'nft' && args[0] === '-j') return { code: 0, stdout: '{"nftables":[]}', stderr: '' };
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
});
