import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { KubeEmulator } from '../../src/kube';
import { apiError, type Harness, startHarness } from './helpers';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('kube emulator: server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.emulator.close());

  const get = (path: string, init?: RequestInit) => fetch(`${h.emulator.url}${path}`, init);
  const json = async (path: string) => (await (await get(path)).json()) as Record<string, any>;

  it('serves discovery, version and health endpoints', async () => {
    expect(await json('/api')).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = await json('/api/v1');
    expect(core.resources.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(['namespaces', 'namespaces/status', 'services', 'services/status', 'nodes', 'nodes/status', 'events']),
    );
    expect(await json('/apis')).toMatchObject({ kind: 'APIGroupList', groups: [{ name: 'discovery.k8s.io', preferredVersion: { groupVersion: 'discovery.k8s.io/v1' } }] });
    expect((await json('/apis/discovery.k8s.io/v1')).resources).toEqual([expect.objectContaining({ name: 'endpointslices', kind: 'EndpointSlice', namespaced: true })]);
    expect(await json('/version')).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) });
    for (const path of ['/healthz', '/readyz', '/livez']) expect(await (await get(path)).text()).toBe('ok');
  });

  it('answers unknown paths with 404 and unsupported methods with 405 Status objects', async () => {
    const unknown = await get('/api/v1/widgets');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource' });
    const method = await get('/api/v1/namespaces/default/services', { method: 'PUT', body: '{}' });
    expect(method.status).toBe(405);
    expect(await method.json()).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
  });

  it('records every request and can forget them', async () => {
    h.emulator.clearRequests();
    await h.core.listNamespace();
    await apiError(h.core.readNamespacedService({ name: 'missing', namespace: 'default' }));
    expect(h.emulator.requests).toEqual([
      { method: 'GET', path: '/api/v1/namespaces', status: 200, watch: false },
      { method: 'GET', path: '/api/v1/namespaces/default/services/missing', status: 404, watch: false },
    ]);
  });

  it('stores nodes with status, keeps status on main writes, and guards providerID', async () => {
    const node = await h.core.createNode({
      body: {
        metadata: { name: 'ip-10-0-1-5.ec2.internal', labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } },
        spec: { providerID: 'aws:///us-east-1a/i-0123456789abcdef0', taints: [{ key: 'dedicated', value: 'lb', effect: 'NoSchedule' }] },
        status: { addresses: [{ type: 'InternalIP', address: '10.0.1.5' }], conditions: [{ type: 'Ready', status: 'True' }] },
      },
    });
    expect(node.status?.addresses).toEqual([{ type: 'InternalIP', address: '10.0.1.5' }]);
    const main = await h.core.patchNode({ name: node.metadata?.name ?? '', body: { spec: { unschedulable: true }, status: { addresses: [] } } }, merge);
    expect(main.spec?.unschedulable).toBe(true);
    expect(main.status?.addresses).toHaveLength(1);
    const status = await h.core.patchNodeStatus({ name: node.metadata?.name ?? '', body: { status: { conditions: [{ type: 'Ready', status: 'False' }] } } }, merge);
    expect(status.status?.conditions).toEqual([{ type: 'Ready', status: 'False' }]);
    const provider = await apiError(h.core.patchNode({ name: node.metadata?.name ?? '', body: { spec: { providerID: 'aws:///us-east-1b/i-0fff' } } }, merge));
    expect(provider.body.message).toBe('Node "ip-10-0-1-5.ec2.internal" is invalid: spec.providerID: Forbidden: node updates may not change providerID except from "" to valid');
    const taint = await apiError(h.core.createNode({ body: { metadata: { name: 'bad-taint' }, spec: { taints: [{ key: 'x', effect: 'Sometimes' }] } } }));
    expect(taint.body.message).toBe('Node "bad-taint" is invalid: metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"');
    const unschedulable = await h.core.listNode({ fieldSelector: 'spec.unschedulable=true' });
    expect(unschedulable.items.map((n) => n.metadata?.name)).toEqual(['ip-10-0-1-5.ec2.internal']);
    const deleted = await h.core.deleteNode({ name: 'ip-10-0-1-5.ec2.internal' });
    expect(deleted).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'ip-10-0-1-5.ec2.internal', kind: 'nodes' } });
  });

  it('stores EndpointSlices with generation, service-name label and addressType rules', async () => {
    const body = {
      metadata: { name: 'web-abc12', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, nodeName: 'n1' }],
      ports: [{ name: 'http', port: 8080 }],
    };
    const slice = await h.discovery.createNamespacedEndpointSlice({ namespace: 'default', body });
    expect(slice.metadata?.generation).toBe(1);
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const relabelled = await h.discovery.patchNamespacedEndpointSlice({ name: 'web-abc12', namespace: 'default', body: { metadata: { annotations: { a: 'b' } } } }, merge);
    expect(relabelled.metadata?.generation).toBe(1);
    const moved = await h.discovery.patchNamespacedEndpointSlice({ name: 'web-abc12', namespace: 'default', body: { endpoints: [{ addresses: ['10.1.0.7'] }] } }, merge);
    expect(moved.metadata?.generation).toBe(2);
    // A PUT of the same content (without type meta) keeps the generation; a label change bumps it.
    const { kind: _k, apiVersion: _a, ...plain } = moved;
    const same = await h.discovery.replaceNamespacedEndpointSlice({ name: 'web-abc12', namespace: 'default', body: plain });
    expect(same.metadata?.generation).toBe(2);
    expect(same.metadata?.resourceVersion).toBe(moved.metadata?.resourceVersion);
    const labelled = await h.discovery.patchNamespacedEndpointSlice({ name: 'web-abc12', namespace: 'default', body: { metadata: { labels: { extra: 'x' } } } }, merge);
    expect(labelled.metadata?.generation).toBe(3);
    const bySvc = await h.discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
    expect(bySvc.items.map((s) => s.metadata?.name)).toEqual(['web-abc12']);
    const immutable = await apiError(h.discovery.patchNamespacedEndpointSlice({ name: 'web-abc12', namespace: 'default', body: { addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'] }] } }, merge));
    expect(immutable.body.message).toBe('EndpointSlice.discovery.k8s.io "web-abc12" is invalid: addressType: Invalid value: "IPv6": field is immutable');
    const bad = await apiError(h.discovery.createNamespacedEndpointSlice({ namespace: 'default', body: { ...body, metadata: { name: 'bad' }, addressType: 'IPv5' } }));
    expect(bad.body.message).toBe('EndpointSlice.discovery.k8s.io "bad" is invalid: addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"');
    const missing = await apiError(h.discovery.readNamespacedEndpointSlice({ name: 'nope', namespace: 'default' }));
    expect(missing.body.message).toBe('endpointslices.discovery.k8s.io "nope" not found');
  });

  it('stores and selects Events', async () => {
    const involvedObject = { kind: 'Service', namespace: 'default', name: 'web', uid: 'u-1' };
    const created = await h.core.createNamespacedEvent({
      namespace: 'default',
      body: { metadata: { name: 'web.1' }, involvedObject, reason: 'EnsuringLoadBalancer', type: 'Normal', message: 'Ensuring load balancer', firstTimestamp: new Date('2024-05-01T10:00:00.123Z') },
    });
    // metav1.Time is stored and served with second precision.
    expect(created.firstTimestamp).toEqual(new Date('2024-05-01T10:00:00Z'));
    await h.core.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'other.1' }, involvedObject: { ...involvedObject, name: 'other' }, reason: 'EnsuredLoadBalancer', type: 'Normal' } });
    const forWeb = await h.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Service,involvedObject.name=web' });
    expect(forWeb.items.map((e) => e.reason)).toEqual(['EnsuringLoadBalancer']);
    const all = await h.core.listEventForAllNamespaces({ fieldSelector: 'reason=EnsuredLoadBalancer' });
    expect(all.items.map((e) => e.metadata?.name)).toEqual(['other.1']);
    const wrongNs = await apiError(h.core.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'x.1' }, involvedObject: { ...involvedObject, namespace: 'kube-system' } } }));
    expect(wrongNs.body.message).toBe('Event "x.1" is invalid: involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace');
  });
});

