import type { V1Service } from '@kubernetes/client-node';
import { MAX_WARNING_LENGTH, MAX_WARNINGS, aliasWarnings, resolveAliases } from '../../../src/model/alias-resolution';
import { ALIASES, LISTENER_ATTRIBUTES_SUFFIX, TYPE_SUFFIX } from '../../../src/model/aliases';
import { annotationDocs, parseAnnotations, validateAnnotations } from '../../../src/model/annotations';
import { buildModel } from '../../../src/model/build';
import { FINALIZER, isFerrysClass, isFerrysConcern, servedByAnother, wantsLoadBalancer } from '../../../src/model/service';
import { CLUSTER, newNodes, newService, svc } from '../../support/fixtures';

const B = 'service.beta.kubernetes.io/';
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';
const LBC_MARK = { [`${B}${TYPE_SUFFIX}`]: 'external' };
const CPA_MARK = { [`${B}${TYPE_SUFFIX}`]: 'nlb' };

/** A Service of ferry's class (the class makes the claim rule moot) with these annotations. */
const ferrys = (annotations: Record<string, string>, ...tweaks: Array<(s: V1Service) => void>) =>
  newService('web', svc.set({ loadBalancerClass: 'ferry.io/nlb' }), svc.annotate(annotations), ...tweaks);

const effective = (annotations: Record<string, string>, service: V1Service = ferrys(annotations)) => resolveAliases(annotations, { service }).effective;

/**
 * One row per alias with a ferry equivalent: a value a user of LBC or CPA writes, and what
 * ferry reads it as (no type annotation, so no controller's defaults join in). Context holds
 * what the row needs besides itself to take effect.
 */
