import { admit } from '../../../src/admission/admit';
import { parseAdmissionReview, type AdmissionRequest } from '../../../src/admission/review';
import { review } from '../../support/admission';
import { CLUSTER, newNode, newService, node, svc } from '../../support/fixtures';

function request(body: Record<string, unknown>): AdmissionRequest {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
}

const FERRY = 'system:serviceaccount:ferry-system:ferry-controller';
const decide = (body: Record<string, unknown>) => admit(request(body), CLUSTER, { controllerUsernames: [FERRY] });

describe('parseAdmissionReview', () => {
  test.each([
    [null, 'the body must be a JSON object (an AdmissionReview)'],
    [[], 'the body must be a JSON object (an AdmissionReview)'],
    [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }, 'apiVersion must be "admission.k8s.io/v1", got "admission.k8s.io/v1beta1"'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, 'kind must be "AdmissionReview", got "Pod"'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request must be an object'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }, 'request.uid must be a string of 1 to 128 characters'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'PATCH' } }, 'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', kind: 'Service' } }, 'request.kind must be an object with group, version and kind'],
  ])('%j → %s', (body, error) => {
    expect(parseAdmissionReview(body)).toEqual({ ok: false, error });
  });

  test('a real request parses', () => {
    const parsed = parseAdmissionReview(review('Service', 'CREATE', newService('web')));
    expect(parsed).toEqual({ ok: true, request: expect.objectContaining({ operation: 'CREATE', namespace: 'default', name: 'web', dryRun: false }) });
  });
});

describe('admit', () => {
  const ports = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, port: 1000 + i, protocol: 'TCP', nodePort: 30000 + i }));

  test('a Service of ferry\'s class with more port numbers than an NLB has listeners is denied before any AWS call', () => {
    const d = decide(review('Service', 'CREATE', newService('wide', svc.set({ ports: ports(1000) }))));
    expect(d.response).toMatchObject({
      allowed: false,
      status: { code: 422, message: 'ferry: spec.ports asks for 1000 listeners; a Network Load Balancer has at most 50 listeners (one per port number): serve the other ports with a second Service' },
    });
    expect(d.enqueue).toEqual([]);
    expect(decide(review('Service', 'CREATE', newService('fits', svc.set({ ports: ports(50) })))).response.allowed).toBe(true);
    // Another class's Service, or one that is not a LoadBalancer, is not ferry's to limit.
    expect(decide(review('Service', 'CREATE', newService('other', svc.set({ ports: ports(1000), loadBalancerClass: 'example.com/lb' })))).response.allowed).toBe(true);
    expect(decide(review('Service', 'CREATE', newService('cluster-ip', svc.set({ ports: ports(1000), type: 'ClusterIP' })))).response.allowed).toBe(true);
  });

  test('a Service of ferry\'s class is allowed and queued in its own group, deduplicated by uid, version and operation', () => {
    const d = decide(review('Service', 'CREATE', newService('web')));
    expect(d.response.allowed).toBe(true);
    expect(d.enqueue).toEqual([
      { message: { kind: 'service', namespace: 'default', name: 'web' }, group: 'default/web', dedupId: 'uid-web-1-CREATE' },
    ]);
  });

  test('invalid ferry.io annotations are denied with the schema\'s message', () => {
    const d = decide(review('Service', 'UPDATE', newService('web', svc.annotate({ 'ferry.io/scheme': 'public' })), newService('web')));
    expect(d.response).toEqual({
      uid: expect.any(String),
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: 'ferry: annotation ferry.io/scheme="public" is invalid: expected `internal` or `internet-facing`' },
    });
    expect(d.enqueue).toEqual([]);
  });

  test('invalid annotations on a Service ferry does not own, or one being deleted, are not ferry\'s business', () => {
    const bad = { 'ferry.io/scheme': 'public' };
    expect(decide(review('Service', 'CREATE', newService('a', svc.set({ type: 'ClusterIP' }), svc.annotate(bad)))).response.allowed).toBe(true);
    expect(decide(review('Service', 'CREATE', newService('a', svc.set({ loadBalancerClass: 'other' }), svc.annotate(bad)))).response.allowed).toBe(true);
    expect(decide(review('Service', 'UPDATE', newService('a', svc.deleting(), svc.annotate(bad)))).response.allowed).toBe(true);
  });

  test('Services ferry does not own are allowed and queue nothing; one that stopped being a LoadBalancer is queued for cleanup', () => {
    expect(decide(review('Service', 'CREATE', newService('a', svc.set({ type: 'ClusterIP' })))).enqueue).toEqual([]);
    const wasOurs = newService('a');
    const nowClusterIP = newService('a', svc.set({ type: 'ClusterIP' }));
    expect(decide(review('Service', 'UPDATE', nowClusterIP, wasOurs)).enqueue).toHaveLength(1);
    expect(decide(review('Service', 'DELETE', null, wasOurs)).enqueue).toEqual([expect.objectContaining({ group: 'default/a', dedupId: 'uid-a-1-DELETE' })]);
  });

  test('dryRun requests queue nothing, but are still validated', () => {
    expect(decide(review('Service', 'CREATE', newService('a'), null, { dryRun: true })).enqueue).toEqual([]);
    const bad = newService('a', svc.annotate({ 'ferry.io/cross-zone': 'yes' }));
    expect(decide(review('Service', 'CREATE', bad, null, { dryRun: true })).response.allowed).toBe(false);
  });

  describe('Nodes', () => {
    const before = newNode('node-1');
    test.each([
      ['providerID', newNode('node-1', (n) => (n.spec!.providerID = 'aws:///us-east-1b/i-0123456789abcdef0'))],
      ['addresses', newNode('node-1', (n) => (n.status!.addresses = [{ type: 'InternalIP', address: '10.9.9.9' }]))],
      ['the exclusion label', newNode('node-1', node.label({ 'node.kubernetes.io/exclude-from-external-load-balancers': '' }))],
      ['taints', newNode('node-1', node.taint('ToBeDeletedByClusterAutoscaler'))],
      ['deletion', newNode('node-1', node.deleting())],
    ])('an update of %s fans out once', (_, after) => {
      expect(decide(review('Node', 'UPDATE', after, before)).enqueue).toEqual([
        { message: { kind: 'fanout', reason: 'node node-1 update' }, group: 'ferry.io/fanout', dedupId: expect.stringMatching(/^node-/) },
      ]);
    });

    test('a heartbeat (conditions only) queues nothing', () => {
      const heartbeat = newNode('node-1', (n) => (n.status!.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date() }]));
      expect(decide(review('Node', 'UPDATE', heartbeat, before)).enqueue).toEqual([]);
    });

    test('added and deleted Nodes fan out', () => {
      expect(decide(review('Node', 'CREATE', before)).enqueue).toHaveLength(1);
      expect(decide(review('Node', 'DELETE', null, before)).enqueue).toHaveLength(1);
    });
  });

  test('other kinds and subresources are allowed untouched', () => {
    const body = review('Service', 'UPDATE', newService('a'), newService('a'), { subResource: 'status' });
    expect(decide(body)).toEqual({ response: { uid: expect.any(String), allowed: true }, enqueue: [] });
  });
});
