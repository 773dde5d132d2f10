import type { V1Service } from '@kubernetes/client-node';
import { admit } from '../../../src/admission/admit';
import { parseAdmissionReview, reviewResponse, type AdmissionRequest } from '../../../src/admission/review';
import { MAX_WARNING_LENGTH, MAX_WARNINGS } from '../../../src/model/alias-resolution';
import { ALIASES } from '../../../src/model/aliases';
import { review } from '../../support/admission';
import { CLUSTER, newService, svc } from '../../support/fixtures';

/** The webhook and the LBC and CPA annotations: refusals that name them, warnings, and the claim rule. */

const B = 'service.beta.kubernetes.io/';

function request(body: Record<string, unknown>): AdmissionRequest {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
}

const decide = (body: Record<string, unknown>) => admit(request(body), CLUSTER, { controllerUsernames: [] });
const servedAt = (hostname: string) => (s: V1Service) => void (s.status = { loadBalancer: { ingress: [{ hostname }] } });

describe('the webhook reads LBC and CPA annotations on Services of ferry\'s class', () => {
  test('a bad alias value is denied, naming the annotation the user wrote', () => {
    const d = decide(review('Service', 'CREATE', newService('web', svc.annotate({ [`${B}aws-load-balancer-scheme`]: 'public' }))));
    expect(d.response).toEqual({
      uid: expect.any(String),
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: `ferry: annotation ${B}aws-load-balancer-scheme="public" is invalid: expected \`internal\` or \`internet-facing\`` },
    });
  });

  test('a named health-check port is resolved from the Service in the request', () => {
    const ok = newService('web', svc.annotate({ [`${B}aws-load-balancer-healthcheck-port`]: 'https' }));
    expect(decide(review('Service', 'CREATE', ok)).response.allowed).toBe(true);
    const bad = newService('web', svc.annotate({ [`${B}aws-load-balancer-healthcheck-port`]: 'metrics' }));
    expect(decide(review('Service', 'CREATE', bad)).response.status?.message).toMatch(/healthcheck-port="metrics" is invalid: expected `traffic-port`, a port number, or the name of a Service port/);
  });

  test('what ferry does not honour is allowed with a warning, in the AdmissionReview answer', () => {
    const service = newService('web', svc.annotate({ [`${B}aws-load-balancer-disable-nlb-sg`]: 'true', [`${B}aws-load-balancer-nlb-target-type`]: 'ip' }));
    const d = decide(review('Service', 'CREATE', service));
    expect(d.response.allowed).toBe(true);
    expect(d.response.warnings).toEqual([
      `${B}aws-load-balancer-nlb-target-type: LBC's ip targets are pods; ferry registers the nodes' IPs on their NodePorts`,
      `${B}aws-load-balancer-disable-nlb-sg: not honoured: ferry always attaches a security group`,
    ]);
    expect(JSON.parse(reviewResponse(d.response)).response.warnings).toHaveLength(2);
    expect(d.enqueue).toHaveLength(1);
  });

  test('a Service of another class gets no warning and no refusal', () => {
    const service = newService('web', svc.set({ loadBalancerClass: 'service.k8s.aws/nlb' }), svc.annotate({ [`${B}aws-load-balancer-scheme`]: 'public', [`${B}aws-load-balancer-disable-nlb-sg`]: 'true' }));
    expect(decide(review('Service', 'CREATE', service))).toEqual({ response: { uid: expect.any(String), allowed: true }, enqueue: [] });
  });
});

describe('a Service another controller serves is allowed, unchecked, and not queued', () => {
  test.each([
    ["LBC's type annotation", newService('web', svc.annotate({ [`${B}aws-load-balancer-type`]: 'external', [`${B}aws-load-balancer-scheme`]: 'public' }))],
    ["CPA's type annotation", newService('web', svc.annotate({ [`${B}aws-load-balancer-type`]: 'nlb' }))],
    ['an address in its status ferry did not write', newService('web', servedAt('a1b2.elb.us-east-1.amazonaws.com'), svc.annotate({ 'ferry.io/scheme': 'public' }))],
  ])('%s', (_, service) => {
    expect(decide(review('Service', 'UPDATE', service, service))).toEqual({ response: { uid: expect.any(String), allowed: true }, enqueue: [] });
  });

  test('ferry.io/adopt-load-balancer is the opt-in: checked and queued', () => {
    const service = newService('web', servedAt('a1b2.elb.us-east-1.amazonaws.com'), svc.annotate({ [`${B}aws-load-balancer-type`]: 'nlb', 'ferry.io/adopt-load-balancer': 'a1b2' }));
    const d = decide(review('Service', 'UPDATE', service, service));
    expect(d.response.allowed).toBe(true);
    expect(d.enqueue).toHaveLength(1);
  });

  test("a Service ferry serves (its finalizer) stays ferry's, whatever its status says", () => {
    const service = newService('web', servedAt('k8s-default-web.elb.us-east-1.amazonaws.com'), (s) => void (s.metadata!.finalizers = ['ferry.io/load-balancer-cleanup']));
    expect(decide(review('Service', 'UPDATE', service, service)).enqueue).toHaveLength(1);
  });
});

describe('bounded, whatever a Service holds', () => {
  test('every alias with a bad value and 20,000 per-listener annotations: one deny message of at most 4 KiB', () => {
    const annotations: Record<string, string> = Object.fromEntries(ALIASES.filter((r) => r.ferry).map((r) => [`${B}${r.suffix}`, 'x'.repeat(300)]));
    for (let i = 0; i < 20_000; i++) annotations[`${B}aws-load-balancer-listener-attributes.TCP-${i}`] = 'tcp.idle_timeout.seconds=61';
    const d = decide(review('Service', 'CREATE', newService('web', svc.annotate(annotations))));
    expect(d.response.allowed).toBe(false);
    expect(Buffer.byteLength(d.response.status!.message)).toBeLessThanOrEqual(4096);
    expect(d.response.status!.message).toMatch(/and \d+ more problems not shown$/);
  });

  test(`at most ${MAX_WARNINGS} warnings of at most ${MAX_WARNING_LENGTH} characters, however many annotations ferry ignores`, () => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 20_000; i++) annotations[`${B}aws-load-balancer-listener-attributes.TCP-${i}`] = `tcp.idle_timeout.seconds=${60 + (i % 7)}`;
    for (const r of ALIASES.filter((r) => !r.ferry && !r.translate && r.suffix !== 'aws-load-balancer-type')) annotations[`${B}${r.suffix}`] = 'x';
    const warnings = decide(review('Service', 'CREATE', newService('web', svc.annotate(annotations)))).response.warnings!;
    expect(warnings.length).toBe(MAX_WARNINGS);
    expect(warnings.every((w) => w.length <= MAX_WARNING_LENGTH)).toBe(true);
  });
});