describe('kube emulator: auth and kubeconfig', () => {
  let emulator: KubeEmulator;
  beforeAll(async () => {
    emulator = await KubeEmulator.start({ token: 's3cret' });
  });
  afterAll(() => emulator.close());

  it('requires the bearer token for the API but not for health checks', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const res = await fetch(`${emulator.url}/api/v1/namespaces`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    expect((await fetch(`${emulator.url}/healthz`)).status).toBe(200);
    const core = emulator.kubeConfig().makeApiClient(CoreV1Api);
    expect((await core.listNamespace()).items.map((n) => n.metadata?.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });

  it('writes a kubeconfig client-node can load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kube-emulator-'));
    try {
      const file = join(dir, 'config');
      await emulator.writeKubeconfig(file);
      const kc = new KubeConfig();
      kc.loadFromFile(file);
      expect(kc.getCurrentCluster()).toMatchObject({ server: emulator.url, skipTLSVerify: true });
      expect(kc.getCurrentUser()?.token).toBe('s3cret');
      expect(await readFile(file, 'utf8')).toContain('insecure-skip-tls-verify: true');
      const withNs = new KubeConfig();
      withNs.loadFromString(emulator.kubeconfigYaml({ context: 'ferry', namespace: 'kube-system' }));
      expect(withNs.getCurrentContext()).toBe('ferry');
      expect(withNs.getContextObject('ferry')?.namespace).toBe('kube-system');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
