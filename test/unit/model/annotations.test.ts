import { annotationDocs, parseAnnotations, validateAnnotations } from '../../../src/model/annotations';
import { ConfigError } from '../../../src/errors';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';

// One row per annotation: a value a user might plausibly write, and the message they get.
const ROWS: Array<[string, string, string]> = [
    ['ferry.io/scheme', 'public', 'annotation ferry.io/scheme="public" is invalid: expected `internal` or `internet-facing`'],
    ['ferry.io/target-type', 'pod', 'annotation ferry.io/target-type="pod" is invalid: expected `instance` or `ip`'],
    ['ferry.io/subnets', ' , ', 'annotation ferry.io/subnets=" , " is invalid: expected comma-separated subnet IDs (`subnet-…`) or subnet Name tags'],
    ['ferry.io/healthcheck-protocol', 'udp', 'annotation ferry.io/healthcheck-protocol="udp" is invalid: expected `TCP`, `HTTP` or `HTTPS`'],
    ['ferry.io/healthcheck-port', '70000', 'annotation ferry.io/healthcheck-port="70000" is invalid: expected `traffic-port` or a port number from 1 to 65535'],
    ['ferry.io/healthcheck-path', 'healthz', 'annotation ferry.io/healthcheck-path="healthz" is invalid: expected an HTTP path starting with `/`, at most 1024 printable characters'],
    ['ferry.io/healthcheck-interval', '3', 'annotation ferry.io/healthcheck-interval="3" is invalid: expected whole seconds from 5 to 300'],
    ['ferry.io/healthcheck-timeout', '1.5', 'annotation ferry.io/healthcheck-timeout="1.5" is invalid: expected whole seconds from 2 to 120, less than the interval'],
    ['ferry.io/healthcheck-healthy-threshold', '11', 'annotation ferry.io/healthcheck-healthy-threshold="11" is invalid: expected a whole number from 2 to 10'],
    ['ferry.io/healthcheck-unhealthy-threshold', '1', 'annotation ferry.io/healthcheck-unhealthy-threshold="1" is invalid: expected a whole number from 2 to 10'],
    ['ferry.io/healthcheck-success-codes', '100-200', 'annotation ferry.io/healthcheck-success-codes="100-200" is invalid: expected HTTP codes from 200 to 599 as `200`, `200,204` or `200-399`'],
    ['ferry.io/proxy-protocol', 'v2!', 'annotation ferry.io/proxy-protocol="v2!" is invalid: expected `*` or comma-separated port names or numbers'],
    ['ferry.io/cross-zone', 'yes', 'annotation ferry.io/cross-zone="yes" is invalid: expected `true` or `false`'],
    ['ferry.io/deregistration-delay', '3601', 'annotation ferry.io/deregistration-delay="3601" is invalid: expected whole seconds from 0 to 3600'],
    ['ferry.io/ssl-cert', 'my-cert', 'annotation ferry.io/ssl-cert="my-cert" is invalid: expected comma-separated ACM or IAM certificate ARNs'],
    ['ferry.io/ssl-ports', '443;80', 'annotation ferry.io/ssl-ports="443;80" is invalid: expected `*` or comma-separated port names or numbers'],
    ['ferry.io/ssl-negotiation-policy', 'TLS13', 'annotation ferry.io/ssl-negotiation-policy="TLS13" is invalid: expected an ELB security policy name such as `ELBSecurityPolicy-TLS13-1-2-2021-06`'],
    ['ferry.io/additional-tags', 'ferry.io/cluster=other', "annotation ferry.io/additional-tags=\"ferry.io/cluster=other\" is invalid: keys under ferry.io/ are ferry's ownership tags and cannot be set"],
    ['ferry.io/security-groups', 'web-sg', 'annotation ferry.io/security-groups="web-sg" is invalid: expected 1 to 5 comma-separated security group IDs (`sg-…`)'],
    ['ferry.io/ip-address-type', 'ipv6', 'annotation ferry.io/ip-address-type="ipv6" is invalid: expected `ipv4` or `dualstack`'],
    ['ferry.io/deletion-protection', 'on', 'annotation ferry.io/deletion-protection="on" is invalid: expected `true` or `false`'],
    ['ferry.io/target-node-labels', '=x', 'annotation ferry.io/target-node-labels="=x" is invalid: "=x" has no key; write key=value'],
    ['ferry.io/name', 'internal-web', 'annotation ferry.io/name="internal-web" is invalid: expected 1–32 letters, digits or hyphens, not starting or ending with a hyphen nor starting with `internal-`'],
  ['ferry.io/ipvs-scheduler', 'wrr', 'annotation ferry.io/ipvs-scheduler="wrr" is invalid: expected `rr`, `lc`, `dh`, `sh`, `sed` or `nq`'],
  ['ferry.io/load-balancer-attributes', 'access_logs.s3.enabled=yes', 'annotation ferry.io/load-balancer-attributes="access_logs.s3.enabled=yes" is invalid: access_logs.s3.enabled="yes" is invalid: expected `true` or `false`'],
  ['ferry.io/target-group-attributes', 'idle_timeout.timeout_seconds=60', 'annotation ferry.io/target-group-attributes="idle_timeout.timeout_seconds=60" is invalid: idle_timeout.timeout_seconds is not an attribute AWS documents here; accepted keys: deregistration_delay.timeout_seconds, deregistration_delay.connection_termination.enabled, stickiness.enabled, stickiness.type, proxy_protocol_v2.enabled, preserve_client_ip.enabled, load_balancing.cross_zone.enabled, target_group_health.dns_failover.minimum_healthy_targets.count, target_group_health.dns_failover.minimum_healthy_targets.percentage, target_group_health.unhealthy_state_routing.minimum_healthy_targets.count, target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage, target_health_state.unhealthy.connection_termination.enabled, target_health_state.unhealthy.draining_interval_seconds'],
  ['ferry.io/listener-attributes', 'tcp.idle_timeout.seconds=30', 'annotation ferry.io/listener-attributes="tcp.idle_timeout.seconds=30" is invalid: tcp.idle_timeout.seconds="30" is invalid: expected a whole number from 60 to 6000'],
  ['ferry.io/eip-allocations', 'eip-1', 'annotation ferry.io/eip-allocations="eip-1" is invalid: expected comma-separated Elastic IP allocation IDs (`eipalloc-…`), one per subnet, in the order of the subnets\' Availability Zones'],
  ['ferry.io/private-ipv4-addresses', '10.0.0.300', 'annotation ferry.io/private-ipv4-addresses="10.0.0.300" is invalid: expected comma-separated IPv4 addresses, one inside each subnet'],
  ['ferry.io/ipv6-addresses', '2001:db8::g', 'annotation ferry.io/ipv6-addresses="2001:db8::g" is invalid: expected comma-separated IPv6 addresses, one inside each subnet'],
  ['ferry.io/alpn-policy', 'h2', 'annotation ferry.io/alpn-policy="h2" is invalid: expected `HTTP1Only`, `HTTP2Only`, `HTTP2Optional`, `HTTP2Preferred` or `None`'],
  ['ferry.io/backend-protocol', 'ssl', 'annotation ferry.io/backend-protocol="ssl" is invalid: expected `tcp` or `tls`'],
  ['ferry.io/adopt-load-balancer', 'arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1', 'annotation ferry.io/adopt-load-balancer="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1" is invalid: expected the name or ARN of an existing Network Load Balancer (`arn:aws:elasticloadbalancing:…:loadbalancer/net/<name>/<id>`)'],
  ['ferry.io/manage-backend-security-group-rules', 'no', 'annotation ferry.io/manage-backend-security-group-rules="no" is invalid: expected `true` or `false`'],
];