const READ: Array<[suffix: string, value: string, ferry: Record<string, string>, context?: Record<string, string>]> = [
  ['aws-load-balancer-scheme', 'internet-facing', { 'ferry.io/scheme': 'internet-facing' }],
  ['aws-load-balancer-internal', 'true', { 'ferry.io/scheme': 'internal' }],
  ['aws-load-balancer-nlb-target-type', 'instance', { 'ferry.io/target-type': 'instance' }],
  ['aws-load-balancer-name', 'web-nlb', { 'ferry.io/name': 'web-nlb' }],
  ['aws-load-balancer-proxy-protocol', '*', { 'ferry.io/proxy-protocol': '*' }],
  ['aws-load-balancer-ip-address-type', 'dualstack', { 'ferry.io/ip-address-type': 'dualstack' }],
  ['aws-load-balancer-access-log-enabled', 'true', { 'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true,access_logs.s3.bucket=logs' }, { 'aws-load-balancer-access-log-s3-bucket-name': 'logs' }],
  ['aws-load-balancer-access-log-s3-bucket-name', 'logs', { 'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true,access_logs.s3.bucket=logs' }, { 'aws-load-balancer-access-log-enabled': 'true' }],
  ['aws-load-balancer-access-log-s3-bucket-prefix', 'web', { 'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true,access_logs.s3.bucket=logs,access_logs.s3.prefix=web' }, { 'aws-load-balancer-access-log-enabled': 'true', 'aws-load-balancer-access-log-s3-bucket-name': 'logs' }],
  ['aws-load-balancer-attributes', 'dns_record.client_routing_policy=availability_zone_affinity', { 'ferry.io/load-balancer-attributes': 'dns_record.client_routing_policy=availability_zone_affinity' }],
  ['aws-load-balancer-cross-zone-load-balancing-enabled', 'True', { 'ferry.io/cross-zone': 'true' }],
  ['aws-load-balancer-ssl-cert', CERT, { 'ferry.io/ssl-cert': CERT }],
  ['aws-load-balancer-ssl-ports', 'https', { 'ferry.io/ssl-ports': 'https', 'ferry.io/ssl-cert': CERT }, { 'aws-load-balancer-ssl-cert': CERT }],
  ['aws-load-balancer-ssl-negotiation-policy', 'ELBSecurityPolicy-TLS13-1-2-2021-06', { 'ferry.io/ssl-negotiation-policy': 'ELBSecurityPolicy-TLS13-1-2-2021-06', 'ferry.io/ssl-cert': CERT }, { 'aws-load-balancer-ssl-cert': CERT }],
  ['aws-load-balancer-backend-protocol', 'ssl', { 'ferry.io/backend-protocol': 'tls', 'ferry.io/ssl-cert': CERT }, { 'aws-load-balancer-ssl-cert': CERT }],
  ['aws-load-balancer-alpn-policy', 'HTTP2Preferred', { 'ferry.io/alpn-policy': 'HTTP2Preferred', 'ferry.io/ssl-cert': CERT }, { 'aws-load-balancer-ssl-cert': CERT }],
  ['aws-load-balancer-additional-resource-tags', 'team=web,env=prod', { 'ferry.io/additional-tags': 'team=web,env=prod' }],
  ['aws-load-balancer-healthcheck-protocol', 'HTTPS', { 'ferry.io/healthcheck-protocol': 'HTTPS' }],
  ['aws-load-balancer-healthcheck-port', 'https', { 'ferry.io/healthcheck-port': '30443' }],
  ['aws-load-balancer-healthcheck-path', '/ready', { 'ferry.io/healthcheck-path': '/ready' }],
  ['aws-load-balancer-healthcheck-healthy-threshold', '5', { 'ferry.io/healthcheck-healthy-threshold': '5' }],
  ['aws-load-balancer-healthcheck-unhealthy-threshold', '4', { 'ferry.io/healthcheck-unhealthy-threshold': '4' }],
  ['aws-load-balancer-healthcheck-interval', '20', { 'ferry.io/healthcheck-interval': '20' }],
  ['aws-load-balancer-healthcheck-timeout', '5', { 'ferry.io/healthcheck-timeout': '5' }],
  ['aws-load-balancer-healthcheck-success-codes', '200-299', { 'ferry.io/healthcheck-success-codes': '200-299' }],
  ['aws-load-balancer-target-group-attributes', 'preserve_client_ip.enabled=false', { 'ferry.io/target-group-attributes': 'preserve_client_ip.enabled=false' }],
  ['aws-load-balancer-subnets', 'subnet-0a1b2c3d, public-b', { 'ferry.io/subnets': 'subnet-0a1b2c3d, public-b' }],
  ['aws-load-balancer-eip-allocations', 'eipalloc-0123456789abcdef0', { 'ferry.io/eip-allocations': 'eipalloc-0123456789abcdef0', 'ferry.io/scheme': 'internet-facing' }, { 'aws-load-balancer-scheme': 'internet-facing' }],
  ['aws-load-balancer-private-ipv4-addresses', '10.0.0.50', { 'ferry.io/private-ipv4-addresses': '10.0.0.50' }],
  ['aws-load-balancer-ipv6-addresses', '2001:db8::5', { 'ferry.io/ipv6-addresses': '2001:db8::5', 'ferry.io/ip-address-type': 'dualstack' }, { 'aws-load-balancer-ip-address-type': 'dualstack' }],
  ['aws-load-balancer-target-node-labels', 'pool=edge', { 'ferry.io/target-node-labels': 'pool=edge' }],
  ['aws-load-balancer-security-groups', 'sg-0123456789abcdef0', { 'ferry.io/security-groups': 'sg-0123456789abcdef0' }],
  ['aws-load-balancer-manage-backend-security-group-rules', '0', { 'ferry.io/manage-backend-security-group-rules': 'false' }],
  [`${LISTENER_ATTRIBUTES_SUFFIX}.TCP-80`, 'tcp.idle_timeout.seconds=900', { 'ferry.io/listener-attributes': 'tcp.idle_timeout.seconds=900' }, { [`${LISTENER_ATTRIBUTES_SUFFIX}.TCP-443`]: 'tcp.idle_timeout.seconds=900' }],
];

/** The rows ferry has nothing for (the type annotation is read: it decides the claim and the defaults). */
const UNSUPPORTED = ALIASES.filter((r) => !r.ferry && !r.translate && r.suffix !== TYPE_SUFFIX).map((r) => r.suffix);

const withPrefix = (suffixes: Record<string, string> = {}) => Object.fromEntries(Object.entries(suffixes).map(([k, v]) => [`${B}${k}`, v]));

