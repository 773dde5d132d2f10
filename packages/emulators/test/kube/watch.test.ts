import { type KubernetesObject, makeInformer, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { KubeEmulator } from '../../src/kube';
import { apiError, type Harness, startHarness, svc, WatchRecorder, waitFor } from './helpers';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('kube emulator: watch', () => {
  let h: Harness;
  const recorders: WatchRecorder[] = [];
  const watch = async (path: string, query: Record<string, string | number | boolean | undefined> = {}) => {
    const r = await WatchRecorder.start(h.kc, path, query);
    recorders.push(r);
    return r;
  };
  beforeAll(async () => {
    h = await startHarness({ bookmarkIntervalMs: 40 });
    await h.core.createNamespace({ body: { metadata: { name: 'w' } } });
  });
  afterEach(() => recorders.splice(0).forEach((r) => r.stop()));
  afterAll(() => h.emulator.close());

  const ns = 'w';
  const relabel = (name: string, labels: Record<string, string | null>) => h.core.patchNamespacedService({ name, namespace: ns, body: { metadata: { labels } } }, merge);

  it('starts with ADDED for the current state without a resourceVersion, then streams changes', async () => {
    await h.core.createNamespacedService({ namespace: ns, body: svc('initial') });
    const w = await watch(`/api/v1/namespaces/${ns}/services`);
    await w.waitForCount(1);
    await h.core.createNamespacedService({ namespace: ns, body: svc('later') });
    await w.waitForCount(2);
    expect(w.summary()).toEqual(['ADDED initial', 'ADDED later']);
  });

  it('replays history after a resourceVersion and nothing before it', async () => {
    const list = await h.core.listNamespacedService({ namespace: ns });
    const rv = list.metadata?.resourceVersion;
    await h.core.createNamespacedService({ namespace: ns, body: svc('after-list') });
    await relabel('after-list', { x: '1' });
    const w = await watch(`/api/v1/namespaces/${ns}/services`, { resourceVersion: rv });
    await w.waitForCount(2);
    expect(w.summary()).toEqual(['ADDED after-list', 'MODIFIED after-list']);
  });

  it('applies selectors to old and new state: leaving the selection is DELETED, entering it is ADDED', async () => {
    await h.core.createNamespacedService({ namespace: ns, body: svc('sel', {}, { labels: { team: 'a' } }) });
    const w = await watch(`/api/v1/namespaces/${ns}/services`, { labelSelector: 'team=a', resourceVersion: (await h.core.readNamespacedService({ name: 'sel', namespace: ns })).metadata?.resourceVersion });
    const moved = await relabel('sel', { team: 'b' });
    const back = await relabel('sel', { team: 'a' });
    await relabel('sel', { extra: 'y' });
    await w.waitForCount(3);
    expect(w.summary()).toEqual(['DELETED sel', 'ADDED sel', 'MODIFIED sel']);
    const deleted = w.events[0]?.object;
    // The previous content, at the resourceVersion of the change.
    expect(deleted.metadata.labels).toEqual({ team: 'a' });
    expect(deleted.metadata.resourceVersion).toBe(moved.metadata?.resourceVersion);
    expect(w.events[1]?.object.metadata.resourceVersion).toBe(back.metadata?.resourceVersion);
  });

  it('watches one object by field selector and across namespaces', async () => {
    const one = await watch(`/api/v1/namespaces/${ns}/services`, { fieldSelector: 'metadata.name=solo' });
    const all = await watch('/api/v1/services', { labelSelector: 'watch-all' });
    await h.core.createNamespacedService({ namespace: ns, body: svc('not-solo', {}, { labels: { 'watch-all': '' } }) });
    await h.core.createNamespacedService({ namespace: ns, body: svc('solo') });
    await h.core.createNamespacedService({ namespace: 'default', body: svc('elsewhere', {}, { labels: { 'watch-all': 'yes' } }) });
    await one.waitForCount(1);
    await all.waitForCount(2);
    expect(one.summary()).toEqual(['ADDED solo']);
    expect(all.summary()).toEqual(['ADDED not-solo', 'ADDED elsewhere']);
  });

  it('sends a 410 Expired ERROR event (on HTTP 200) for a resourceVersion older than the history', async () => {
    const old = (await h.core.listNamespacedService({ namespace: ns })).metadata?.resourceVersion ?? '';
    await h.core.createNamespacedService({ namespace: ns, body: svc('newer') });
    h.emulator.compact();
    const current = (await h.core.listNamespacedService({ namespace: ns })).metadata?.resourceVersion;
    const w = await watch(`/api/v1/namespaces/${ns}/services`, { resourceVersion: old });
    await w.waitForEnd();
    expect(w.ended).toBeNull();
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${current})`, reason: 'Expired', code: 410 },
      },
    ]);
    expect(h.emulator.requests.at(-1)).toMatchObject({ method: 'GET', status: 200, watch: true });
    // A paged list pinned before the compaction is expired too.
    const page = await h.core.listNamespacedService({ namespace: ns, limit: 1 });
    await h.core.createNamespacedService({ namespace: ns, body: svc('after-page') });
    h.emulator.compact();
    const expired = await apiError(h.core.listNamespacedService({ namespace: ns, limit: 1, _continue: page.metadata?._continue }));
    expect(expired.body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('sends bookmarks when asked, and one before ending at timeoutSeconds', async () => {
    const w = await watch(`/api/v1/namespaces/${ns}/services`, { allowWatchBookmarks: true, timeoutSeconds: 1, resourceVersion: (await h.core.listNamespacedService({ namespace: ns })).metadata?.resourceVersion });
    await w.waitForCount(2);
    expect(w.events.every((e) => e.type === 'BOOKMARK')).toBe(true);
    expect(w.events[0]?.object).toEqual({ kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
    await w.waitForEnd(2500);
    expect(w.events.at(-1)?.type).toBe('BOOKMARK');
  });

  it('keeps many watchers consistent under parallel writes, and lets exactly one of racing updates win', async () => {
    const rv = (await h.core.listNamespacedService({ namespace: ns })).metadata?.resourceVersion;
    const watchers = await Promise.all(Array.from({ length: 8 }, () => watch(`/api/v1/namespaces/${ns}/services`, { labelSelector: 'burst', resourceVersion: rv })));
    await Promise.all(Array.from({ length: 40 }, (_, i) => h.core.createNamespacedService({ namespace: ns, body: svc(`burst-${i}`, {}, { labels: { burst: 'y' } }) })));
    for (const w of watchers) await w.waitForCount(40);
    const sequences = watchers.map((w) => w.events.map((e) => Number(e.object.metadata.resourceVersion)));
    for (const seq of sequences) {
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
      expect(seq).toEqual(sequences[0]);
    }

    const base = await h.core.readNamespacedService({ name: 'burst-0', namespace: ns });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        h.core.replaceNamespacedService({ name: 'burst-0', namespace: ns, body: { ...base, metadata: { ...base.metadata, labels: { burst: 'y', writer: String(i) } } } }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const losers = await Promise.all(results.filter((r) => r.status === 'rejected').map((r) => apiError(Promise.reject((r as PromiseRejectedResult).reason))));
    expect(new Set(losers.map((l) => l.code))).toEqual(new Set([409]));
  });

  it('rejects a malformed resourceVersion before streaming', async () => {
    const w = await watch(`/api/v1/namespaces/${ns}/services`, { resourceVersion: 'abc' });
    await w.waitForEnd();
    expect((w.ended as { statusCode?: number }).statusCode).toBe(400);
  });

  it('lets an informer relist after a 410 and stop cleanly', async () => {
    const path = `/api/v1/namespaces/${ns}/services`;
    const informer = makeInformer<V1Service>(h.kc, path, () => h.core.listNamespacedService({ namespace: ns }));
    const names = () => informer.list(ns).map((s: KubernetesObject) => s.metadata?.name).sort();
    const errors: unknown[] = [];
    let stopping = false;
    informer.on('error', (err) => {
      if (!stopping) errors.push(err);
    });
    await informer.start();
    await h.core.createNamespacedService({ namespace: ns, body: svc('inf-a') });
    await waitFor(() => names().includes('inf-a'), 3000, 'inf-a in the informer cache');
    const lists = () => h.emulator.requests.filter((r) => r.path === path && r.method === 'GET' && !r.watch).length;
    const listsBefore = lists();

    // Something elsewhere moves the cluster on, then history is lost and watches end.
    await h.core.createNamespacedService({ namespace: 'default', body: svc('elsewhere-2') });
    h.emulator.compact();
    await waitFor(() => lists() > listsBefore, 3000, 'the informer to relist');
    await h.core.deleteNamespacedService({ name: 'inf-a', namespace: ns });
    await h.core.createNamespacedService({ namespace: ns, body: svc('inf-b') });
    await waitFor(() => !names().includes('inf-a') && names().includes('inf-b'), 3000, 'the informer to catch up');
    expect(errors).toEqual([]);
    stopping = true;
    await informer.stop();
  });
});

describe('kube emulator: watch shutdown', () => {
  it('ends open watches on close()', async () => {
    const emulator = await KubeEmulator.start();
    const w = await WatchRecorder.start(emulator.kubeConfig(), '/api/v1/namespaces');
    await w.waitForCount(4);
    await emulator.close();
    await w.waitForEnd();
    w.stop();
  });
});
