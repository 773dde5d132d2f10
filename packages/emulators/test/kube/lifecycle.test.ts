import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { apiError, type Harness, startHarness, svc, WatchRecorder } from './helpers';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const FINALIZER = 'ferry.io/load-balancer-cleanup';

describe('kube emulator: writes, conflicts and finalizers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.core.createNamespace({ body: { metadata: { name: 'life' } } });
  });
  afterAll(() => h.emulator.close());

  const ns = 'life';
  const create = (body: object) => h.core.createNamespacedService({ namespace: ns, body });
  const read = (name: string) => h.core.readNamespacedService({ name, namespace: ns });

  it('assigns uid, creationTimestamp and increasing resourceVersions; generateName picks a name', async () => {
    const a = await create(svc('rv-a'));
    const b = await create(svc('rv-b'));
    expect(Number(b.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata?.resourceVersion));
    const generated = await create({ metadata: { generateName: 'web-' }, spec: { ports: [{ port: 80 }] } });
    expect(generated.metadata?.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(generated.metadata?.generateName).toBe('web-');
  });

  it('answers 409 AlreadyExists', async () => {
    await create(svc('dup'));
    const err = await apiError(create(svc('dup')));
    expect(err).toEqual({
      code: 409,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'services "dup" already exists', reason: 'AlreadyExists', details: { name: 'dup', kind: 'services' }, code: 409 },
    });
  });

  it('rejects a stale resourceVersion on update and on patch with the real Conflict', async () => {
    const first = await create(svc('cas'));
    const second = await h.core.replaceNamespacedService({ name: 'cas', namespace: ns, body: { ...first, metadata: { ...first.metadata, labels: { v: '2' } } } });
    expect(second.metadata?.resourceVersion).not.toBe(first.metadata?.resourceVersion);
    const message = 'Operation cannot be fulfilled on services "cas": the object has been modified; please apply your changes to the latest version and try again';
    const stale = await apiError(h.core.replaceNamespacedService({ name: 'cas', namespace: ns, body: { ...first, metadata: { ...first.metadata, labels: { v: '3' } } } }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', message, details: { name: 'cas', kind: 'services' } });
    const stalePatch = await apiError(
      h.core.patchNamespacedService({ name: 'cas', namespace: ns, body: { metadata: { resourceVersion: first.metadata?.resourceVersion, labels: { v: '4' } } } }, merge),
    );
    expect(stalePatch.body).toMatchObject({ reason: 'Conflict', message });
    const fresh = await h.core.patchNamespacedService({ name: 'cas', namespace: ns, body: { metadata: { resourceVersion: second.metadata?.resourceVersion, labels: { v: '5' } } } }, merge);
    expect(fresh.metadata?.labels).toEqual({ v: '5' });
  });

  it('stores nothing for a write that changes nothing', async () => {
    const before = await create(svc('noop', {}, { labels: { a: 'b' } }));
    const after = await h.core.patchNamespacedService({ name: 'noop', namespace: ns, body: { metadata: { labels: { a: 'b' } } } }, merge);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('applies JSON patches including test, and fails a failing test with 422', async () => {
    await create(svc('jp', {}, { labels: { stage: 'one' } }));
    const patched = await h.core.patchNamespacedService(
      { name: 'jp', namespace: ns, body: [{ op: 'test', path: '/metadata/labels/stage', value: 'one' }, { op: 'replace', path: '/metadata/labels/stage', value: 'two' }, { op: 'add', path: '/spec/ports/-', value: { name: 'b', port: 81 } }, { op: 'add', path: '/spec/ports/0/name', value: 'a' }] },
      jsonPatch,
    );
    expect(patched.metadata?.labels).toEqual({ stage: 'two' });
    expect(patched.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([['a', 80, 80], ['b', 81, 81]]);
    const failed = await apiError(h.core.patchNamespacedService({ name: 'jp', namespace: ns, body: [{ op: 'test', path: '/metadata/labels/stage', value: 'one' }] }, jsonPatch));
    expect(failed.code).toBe(422);
    expect(failed.body.message).toBe('testing value /metadata/labels/stage failed: test failed');
  });

  it('merges strategic patches by port+protocol, finalizers as a set, and honours $deleteFromPrimitiveList', async () => {
    await create(svc('smp', { ports: [{ name: 'web', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }, { finalizers: ['example.com/a'] }));
    const patched = await h.core.patchNamespacedService(
      { name: 'smp', namespace: ns, body: { metadata: { finalizers: ['example.com/b'] }, spec: { ports: [{ port: 80, targetPort: 8080 }, { name: 'https', port: 443 }] } } },
      strategic,
    );
    expect(patched.metadata?.finalizers).toEqual(['example.com/a', 'example.com/b']);
    expect(patched.spec?.ports?.map((p) => `${p.name}:${p.port}/${p.protocol}->${p.targetPort}`)).toEqual(['web:80/TCP->8080', 'dns:53/UDP->53', 'https:443/TCP->443']);
    const removed = await h.core.patchNamespacedService(
      { name: 'smp', namespace: ns, body: { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] }, spec: { ports: [{ port: 53, protocol: 'UDP', $patch: 'delete' }] } } },
      strategic,
    );
    expect(removed.metadata?.finalizers).toEqual(['example.com/b']);
    expect(removed.spec?.ports?.map((p) => p.name)).toEqual(['web', 'https']);
  });

  it('keeps an object with finalizers after DELETE and deletes it when the last finalizer goes', async () => {
    const watch = await WatchRecorder.start(h.kc, `/api/v1/namespaces/${ns}/services`, { fieldSelector: 'metadata.name=fin' });
    await create(svc('fin', { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 31234 }] }, { finalizers: [FINALIZER] }));
    const deleting = (await h.core.deleteNamespacedService({ name: 'fin', namespace: ns })) as V1Service;
    expect(deleting.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(0);
    expect((await read('fin')).metadata?.finalizers).toEqual([FINALIZER]);

    // Deleting again changes nothing; new finalizers are refused while deleting.
    const again = (await h.core.deleteNamespacedService({ name: 'fin', namespace: ns })) as V1Service;
    expect(again.metadata?.resourceVersion).toBe(deleting.metadata?.resourceVersion);
    const more = await apiError(h.core.patchNamespacedService({ name: 'fin', namespace: ns, body: { metadata: { finalizers: [FINALIZER, 'example.com/other'] } } }, merge));
    expect(more.body.message).toBe(
      'Service "fin" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/other"}',
    );
    // A recreate while it is finalizing says so.
    const recreate = await apiError(create(svc('fin')));
    expect(recreate.body.message).toBe('object is being deleted: services "fin" already exists');

    // Ordinary updates still work and keep deletionTimestamp.
    const labelled = await h.core.patchNamespacedService({ name: 'fin', namespace: ns, body: { metadata: { labels: { cleanup: 'running' } } } }, merge);
    expect(labelled.metadata?.deletionTimestamp).toEqual(deleting.metadata?.deletionTimestamp);

    const removed = await h.core.patchNamespacedService({ name: 'fin', namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] }, jsonPatch);
    expect(removed.metadata?.finalizers).toBeUndefined();
    expect((await apiError(read('fin'))).code).toBe(404);

    await watch.waitForCount(4);
    watch.stop();
    expect(watch.summary()).toEqual(['ADDED fin', 'MODIFIED fin', 'MODIFIED fin', 'DELETED fin']);
    const deleted = watch.events[3]?.object;
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(Number(labelled.metadata?.resourceVersion));
    expect(deleted.metadata.deletionTimestamp).toBeDefined();
    // The NodePort is free again once the object is really gone.
    const reuse = await create(svc('fin-reuse', { type: 'NodePort', ports: [{ port: 80, nodePort: 31234 }] }));
    expect(reuse.spec?.ports?.[0]?.nodePort).toBe(31234);
  });

  it('checks DELETE preconditions', async () => {
    const s = await create(svc('pre'));
    const uid = await apiError(h.core.deleteNamespacedService({ name: 'pre', namespace: ns, body: { preconditions: { uid: 'not-it' } } }));
    expect(uid.code).toBe(409);
    expect(uid.body.message).toBe(`Operation cannot be fulfilled on services "pre": Precondition failed: UID in precondition: not-it, UID in object meta: ${s.metadata?.uid}`);
    const rv = await apiError(h.core.deleteNamespacedService({ name: 'pre', namespace: ns, body: { preconditions: { resourceVersion: '1' } } }));
    expect(rv.body.message).toContain('Precondition failed: ResourceVersion in precondition: 1');
    await h.core.deleteNamespacedService({ name: 'pre', namespace: ns, body: { preconditions: { uid: s.metadata?.uid, resourceVersion: s.metadata?.resourceVersion } } });
  });

  it('honours dryRun=All without storing or allocating', async () => {
    const dry = await h.core.createNamespacedService({ namespace: ns, body: svc('dry', { type: 'NodePort', ports: [{ port: 80, nodePort: 31999 }] }), dryRun: 'All' });
    expect(dry.metadata?.resourceVersion).toBeUndefined();
    expect((await apiError(read('dry'))).code).toBe(404);
    const real = await create(svc('dry', { type: 'NodePort', ports: [{ port: 80, nodePort: 31999 }] }));
    expect(real.spec?.ports?.[0]?.nodePort).toBe(31999);
  });

  it('guards namespaces: missing, terminating, undeletable', async () => {
    const missing = await apiError(h.core.createNamespacedService({ namespace: 'nope', body: svc('x') }));
    expect(missing.body).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "nope" not found' });
    const forbidden = await apiError(h.core.deleteNamespace({ name: 'default' }));
    expect(forbidden.body).toMatchObject({ code: 403, reason: 'Forbidden', message: 'namespaces "default" is forbidden: this namespace may not be deleted' });

    await h.core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    const created = await h.core.readNamespace({ name: 'doomed' });
    expect(created.spec?.finalizers).toEqual(['kubernetes']);
    expect(created.status?.phase).toBe('Active');
    expect(created.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'doomed' });
    await h.core.createNamespacedService({ namespace: 'doomed', body: svc('plain') });
    await h.core.createNamespacedService({ namespace: 'doomed', body: svc('held', {}, { finalizers: [FINALIZER] }) });
    await h.core.deleteNamespace({ name: 'doomed' });
    const terminating = await h.core.readNamespace({ name: 'doomed' });
    expect(terminating.status?.phase).toBe('Terminating');
    const refused = await apiError(h.core.createNamespacedService({ namespace: 'doomed', body: svc('late') }));
    expect(refused.body).toMatchObject({ code: 403, message: 'services "late" is forbidden: unable to create new content in namespace doomed because it is being terminated' });

    // The namespace controller empties it; the held Service waits for its finalizer.
    const services = async () => (await h.core.listNamespacedService({ namespace: 'doomed' })).items.map((s) => s.metadata?.name);
    await expect(waitForAsync(async () => (await services()).join() === 'held')).resolves.toBe(true);
    await h.core.patchNamespacedService({ name: 'held', namespace: 'doomed', body: { metadata: { finalizers: null } } }, merge);
    await expect(waitForAsync(async () => !(await h.core.listNamespace()).items.some((n) => n.metadata?.name === 'doomed'))).resolves.toBe(true);
  });
});

async function waitForAsync(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}