describe('LBC and CPA annotations read as ferry.io ones', () => {
  // A default for the context keeps the callback's arity at 3: Jest takes a fourth parameter it is not given for `done`.
  test.each(READ)('%s=%j is read as %j, and ferry accepts it', (suffix, value, ferry, context: Record<string, string> = {}) => {
    const annotations = { ...withPrefix(context), [`${B}${suffix}`]: value };
    expect(effective(annotations)).toEqual(ferry);
    expect(validateAnnotations(annotations, undefined, ferrys(annotations))).toEqual([]);
  });

  test('every row with a ferry equivalent has a case above; every equivalent is an annotation ferry has', () => {
    const known = new Set(annotationDocs().map((d) => d.key));
    const read = ALIASES.filter((r) => r.ferry);
    expect(read.map((r) => r.suffix).sort()).toEqual([...new Set(READ.map(([s]) => s.split('.')[0]!))].sort());
    expect(read.filter((r) => !known.has(r.ferry!))).toEqual([]);
  });

  test('every row says where it comes from and what differs', () => {
    for (const row of ALIASES) {
      expect([row.suffix, row.source.length > 0, row.note.length > 0]).toEqual([row.suffix, true, true]);
      expect([row.suffix, row.lbc !== false || row.cpa !== false]).toEqual([row.suffix, true]);
    }
  });

  test.each(UNSUPPORTED)('%s: ferry cannot honour it and says so in a warning', (suffix) => {
    const service = ferrys({ [`${B}${suffix}`]: 'x' });
    const [warning, ...rest] = aliasWarnings(service);
    expect(rest).toEqual([]);
    expect(warning).toMatch(new RegExp(`^${B}${suffix}: not honoured: `));
    expect(warning!.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    expect(effective(service.metadata!.annotations!)).toEqual({});
  });

  test('LBC\'s service.kubernetes.io/ spelling is read too, and wins over the beta one as in LBC', () => {
    expect(effective({ 'service.kubernetes.io/aws-load-balancer-scheme': 'internet-facing' })).toEqual({ 'ferry.io/scheme': 'internet-facing' });
    const both = { 'service.kubernetes.io/aws-load-balancer-scheme': 'internal', [`${B}aws-load-balancer-scheme`]: 'internet-facing' };
    const r = resolveAliases(both, { service: ferrys(both) });
    expect(r.effective).toEqual({ 'ferry.io/scheme': 'internal' });
    expect(r.fates.find((f) => f.key.startsWith(B))).toMatchObject({ kind: 'overridden' });
  });
});

describe('precedence', () => {
  test('a ferry.io annotation wins over its alias', () => {
    const annotations = { 'ferry.io/scheme': 'internal', [`${B}aws-load-balancer-scheme`]: 'internet-facing' };
    const r = resolveAliases(annotations, { service: ferrys(annotations) });
    expect(r.effective).toEqual({ 'ferry.io/scheme': 'internal' });
    expect(r.fates).toEqual([expect.objectContaining({ kind: 'overridden', reason: 'ferry.io/scheme is set and wins' })]);
  });

  test('aws-load-balancer-scheme wins over aws-load-balancer-internal, as in LBC', () => {
    expect(effective(withPrefix({ 'aws-load-balancer-internal': 'true', 'aws-load-balancer-scheme': 'internet-facing' }))).toEqual({ 'ferry.io/scheme': 'internet-facing' });
  });

  test('the named access-log and cross-zone annotations win over aws-load-balancer-attributes, as in LBC; the rest of the list stays', () => {
    const annotations = withPrefix({
      'aws-load-balancer-attributes': 'access_logs.s3.enabled=false,load_balancing.cross_zone.enabled=false,deletion_protection.enabled=true',
      'aws-load-balancer-access-log-enabled': 'true',
      'aws-load-balancer-access-log-s3-bucket-name': 'logs',
      'aws-load-balancer-cross-zone-load-balancing-enabled': 'true',
    });
    expect(effective(annotations)).toEqual({
      'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true,access_logs.s3.bucket=logs,deletion_protection.enabled=true',
      'ferry.io/cross-zone': 'true',
    });
    expect(validateAnnotations(annotations, undefined, ferrys(annotations))).toEqual([]);
  });

  test('aws-load-balancer-proxy-protocol wins over proxy_protocol_v2.enabled in the target group attributes, as in LBC', () => {
    const annotations = withPrefix({ 'aws-load-balancer-proxy-protocol': '*', 'aws-load-balancer-target-group-attributes': 'proxy_protocol_v2.enabled=false,preserve_client_ip.enabled=true' });
    expect(effective(annotations)).toEqual({ 'ferry.io/proxy-protocol': '*', 'ferry.io/target-group-attributes': 'preserve_client_ip.enabled=true' });
  });
});

describe('value translation', () => {
  test.each([
    ['aws-load-balancer-internal', 'false', undefined, { 'ferry.io/scheme': 'internet-facing' }],
    ['aws-load-balancer-internal', '0.0.0.0/0', 'CPA', { 'ferry.io/scheme': 'internal' }],
    ['aws-load-balancer-internal', 'false', 'CPA', { 'ferry.io/scheme': 'internet-facing' }],
    ['aws-load-balancer-backend-protocol', 'tcp', undefined, { 'ferry.io/backend-protocol': 'tcp', 'ferry.io/ssl-cert': CERT }],
    ['aws-load-balancer-manage-backend-security-group-rules', 'F', undefined, { 'ferry.io/manage-backend-security-group-rules': 'false' }],
    ['aws-load-balancer-ssl-ports', '*', undefined, { 'ferry.io/ssl-ports': '*', 'ferry.io/ssl-cert': CERT }],
  ])('%s=%j (marker %s) → %j', (suffix, value, marker, expected) => {
    const annotations = { ...(marker === 'CPA' ? CPA_MARK : {}), ...(suffix.includes('ssl') || suffix.includes('backend-protocol') ? withPrefix({ 'aws-load-balancer-ssl-cert': CERT }) : {}), [`${B}${suffix}`]: value };
    const got = effective(annotations);
    for (const [k, v] of Object.entries(expected)) expect([k, got[k]]).toEqual([k, v]);
  });

  test("with LBC's marker `*` in aws-load-balancer-ssl-ports matches no port, so there is no TLS listener at all", () => {
    const annotations = { ...LBC_MARK, ...withPrefix({ 'aws-load-balancer-ssl-cert': CERT, 'aws-load-balancer-ssl-ports': '*' }) };
    const model = buildModel(ferrys(annotations), newNodes(2), CLUSTER).loadBalancer!;
    expect(model.listeners.map((l) => l.protocol)).toEqual(['TCP', 'TCP']);
  });

  test('LBC\'s nlb-target-type=ip is mapped with a warning: ferry\'s ip targets are the nodes', () => {
    const service = ferrys(withPrefix({ 'aws-load-balancer-nlb-target-type': 'ip' }));
    expect(effective(service.metadata!.annotations!)).toEqual({ 'ferry.io/target-type': 'ip' });
    expect(aliasWarnings(service)).toEqual([`${B}aws-load-balancer-nlb-target-type: LBC's ip targets are pods; ferry registers the nodes' IPs on their NodePorts`]);
    expect(buildModel(service, newNodes(2), CLUSTER).loadBalancer!.targetGroups[0]!.targets).toEqual([
      { id: '10.0.0.10', port: 30080 },
      { id: '10.0.1.10', port: 30080 },
    ]);
  });

  test('settings that need a certificate, or an HTTP health check, are dropped without one, as LBC and CPA ignore them', () => {
    const annotations = withPrefix({ 'aws-load-balancer-ssl-ports': '443', 'aws-load-balancer-backend-protocol': 'tcp', 'aws-load-balancer-healthcheck-protocol': 'TCP', 'aws-load-balancer-healthcheck-path': '/x' });
    const r = resolveAliases(annotations, { service: ferrys(annotations) });
    expect(r.effective).toEqual({ 'ferry.io/healthcheck-protocol': 'TCP' });
    expect(r.fates.filter((f) => f.kind === 'dropped').map((f) => f.key)).toEqual([`${B}aws-load-balancer-ssl-ports`, `${B}aws-load-balancer-backend-protocol`, `${B}aws-load-balancer-healthcheck-path`]);
    expect(aliasWarnings(ferrys(annotations))).toEqual([]);
  });

  test('listener attributes that differ between TCP listeners are not honoured: ferry sets one value for all', () => {
    const service = ferrys(withPrefix({ [`${LISTENER_ATTRIBUTES_SUFFIX}.TCP-80`]: 'tcp.idle_timeout.seconds=900' }));
    expect(effective(service.metadata!.annotations!, service)).toEqual({});
    expect(aliasWarnings(service)).toEqual([`${B}${LISTENER_ATTRIBUTES_SUFFIX}.TCP-80: not honoured: ferry sets one value for every TCP listener`]);
  });
});

describe('refusals name the annotation the Service wrote', () => {
  test.each([
    [{ 'aws-load-balancer-scheme': 'public' }, `annotation ${B}aws-load-balancer-scheme="public" is invalid: expected \`internal\` or \`internet-facing\``],
    [{ 'aws-load-balancer-internal': 'yes' }, `annotation ${B}aws-load-balancer-internal="yes" is invalid: expected \`true\` or \`false\``],
    [{ 'aws-load-balancer-security-groups': 'web-sg' }, `annotation ${B}aws-load-balancer-security-groups="web-sg" is invalid: expected 1 to 5 comma-separated security group IDs (\`sg-…\`)`],
    [{ 'aws-load-balancer-healthcheck-port': 'metrics' }, `annotation ${B}aws-load-balancer-healthcheck-port="metrics" is invalid: expected \`traffic-port\`, a port number, or the name of a Service port that has a NodePort`],
    [{ 'aws-load-balancer-healthcheck-interval': '10', 'aws-load-balancer-healthcheck-timeout': '10' }, `annotation ${B}aws-load-balancer-healthcheck-timeout="10" is invalid: must be less than the interval (10s)`],
    [{ 'aws-load-balancer-target-group-attributes': 'stickiness.enabled=true,stickiness.type=source_ip' }, `annotation ${B}aws-load-balancer-target-group-attributes="stickiness.enabled=true,stickiness.type=source_ip" is invalid: sets stickiness.enabled=true, but ferry takes stickiness from spec.sessionAffinity (None): set spec.sessionAffinity: ClientIP instead`],
    [{ 'aws-load-balancer-attributes': 'idle_timeout.timeout_seconds=60' }, expect.stringMatching(new RegExp(`^annotation ${B}aws-load-balancer-attributes="idle_timeout.timeout_seconds=60" is invalid: idle_timeout.timeout_seconds is not an attribute AWS documents here`))],
  ])('%j', (suffixes, message) => {
    const annotations = withPrefix(suffixes);
    expect(validateAnnotations(annotations, undefined, ferrys(annotations))).toEqual([message]);
  });

  test('a value several aliases built is named by all of them', () => {
    const annotations = withPrefix({ 'aws-load-balancer-access-log-enabled': 'true', 'aws-load-balancer-attributes': 'zonal_shift.config.enabled=maybe' });
    expect(validateAnnotations(annotations, undefined, ferrys(annotations))).toEqual([
      `annotations ${B}aws-load-balancer-access-log-enabled, ${B}aws-load-balancer-attributes (read as ferry.io/load-balancer-attributes="access_logs.s3.enabled=true,zonal_shift.config.enabled=maybe") are invalid: zonal_shift.config.enabled="maybe" is invalid: expected \`true\` or \`false\``,
    ]);
  });

  test('the model builder refuses with the same message, naming the alias', () => {
    expect(() => buildModel(ferrys(withPrefix({ 'aws-load-balancer-scheme': 'public' })), newNodes(2), CLUSTER)).toThrow(`annotation ${B}aws-load-balancer-scheme="public" is invalid`);
    expect(() => parseAnnotations(withPrefix({ 'aws-load-balancer-cross-zone-load-balancing-enabled': 'yes' }))).toThrow(
      `annotation ${B}aws-load-balancer-cross-zone-load-balancing-enabled="yes" is invalid: expected \`true\` or \`false\``,
    );
  });
});

describe("the defaults of the controller a Service's type annotation names", () => {
  test('CPA (nlb): internet-facing unless aws-load-balancer-internal; TCP on the traffic port every 30 s, thresholds 3', () => {
    expect(effective(CPA_MARK)).toEqual({
      'ferry.io/scheme': 'internet-facing',
      'ferry.io/healthcheck-protocol': 'TCP',
      'ferry.io/healthcheck-port': 'traffic-port',
      'ferry.io/healthcheck-interval': '30',
      'ferry.io/healthcheck-healthy-threshold': '3',
      'ferry.io/healthcheck-unhealthy-threshold': '3',
      'ferry.io/healthcheck-timeout': '10',
    });
    expect(effective({ ...CPA_MARK, ...withPrefix({ 'aws-load-balancer-internal': 'true' }) })['ferry.io/scheme']).toBe('internal');
  });

  test('LBC (external): internal; TCP on the traffic port every 10 s, thresholds 3, the timeout kept below the interval', () => {
    expect(effective(LBC_MARK)).toEqual({
      'ferry.io/healthcheck-protocol': 'TCP',
      'ferry.io/healthcheck-port': 'traffic-port',
      'ferry.io/healthcheck-interval': '10',
      'ferry.io/healthcheck-healthy-threshold': '3',
      'ferry.io/healthcheck-unhealthy-threshold': '3',
      'ferry.io/healthcheck-timeout': '9',
    });
  });

  test('an HTTP check without a path checks "/", as LBC and CPA do; TLS gets their ELBSecurityPolicy-2016-08', () => {
    const got = effective({ ...CPA_MARK, ...withPrefix({ 'aws-load-balancer-healthcheck-protocol': 'HTTP', 'aws-load-balancer-ssl-cert': CERT }) });
    expect(got).toMatchObject({ 'ferry.io/healthcheck-path': '/', 'ferry.io/healthcheck-timeout': '6', 'ferry.io/ssl-negotiation-policy': 'ELBSecurityPolicy-2016-08' });
  });

  test('externalTrafficPolicy: Local keeps ferry\'s check, which is theirs too (HTTP /healthz on the healthCheckNodePort)', () => {
    const service = ferrys(CPA_MARK, svc.local(32000));
    expect(effective(CPA_MARK, service)).toEqual({ 'ferry.io/scheme': 'internet-facing' });
    expect(buildModel(service, newNodes(2), CLUSTER).loadBalancer!.targetGroups[0]!.healthCheck).toMatchObject({ protocol: 'HTTP', port: 32000, path: '/healthz', intervalSeconds: 10, timeoutSeconds: 6 });
  });

  test('with the CPA marker, what CPA does not read for an NLB is not read either, with a warning', () => {
    const service = ferrys({ ...CPA_MARK, ...withPrefix({ 'aws-load-balancer-scheme': 'internal', 'aws-load-balancer-proxy-protocol': '*' }) });
    expect(effective(service.metadata!.annotations!, service)['ferry.io/scheme']).toBe('internet-facing');
    expect(effective(service.metadata!.annotations!, service)['ferry.io/proxy-protocol']).toBeUndefined();
    expect(aliasWarnings(service)).toEqual([`${B}aws-load-balancer-scheme: not honoured: CPA ignores it on NLBs`, `${B}aws-load-balancer-proxy-protocol: not honoured: CPA ignores it on NLBs`]);
  });

  test("a Service's own ferry.io HTTP settings keep its check HTTP; the controller's interval and thresholds still apply", () => {
    expect(effective({ ...LBC_MARK, 'ferry.io/healthcheck-path': '/ready' })).toEqual({
      'ferry.io/healthcheck-path': '/ready',
      'ferry.io/healthcheck-port': 'traffic-port',
      'ferry.io/healthcheck-interval': '10',
      'ferry.io/healthcheck-healthy-threshold': '3',
      'ferry.io/healthcheck-unhealthy-threshold': '3',
      'ferry.io/healthcheck-timeout': '9',
    });
  });

  test('the model of a CPA Service is the NLB CPA builds', () => {
    const lb = buildModel(ferrys(CPA_MARK), newNodes(2), CLUSTER).loadBalancer!;
    expect(lb.scheme).toBe('internet-facing');
    expect(lb.targetGroups[0]!.healthCheck).toEqual({ protocol: 'TCP', port: 'traffic-port', intervalSeconds: 30, timeoutSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 3 });
  });
});

describe('warnings', () => {
  test(`at most ${MAX_WARNINGS}, each at most ${MAX_WARNING_LENGTH} characters`, () => {
    const unsupported = UNSUPPORTED;
    const warnings = aliasWarnings(ferrys(withPrefix(Object.fromEntries(unsupported.map((s) => [s, 'x'])))));
    expect(warnings).toHaveLength(MAX_WARNINGS);
    expect(warnings.every((w) => w.length <= MAX_WARNING_LENGTH)).toBe(true);
    expect(warnings.at(-1)).toBe(`and ${unsupported.length - MAX_WARNINGS + 1} more annotations ferry does not honour as written (ferry migrate lists them)`);
  });

  test('none for a Service with only ferry.io annotations, and none for what ferry reads as written', () => {
    expect(aliasWarnings(ferrys({ 'ferry.io/scheme': 'internal' }))).toEqual([]);
    expect(aliasWarnings(ferrys(withPrefix({ 'aws-load-balancer-scheme': 'internal' })))).toEqual([]);
  });
});

describe('the claim rule: ferry does not claim an unclassed Service another controller serves', () => {
  const unclassed = (...tweaks: Array<(s: V1Service) => void>) => newService('web', ...tweaks);
  const servedAt = (hostname: string) => (s: V1Service) => void (s.status = { loadBalancer: { ingress: [{ hostname }] } });

  test.each([
    ['an address ferry did not write', unclassed(servedAt('a1b2.elb.us-east-1.amazonaws.com')), 'status.loadBalancer.ingress (a1b2.elb.us-east-1.amazonaws.com) was written by another controller'],
    ["LBC's type annotation", unclassed(svc.annotate(LBC_MARK)), `${B}aws-load-balancer-type=external hands it to the AWS Load Balancer Controller`],
    ["LBC's nlb-ip", unclassed(svc.annotate({ 'service.kubernetes.io/aws-load-balancer-type': 'nlb-ip' })), 'service.kubernetes.io/aws-load-balancer-type=nlb-ip hands it to the AWS Load Balancer Controller'],
    ["CPA's type annotation", unclassed(svc.annotate(CPA_MARK)), `${B}aws-load-balancer-type=nlb hands it to the cloud provider's service controller`],
    ['a Classic ELB type', unclassed(svc.annotate({ [`${B}aws-load-balancer-type`]: 'clb' })), `${B}aws-load-balancer-type=clb hands it to the cloud provider's service controller (a Classic ELB)`],
    ["LBC's finalizer", unclassed((s) => void (s.metadata!.finalizers = ['service.k8s.aws/resources'])), "it carries service.k8s.aws/resources, the finalizer of the AWS Load Balancer Controller"],
  ])('%s', (_, service, reason) => {
    expect(servedByAnother(service)).toBe(reason);
    expect(isFerrysClass(service, CLUSTER)).toBe(false);
    expect(isFerrysConcern(service, CLUSTER)).toBe(false);
    expect(wantsLoadBalancer(service, CLUSTER)).toBe(false);
    expect(buildModel(service, newNodes(2), CLUSTER).loadBalancer).toBeNull();
  });

  test.each([
    ['ferry wrote the address (its finalizer)', unclassed(servedAt('k8s-x.elb.us-east-1.amazonaws.com'), (s) => void (s.metadata!.finalizers = [FINALIZER]), svc.annotate(CPA_MARK))],
    ['ferry wrote the address (its record)', unclassed(servedAt('k8s-x.elb.us-east-1.amazonaws.com'), svc.annotate({ 'status.ferry.io/resources': '{}' }))],
    ['the opt-in to take over', unclassed(servedAt('a1b2.elb.us-east-1.amazonaws.com'), svc.annotate({ ...LBC_MARK, 'ferry.io/adopt-load-balancer': 'web-nlb' }))],
    ["ferry's class, whatever else it carries", unclassed(servedAt('a1b2.elb.us-east-1.amazonaws.com'), svc.annotate(CPA_MARK), svc.set({ loadBalancerClass: 'ferry.io/nlb' }))],
    ['nothing to say another controller serves it', unclassed(svc.annotate({ [`${B}aws-load-balancer-scheme`]: 'internet-facing' }))],
  ])('ferry\'s: %s', (_, service) => {
    expect(servedByAnother(service)).toBeUndefined();
    expect(isFerrysClass(service, CLUSTER)).toBe(true);
  });

  test('with FERRY_CLAIM_UNCLASSED=false no unclassed Service is ferry\'s, served or not', () => {
    expect(isFerrysClass(unclassed(), { ...CLUSTER, claimUnclassedServices: false })).toBe(false);
  });
});
