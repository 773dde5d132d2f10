import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { apiError, type Harness, startHarness, svc } from './helpers';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('kube emulator: services', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ serviceCIDR: '10.100.0.0/16', nodePortRange: { min: 31000, max: 31999 } });
  });
  afterAll(() => h.emulator.close());

  const ns = 'default';
  const create = (body: object) => h.core.createNamespacedService({ namespace: ns, body });
  const read = (name: string) => h.core.readNamespacedService({ name, namespace: ns });
  const patch = (name: string, body: object) => h.core.patchNamespacedService({ name, namespace: ns, body }, merge);

  it('has the default/kubernetes Service on the first address of the service CIDR', async () => {
    const k = await read('kubernetes');
    expect(k.spec).toMatchObject({ clusterIP: '10.100.0.1', clusterIPs: ['10.100.0.1'], type: 'ClusterIP', ports: [{ name: 'https', port: 443, targetPort: 6443 }] });
    expect(k.metadata?.labels).toEqual({ component: 'apiserver', provider: 'kubernetes' });
  });

  it('applies the API defaults of a ClusterIP Service', async () => {
    const s = await create(svc('defaults', { ports: [{ port: 8080 }] }));
    expect(s.spec).toEqual({
      type: 'ClusterIP',
      ports: [{ port: 8080, protocol: 'TCP', targetPort: 8080 }],
      clusterIP: s.spec?.clusterIP,
      clusterIPs: [s.spec?.clusterIP],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    });
    expect(s.spec?.clusterIP).toMatch(/^10\.100\.\d+\.\d+$/);
    expect(s.status).toEqual({ loadBalancer: {} });
    expect(s.metadata?.uid).toBeTruthy();
    expect(s.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(s.metadata?.generation).toBeUndefined();
  });

  it('defaults LoadBalancer fields, session affinity and allocates NodePorts', async () => {
    const s = await create(svc('lb', { type: 'LoadBalancer', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }));
    expect(s.spec).toMatchObject({ externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true, sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } });
    const nodePorts = s.spec?.ports?.map((p) => p.nodePort) ?? [];
    expect(nodePorts).toHaveLength(2);
    for (const p of nodePorts) expect(p).toBeGreaterThanOrEqual(31000);
    expect(new Set(nodePorts).size).toBe(2);
    expect(s.spec?.healthCheckNodePort).toBeUndefined();
  });

  it('gives ports with the same number on TCP and UDP one NodePort, as alloc.go does', async () => {
    const s = await create(svc('dns', { type: 'NodePort', ports: [{ name: 'dns-udp', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }));
    const [udp, tcp] = s.spec?.ports ?? [];
    expect(udp?.nodePort).toBeDefined();
    expect(tcp?.nodePort).toBe(udp?.nodePort);
  });

  it('honours requested NodePorts and rejects clashes and out-of-range values with the real messages', async () => {
    const s = await create(svc('fixed', { type: 'NodePort', ports: [{ port: 80, nodePort: 31500 }] }));
    expect(s.spec?.ports?.[0]?.nodePort).toBe(31500);
    const clash = await apiError(create(svc('clash', { type: 'NodePort', ports: [{ port: 80, nodePort: 31500 }] })));
    expect(clash.code).toBe(422);
    expect(clash.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      message: 'Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: 31500: provided port is already allocated',
      details: { name: 'clash', kind: 'Service', causes: [{ reason: 'FieldValueInvalid', field: 'spec.ports[0].nodePort' }] },
    });
    const range = await apiError(create(svc('range', { type: 'NodePort', ports: [{ port: 80, nodePort: 30000 }] })));
    expect(range.body.message).toBe(
      'Service "range" is invalid: spec.ports[0].nodePort: Invalid value: 30000: provided port is not in the valid range. The range of valid ports is 31000-31999',
    );
  });

  it('releases NodePorts on delete and when the type no longer needs them', async () => {
    await create(svc('releaser', { type: 'NodePort', ports: [{ port: 80, nodePort: 31600 }] }));
    const downgraded = await patch('releaser', { spec: { type: 'ClusterIP' } });
    expect(downgraded.spec?.ports?.[0]?.nodePort).toBeUndefined();
    expect(downgraded.spec?.externalTrafficPolicy).toBeUndefined();
    const reuse = await create(svc('reuse', { type: 'NodePort', ports: [{ port: 80, nodePort: 31600 }] }));
    expect(reuse.spec?.ports?.[0]?.nodePort).toBe(31600);
    await h.core.deleteNamespacedService({ name: 'reuse', namespace: ns });
    const again = await create(svc('again', { type: 'NodePort', ports: [{ port: 80, nodePort: 31600 }] }));
    expect(again.spec?.ports?.[0]?.nodePort).toBe(31600);
  });

  it('keeps allocated values when a client resubmits without them', async () => {
    const first = await create(svc('resubmit', { type: 'NodePort', ports: [{ name: 'web', port: 80 }] }));
    const replaced = await h.core.replaceNamespacedService({ name: 'resubmit', namespace: ns, body: svc('resubmit', { type: 'NodePort', ports: [{ name: 'web', port: 80 }] }) });
    expect(replaced.spec?.clusterIP).toBe(first.spec?.clusterIP);
    expect(replaced.spec?.ports?.[0]?.nodePort).toBe(first.spec?.ports?.[0]?.nodePort);
  });

  it('allocates and releases healthCheckNodePort for LoadBalancer with externalTrafficPolicy Local', async () => {
    const s = await create(svc('local', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
    const hc = s.spec?.healthCheckNodePort;
    expect(hc).toBeGreaterThanOrEqual(31000);
    const cluster = await patch('local', { spec: { externalTrafficPolicy: 'Cluster' } });
    expect(cluster.spec?.healthCheckNodePort).toBeUndefined();
    const reuse = await create(svc('hc-reuse', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: hc }));
    expect(reuse.spec?.healthCheckNodePort).toBe(hc);
    const clash = await apiError(create(svc('hc-clash', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: hc })));
    expect(clash.code).toBe(500);
    expect(clash.body.message).toBe(`Internal error occurred: failed to allocate requested HealthCheck NodePort ${hc}: provided port is already allocated`);
  });

  it('does not allocate NodePorts for allocateLoadBalancerNodePorts=false unless asked', async () => {
    const s = await create(svc('no-np', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 31700 }] }));
    expect(s.spec?.ports?.map((p) => p.nodePort)).toEqual([undefined, 31700]);
  });

  it('allocates no ClusterIP for headless and ExternalName Services', async () => {
    const headless = await create(svc('headless', { clusterIP: 'None', selector: { app: 'x' } }));
    expect(headless.spec).toMatchObject({ clusterIP: 'None', clusterIPs: ['None'], ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] });
    const external = await create({ metadata: { name: 'external' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
    expect(external.spec?.clusterIP).toBeUndefined();
    expect(external.spec?.internalTrafficPolicy).toBeUndefined();
    const missing = await apiError(create({ metadata: { name: 'external2' }, spec: { type: 'ExternalName' } }));
    expect(missing.body.message).toBe('Service "external2" is invalid: spec.externalName: Required value');
  });

  it('honours a requested ClusterIP and rejects clashes and foreign addresses', async () => {
    const s = await create(svc('static-ip', { clusterIP: '10.100.0.10' }));
    expect(s.spec?.clusterIPs).toEqual(['10.100.0.10']);
    const clash = await apiError(create(svc('static-ip2', { clusterIP: '10.100.0.10' })));
    expect(clash.body.message).toBe(
      'Service "static-ip2" is invalid: spec.clusterIPs: Invalid value: []string{"10.100.0.10"}: failed to allocate IP 10.100.0.10: provided IP is already allocated',
    );
    const foreign = await apiError(create(svc('foreign-ip', { clusterIP: '1.1.1.1' })));
    expect(foreign.body.message).toBe(
      'Service "foreign-ip" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.100.0.0/16',
    );
  });

  it('refuses to change an allocated ClusterIP', async () => {
    await create(svc('immutable-ip'));
    const err = await apiError(patch('immutable-ip', { spec: { clusterIP: '10.100.0.99' } }));
    expect(err.code).toBe(422);
    expect(err.body.message).toBe('Service "immutable-ip" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.100.0.99"}: may not change once set');
  });

  it('validates ports, types and loadBalancerClass with the real messages', async () => {
    const port = await apiError(create(svc('bad-port', { ports: [{ port: 0, targetPort: 8080 }] })));
    expect(port.body.message).toBe('Service "bad-port" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive');
    const names = await apiError(create(svc('bad-names', { ports: [{ port: 80 }, { name: 'a', port: 81 }, { name: 'a', port: 82 }] })));
    expect(names.body.message).toBe('Service "bad-names" is invalid: [spec.ports[0].name: Required value, spec.ports[2].name: Duplicate value: "a"]');
    const protocol = await apiError(create(svc('bad-proto', { ports: [{ port: 80, protocol: 'HTTP' }] })));
    expect(protocol.body.message).toBe('Service "bad-proto" is invalid: spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
    const type = await apiError(create(svc('bad-type', { type: 'Magic' })));
    expect(type.body.message).toBe('Service "bad-type" is invalid: spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"');
    const name = await apiError(create(svc('Bad_Name')));
    expect(name.body.message).toContain('metadata.name: Invalid value: "Bad_Name": a DNS-1035 label must consist of lower case alphanumeric characters');

    await create(svc('classy', { type: 'LoadBalancer', loadBalancerClass: 'ferry.io/nlb' }));
    const cls = await apiError(patch('classy', { spec: { loadBalancerClass: 'other.io/lb' } }));
    expect(cls.body.message).toBe('Service "classy" is invalid: spec.loadBalancerClass: Invalid value: "other.io/lb": may not change once set');
    const wrongType = await apiError(create(svc('class-on-cip', { loadBalancerClass: 'ferry.io/nlb' })));
    expect(wrongType.body.message).toBe("Service \"class-on-cip\" is invalid: spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'");
  });

  it('rejects JSON of the wrong type with 400 before validation', async () => {
    const err = await apiError(create({ metadata: { name: 'typed' }, spec: { ports: [{ port: '80' }] } }));
    expect(err.code).toBe(400);
    expect(err.body.reason).toBe('BadRequest');
    expect(err.body.message).toContain('cannot unmarshal string into Go struct field Service.spec.ports.port of type int32');
  });

  it('keeps status out of main-resource writes and spec out of /status writes', async () => {
    await create(svc('status', { type: 'LoadBalancer' }));
    const ignored = await patch('status', { status: { loadBalancer: { ingress: [{ hostname: 'nope.example.com' }] } } });
    expect(ignored.status).toEqual({ loadBalancer: {} });
    const updated = await h.core.patchNamespacedServiceStatus(
      { name: 'status', namespace: ns, body: { metadata: { labels: { touched: 'yes' } }, spec: { type: 'ClusterIP' }, status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } } } },
      merge,
    );
    expect(updated.status?.loadBalancer?.ingress).toEqual([{ hostname: 'lb.example.com' }]);
    expect(updated.spec?.type).toBe('LoadBalancer');
    // The status strategy keeps the spec but lets metadata through, as kube-apiserver does.
    expect(updated.metadata?.labels).toEqual({ touched: 'yes' });
    const ip = await h.core.patchNamespacedServiceStatus({ name: 'status', namespace: ns, body: { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } } }, merge);
    expect(ip.status?.loadBalancer?.ingress).toEqual([{ ip: '203.0.113.7', ipMode: 'VIP' }]);
    const bad = await apiError(
      h.core.patchNamespacedServiceStatus({ name: 'status', namespace: ns, body: { status: { loadBalancer: { ingress: [{ hostname: '10.0.0.1' }] } } } }, merge),
    );
    expect(bad.body.message).toBe('Service "status" is invalid: status.loadBalancer.ingress[0].hostname: Invalid value: "10.0.0.1": must be a DNS name, not an IP address');
    const cleared = await patch('status', { spec: { type: 'NodePort' } });
    expect(cleared.status).toEqual({ loadBalancer: {} });
  });

  it('answers a service DELETE with the deleted object (ReturnDeletedObject)', async () => {
    await create(svc('gone'));
    const deleted = await h.core.deleteNamespacedService({ name: 'gone', namespace: ns });
    expect(deleted.metadata?.name).toBe('gone');
    expect((await apiError(read('gone'))).body).toMatchObject({ reason: 'NotFound', message: 'services "gone" not found', details: { name: 'gone', kind: 'services' }, code: 404 });
  });
});