/** Other annotations a row's annotation needs to be valid at all. */
const CONTEXT: Record<string, Record<string, string>> = {
  'ferry.io/alpn-policy': { 'ferry.io/ssl-cert': CERT },
  'ferry.io/backend-protocol': { 'ferry.io/ssl-cert': CERT },
  'ferry.io/eip-allocations': { 'ferry.io/scheme': 'internet-facing' },
  'ferry.io/ipv6-addresses': { 'ferry.io/ip-address-type': 'dualstack' },
};

describe('ferry.io annotations', () => {
  test.each(ROWS)('%s=%j is refused with a message naming it', (key, value, message) => {
    const context: Record<string, string> = key.startsWith('ferry.io/ssl-') && key !== 'ferry.io/ssl-cert' ? { 'ferry.io/ssl-cert': CERT } : (CONTEXT[key] ?? {});
    expect(validateAnnotations({ ...context, [key]: value })).toEqual([message]);
  });

  test('every annotation of the schema has a row above', () => {
    expect(ROWS.map(([key]) => key).sort()).toEqual(annotationDocs().map((d) => d.key).sort());
  });

  test.each([
    [{ 'ferry.io/healthcheck-interval': '10', 'ferry.io/healthcheck-timeout': '10' }, 'annotation ferry.io/healthcheck-timeout="10" is invalid: must be less than the interval (10s)'],
    [{ 'ferry.io/ssl-ports': '443' }, 'annotation ferry.io/ssl-ports="443" is invalid: needs ferry.io/ssl-cert as well'],
    [{ 'ferry.io/healthcheck-protocol': 'TCP', 'ferry.io/healthcheck-path': '/x' }, 'annotation ferry.io/healthcheck-path="/x" is invalid: applies to HTTP and HTTPS health checks only'],
    [{ 'ferry.io/additional-tags': 'aws:owner=me' }, 'annotation ferry.io/additional-tags="aws:owner=me" is invalid: keys starting with aws: are reserved by AWS'],
    [{ 'ferry.io/shceme': 'internal' }, 'unknown annotation ferry.io/shceme: did you mean ferry.io/scheme?'],
    [{ 'ferry.io/alpn-policy': 'HTTP2Only' }, 'annotation ferry.io/alpn-policy="HTTP2Only" is invalid: applies to TLS listeners: needs ferry.io/ssl-cert as well'],
    [{ 'ferry.io/eip-allocations': 'eipalloc-0123456789abcdef0' }, 'annotation ferry.io/eip-allocations="eipalloc-0123456789abcdef0" is invalid: Elastic IPs need ferry.io/scheme=internet-facing'],
    [
      { 'ferry.io/cross-zone': 'true', 'ferry.io/load-balancer-attributes': 'load_balancing.cross_zone.enabled=false' },
      'annotation ferry.io/load-balancer-attributes="load_balancing.cross_zone.enabled=false" is invalid: sets load_balancing.cross_zone.enabled=false but ferry.io/cross-zone says true; keep one of the two',
    ],
    [
      { 'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true' },
      'annotation ferry.io/load-balancer-attributes="access_logs.s3.enabled=true" is invalid: access_logs.s3.enabled=true needs access_logs.s3.bucket',
    ],
    [
      { 'ferry.io/adopt-load-balancer': 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/legacy/50dc6c495c0c9188', 'ferry.io/name': 'other' },
      'annotation ferry.io/name="other" is invalid: differs from the load balancer ferry.io/adopt-load-balancer names (legacy); remove one of the two',
    ],
    [
      { 'ferry.io/adopt-load-balancer': 'legacy', 'ferry.io/scheme': 'internet-facing', 'ferry.io/eip-allocations': 'eipalloc-0123456789abcdef0' },
      'annotation ferry.io/eip-allocations="eipalloc-0123456789abcdef0" is invalid: an adopted load balancer keeps its addresses (AWS sets them only at creation); remove it',
    ],
  ])('cross-field rule %j', (annotations, message) => {
    expect(validateAnnotations(annotations)).toEqual([message]);
  });

  test('an unknown key far from every known one lists what ferry reads', () => {
    const [message] = validateAnnotations({ 'ferry.io/color': 'blue' });
    expect(message).toMatch(/^unknown annotation ferry\.io\/color: ferry reads ferry\.io\/scheme, .*ferry\.io\/ipvs-scheduler$/);
  });

  test('reports every problem at once and ignores other prefixes', () => {
    const problems = validateAnnotations({
      'ferry.io/scheme': 'x',
      'ferry.io/cross-zone': 'maybe',
      'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
    });
    expect(problems).toHaveLength(2);
  });

  test('parses values into their types', () => {
    expect(
      parseAnnotations({
        'ferry.io/subnets': 'subnet-1, private-a',
        'ferry.io/healthcheck-protocol': 'http',
        'ferry.io/healthcheck-port': 'traffic-port',
        'ferry.io/healthcheck-interval': '30',
        'ferry.io/healthcheck-success-codes': '200 - 299, 302',
        'ferry.io/cross-zone': 'true',
        'ferry.io/additional-tags': 'team=web, cost-center = 42',
        'ferry.io/target-node-labels': 'pool=edge,public',
      }),
    ).toEqual({
      'ferry.io/subnets': ['subnet-1', 'private-a'],
      'ferry.io/healthcheck-protocol': 'HTTP',
      'ferry.io/healthcheck-port': 'traffic-port',
      'ferry.io/healthcheck-interval': 30,
      'ferry.io/healthcheck-success-codes': '200-299,302',
      'ferry.io/cross-zone': true,
      'ferry.io/additional-tags': { team: 'web', 'cost-center': '42' },
      'ferry.io/target-node-labels': { pool: 'edge', public: '' },
    });
  });

  test('parseAnnotations throws a ConfigError carrying every message', () => {
    expect(() => parseAnnotations({ 'ferry.io/scheme': 'x', 'ferry.io/name': '-bad' })).toThrow(ConfigError);
    expect(() => parseAnnotations({ 'ferry.io/scheme': 'x', 'ferry.io/name': '-bad' })).toThrow(/ferry\.io\/scheme.*; annotation ferry\.io\/name/);
  });
});
