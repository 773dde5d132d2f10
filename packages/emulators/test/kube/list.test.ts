import { apiError, type Harness, startHarness, svc } from './helpers';

describe('kube emulator: list', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    for (const name of ['sel', 'page']) await h.core.createNamespace({ body: { metadata: { name } } });
    const fixtures: [string, Record<string, string>, string?][] = [
      ['a', { app: 'web', tier: 'front' }],
      ['b', { app: 'web', tier: 'back' }],
      ['c', { app: 'db' }, 'NodePort'],
      ['d', {}],
    ];
    for (const [name, labels, type] of fixtures) await h.core.createNamespacedService({ namespace: 'sel', body: svc(name, type ? { type } : {}, { labels }) });
    for (let i = 0; i < 7; i++) await h.core.createNamespacedService({ namespace: 'page', body: svc(`p${i}`) });
  });
  afterAll(() => h.emulator.close());

  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await h.core.listNamespacedService({ namespace: 'sel', labelSelector, fieldSelector })).items.map((s) => s.metadata?.name);

  it.each([
    ['app=web', ['a', 'b']],
    ['app==web', ['a', 'b']],
    ['app!=web', ['c', 'd']],
    ['app in (web, db)', ['a', 'b', 'c']],
    ['app notin (web)', ['c', 'd']],
    ['tier', ['a', 'b']],
    ['!tier', ['c', 'd']],
    ['app=web,tier=back', ['b']],
    ['', ['a', 'b', 'c', 'd']],
  ])('label selector %j', async (selector, expected) => {
    expect(await names(selector)).toEqual(expected);
  });

  it('supports the field selectors the real server does', async () => {
    expect(await names(undefined, 'metadata.name=c')).toEqual(['c']);
    expect(await names(undefined, 'metadata.name!=c')).toEqual(['a', 'b', 'd']);
    expect(await names(undefined, 'spec.type=NodePort')).toEqual(['c']);
    expect(await names('app=web', 'metadata.namespace=sel,metadata.name==b')).toEqual(['b']);
    const unsupported = await apiError(h.core.listNamespacedService({ namespace: 'sel', fieldSelector: 'spec.selector=x' }));
    expect(unsupported.body).toMatchObject({ code: 400, reason: 'BadRequest', message: 'field label not supported: spec.selector' });
    const badLabel = await apiError(h.core.listNamespacedService({ namespace: 'sel', labelSelector: 'app in web' }));
    expect(badLabel.code).toBe(400);
  });

  it('lists across namespaces and returns items without type meta, like the real list', async () => {
    const raw = (await fetch(`${h.emulator.url}/api/v1/services?labelSelector=app%3Dweb`).then((r) => r.json())) as { kind: string; apiVersion: string; items: { kind?: string; metadata: { namespace: string; name: string } }[] };
    expect(raw.kind).toBe('ServiceList');
    expect(raw.apiVersion).toBe('v1');
    expect(raw.items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual(['sel/a', 'sel/b']);
    expect(raw.items[0]?.kind).toBeUndefined();
    const everything = await h.core.listServiceForAllNamespaces();
    expect(everything.items.map((s) => s.metadata?.name)).toContain('kubernetes');
  });

  it('pages with limit and continue from a consistent snapshot', async () => {
    const first = await h.core.listNamespacedService({ namespace: 'page', limit: 3 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['p0', 'p1', 'p2']);
    expect(first.metadata?.remainingItemCount).toBe(4);
    // Changes after the first page do not leak into the following pages.
    await h.core.deleteNamespacedService({ name: 'p4', namespace: 'page' });
    await h.core.createNamespacedService({ namespace: 'page', body: svc('p9') });
    const second = await h.core.listNamespacedService({ namespace: 'page', limit: 3, _continue: first.metadata?._continue });
    expect(second.items.map((s) => s.metadata?.name)).toEqual(['p3', 'p4', 'p5']);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const third = await h.core.listNamespacedService({ namespace: 'page', limit: 3, _continue: second.metadata?._continue });
    expect(third.items.map((s) => s.metadata?.name)).toEqual(['p6']);
    expect(third.metadata?._continue).toBeUndefined();
    const fresh = await h.core.listNamespacedService({ namespace: 'page' });
    expect(fresh.items.map((s) => s.metadata?.name)).toEqual(['p0', 'p1', 'p2', 'p3', 'p5', 'p6', 'p9']);
    const bad = await apiError(h.core.listNamespacedService({ namespace: 'page', _continue: 'garbage' }));
    expect(bad.code).toBe(400);
  });
});
