import { AwsError } from './errors';
import type { Params } from './query';
import type { AwsState, HealthCheck, Listener, LoadBalancer, TargetGroup } from './state';
import type { XmlValue } from './xml';

/**
 * Whose behaviour the EC2, ELBv2 and Tagging handlers reproduce where AWS and moto (the
 * engine under LocalStack's ELBv2, EC2 and Resource Groups Tagging API) differ. `aws` (the default) is AWS as documented;
 * `moto` reproduces what moto reports differently and what moto refuses that AWS
 * accepts, so a controller tested here copes with both; `sparse` is AWS except that
 * Describe*Attributes leave out unset keys as moto does (the one difference isolated,
 * for full-check tests). What moto accepts that AWS refuses is not reproduced: no mode is
 * kinder than AWS. Each difference names its source in getmoto/moto (README "moto /
 * LocalStack fidelity").
 */
export type Fidelity = 'aws' | 'sparse' | 'moto';

export const FIDELITIES: readonly Fidelity[] = ['aws', 'sparse', 'moto'];

export function isMoto(state: AwsState): boolean {
  return state.fidelity === 'moto';
}

/** Describe*Attributes list moto's short defaults plus the keys written so far. */
function isSparse(state: AwsState): boolean {
  return state.fidelity !== 'aws';
}

type AttributeList = { Key: string; Value: string }[];

/**
 * Keys a caller has written with Modify*Attributes. moto stores only its own short
 * defaults and adds a key once it has been set, so in moto mode a key appears only
 * after its first write. Kept here, beside the resources, so the shared state stays
 * AWS's truth (the data plane reads the effective values).
 */
const written = new WeakMap<object, Set<string>>();

export function noteAttributesWritten(resource: object, keys: Iterable<string>): void {
  const set = written.get(resource) ?? new Set<string>();
  for (const key of keys) set.add(key);
  written.set(resource, set);
}

function sparse(defaults: readonly (readonly [string, string])[], stored: ReadonlyMap<string, string>, resource: object): AttributeList {
  const out = new Map<string, string>();
  // Keys moto knows by default, with the value AWS semantics give them here (moto's own constant when AWS has no such key).
  for (const [key, motoDefault] of defaults) out.set(key, stored.get(key) ?? motoDefault);
  for (const key of written.get(resource) ?? []) {
    const value = stored.get(key);
    if (value !== undefined) out.set(key, value);
  }
  return [...out].map(([Key, Value]) => ({ Key, Value }));
}

/**
 * moto's FakeTargetGroup.__init__ attributes: deregistration delay, stickiness, the
 * ALB-only algorithm/slow start/WAF keys, cross-zone, and `stickiness.type` only for
 * TCP, UDP and TCP_UDP. Every other NLB key (proxy_protocol_v2.enabled,
 * preserve_client_ip.enabled, connection termination, target_group_health.*) is absent.
 */
function motoTargetGroupDefaults(tg: TargetGroup): [string, string][] {
  const defaults: [string, string][] = [
    ['deregistration_delay.timeout_seconds', '300'],
    ['stickiness.enabled', 'false'],
    ['load_balancing.algorithm.type', 'round_robin'],
    ['load_balancing.cross_zone.enabled', 'use_load_balancer_configuration'],
    ['slow_start.duration_seconds', '0'],
    ['waf.fail_open.enabled', 'false'],
  ];
  if (['TCP', 'UDP', 'TCP_UDP'].includes(tg.protocol)) defaults.push(['stickiness.type', 'source_ip']);
  return defaults;
}

/** moto's FakeLoadBalancer.__init__ attrs: access_logs.s3.enabled is "commented out for TF compatibility". */
const MOTO_LOAD_BALANCER_DEFAULTS: readonly [string, string][] = [
  ['access_logs.s3.bucket', ''],
  ['access_logs.s3.prefix', ''],
  ['deletion_protection.enabled', 'false'],
  ['load_balancing.cross_zone.enabled', 'false'],
];

/** moto's FakeLoadBalancer.VALID_ATTRS: the only keys its ModifyLoadBalancerAttributes accepts. */
const MOTO_VALID_LOAD_BALANCER_KEYS: ReadonlySet<string> = new Set([
  'access_logs.s3.enabled',
  'access_logs.s3.bucket',
  'access_logs.s3.prefix',
  'connection_logs.s3.bucket',
  'connection_logs.s3.enabled',
  'connection_logs.s3.prefix',
  'client_keep_alive.seconds',
  'deletion_protection.enabled',
  'dns_record.client_routing_policy',
  'idle_timeout.timeout_seconds',
  'ipv6.deny_all_igw_traffic',
  'load_balancing.cross_zone.enabled',
  'routing.http.desync_mitigation_mode',
  'routing.http.drop_invalid_header_fields.enabled',
  'routing.http.preserve_host_header.enabled',
  'routing.http.x_amzn_tls_version_and_cipher_suite.enabled',
  'routing.http.xff_client_port.enabled',
  'routing.http.xff_header_processing.mode',
  'routing.http2.enabled',
  'waf.fail_open.enabled',
  'zonal_shift.config.enabled',
]);

export function reportedTargetGroupAttributes(state: AwsState, tg: TargetGroup, all: AttributeList): AttributeList {
  return isSparse(state) ? sparse(motoTargetGroupDefaults(tg), tg.attributes, tg) : all;
}

export function reportedLoadBalancerAttributes(state: AwsState, lb: LoadBalancer, all: AttributeList): AttributeList {
  return isSparse(state) ? sparse(MOTO_LOAD_BALANCER_DEFAULTS, lb.attributes, lb) : all;
}

/** moto's FakeListener sets tcp.idle_timeout.seconds=350 on every listener, whatever its protocol. */
export function reportedListenerAttributes(state: AwsState, listener: Listener, all: AttributeList): AttributeList {
  if (!isSparse(state)) return all;
  const stored = listener.attributes?.get('tcp.idle_timeout.seconds') ?? '350';
  return [{ Key: 'tcp.idle_timeout.seconds', Value: stored }];
}

/** moto's ModifyTargetGroupAttributes answers with the request's attributes only, not the group's. */
export function modifyTargetGroupAttributesResult(state: AwsState, changes: readonly [string, string][], all: AttributeList): AttributeList {
  return isMoto(state) ? changes.map(([Key, Value]) => ({ Key, Value })) : all;
}

/** Refusals moto makes before (or instead of) AWS's own attribute checks. */
export function checkMotoLoadBalancerAttributes(state: AwsState, changes: readonly [string, string][]): void {
  if (!isMoto(state)) return;
  // NLB keys moto does not know (secondary_ips.auto_assigned.per_subnet) fail there although AWS takes them.
  const unknown = changes.find(([key]) => !MOTO_VALID_LOAD_BALANCER_KEYS.has(key));
  if (unknown) throw new AwsError('InvalidConfigurationRequest', `Key ${unknown[0]} not valid`);
}

export function checkMotoTargetGroupAttributes(state: AwsState, changes: readonly [string, string][]): void {
  if (!isMoto(state)) return;
  // moto checks `int(value) not in range(0, 3600)`, which refuses AWS's own maximum.
  const delay = changes.find(([key]) => key === 'deregistration_delay.timeout_seconds');
  if (delay && delay[1] === '3600') {
    throw new AwsError('ValidationError', `'deregistration_delay.timeout_seconds' value '${delay[1]}' must be between '0-3600' inclusive`);
  }
}

/** moto's load balancers: DNS name `<name>-1.<region>.elb.amazonaws.com`, a placeholder hosted zone, `provisioning` until described. */
export function motoDnsName(state: AwsState, name: string): string | undefined {
  return isMoto(state) ? `${name}-1.${state.region}.elb.amazonaws.com` : undefined;
}

export const MOTO_HOSTED_ZONE = 'Z2P70J7EXAMPLE';

/** CreateLoadBalancer's answer: moto's load balancer is `provisioning` there and `active` from the next Describe on. */
export function createdView(state: AwsState, rendered: XmlValue): XmlValue {
  if (!isMoto(state) || typeof rendered !== 'object' || rendered === null || Array.isArray(rendered) || rendered instanceof Date) return rendered;
  return { ...(rendered as { readonly [key: string]: XmlValue }), State: { Code: 'provisioning' } };
}

/** moto's CreateLoadBalancer ignores IpAddressType: every new load balancer is ipv4. */
export function createdIpAddressType(state: AwsState, requested: string): string {
  return isMoto(state) ? 'ipv4' : requested;
}

/** moto's SetIpAddressType refuses dualstack for internal load balancers; AWS NLBs take it. */
export function checkMotoIpAddressType(state: AwsState, lb: LoadBalancer, type: string): void {
  if (isMoto(state) && type === 'dualstack' && lb.scheme === 'internal') {
    throw new AwsError('InvalidConfigurationRequest', 'Internal load balancers cannot be dualstack');
  }
}

/** moto's SetSubnets wants two zones, as for an ALB; NLBs may have one. */
export function checkMotoSetSubnets(state: AwsState, zones: number): void {
  if (isMoto(state) && zones < 2) throw new AwsError('InvalidConfigurationRequest', 'More than 1 availability zone must be specified');
}

/** moto's ModifyListener accepts only HTTP, HTTPS and TCP as a new protocol. */
export function checkMotoListenerProtocol(state: AwsState, protocol: string | undefined): void {
  if (isMoto(state) && protocol !== undefined && !['HTTP', 'HTTPS', 'TCP'].includes(protocol)) {
    throw new AwsError('UnsupportedProtocol', `Protocol ${protocol} is not supported`);
  }
}

/** moto's AddTags allows 10 tags per resource (AWS 50) and names the error TooManyTagsError. */
export const MOTO_MAX_ELBV2_TAGS = 10;

export function motoTooManyTags(): AwsError {
  return new AwsError('TooManyTagsError', 'The quota for the number of tags that can be assigned to a load balancer has been reached');
}

/** moto's DeregisterTargets fails for a target that is not registered; AWS ignores it. */
export function motoInvalidTarget(): AwsError {
  return new AwsError('InvalidTarget', 'The specified target does not exist or is not in the same VPC as the target group.');
}

export function motoTargetGroupNotFound(): AwsError {
  return new AwsError('TargetGroupNotFound', 'The specified target group does not exist.');
}

/**
 * moto's NLB health checks, after AWS's validation: CreateTargetGroup gives an HTTP(S)
 * check no default path, matcher `200` (AWS `200-399`) and timeout 10 (AWS 6 for HTTP);
 * ModifyTargetGroup ignores `Matcher` unless the group's own protocol is HTTP(S), and
 * switching a check to HTTP adds no path or matcher.
 */
export function motoHealthCheck(state: AwsState, params: Params, resolved: HealthCheck, current: HealthCheck | undefined): HealthCheck {
  if (!isMoto(state)) return resolved;
  const path = params.str('HealthCheckPath') ?? current?.path;
  if (current) return { ...resolved, path, matcher: current.matcher };
  const http = resolved.protocol !== 'TCP';
  return {
    ...resolved,
    path,
    matcher: http ? (params.struct('Matcher')?.str('HttpCode') ?? '200') : undefined,
    timeoutSeconds: params.int('HealthCheckTimeoutSeconds') ?? 10,
  };
}

/** moto's DescribeTargetGroups: sorted by name, never paged, and TargetGroupNotFound for a load balancer without any. */
export function motoTargetGroupListing(state: AwsState, selected: readonly TargetGroup[], byLoadBalancer: boolean): TargetGroup[] | undefined {
  if (!isMoto(state)) return undefined;
  if (byLoadBalancer && selected.length === 0) throw motoTargetGroupNotFound();
  return [...selected].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * moto's GetResources (moto/resourcegroupstaggingapi: responses.py `get_resources`,
 * models.py `get_resources`): 50 resources per page by default (AWS: up to 100), and a
 * page also ends before its tags reach `TagsPerPage` (default 100; the first resource of a
 * continued page is not counted), so a page of resources with three tags each holds 33.
 * The token is a UUID naming a server-side generator: it continues the query it was issued
 * for whatever the next request says, works once (it is dropped when the next token is
 * issued), and an unknown one is `PaginationTokenExpiredException: Token does not exist`.
 * The last page carries no PaginationToken at all (AWS: "").
 */
export const MOTO_RESOURCES_PER_PAGE = 50;
export const MOTO_TAGS_PER_PAGE = 100;

const motoPages = new WeakMap<AwsState, Map<string, unknown>>();

/** Stores a moto page cursor and names it with a fresh UUID token. */
export function motoIssuePageToken(state: AwsState, cursor: unknown): string {
  let pages = motoPages.get(state);
  if (!pages) {
    pages = new Map();
    motoPages.set(state, pages);
  }
  const token = state.uuid();
  pages.set(token, cursor);
  return token;
}

/** The cursor a moto token names; unknown tokens fail as moto fails them. */
export function motoPageCursor(state: AwsState, token: string): unknown {
  const pages = motoPages.get(state);
  if (!pages?.has(token)) throw new AwsError('PaginationTokenExpiredException', 'Token does not exist');
  return pages.get(token);
}

export function motoDropPageToken(state: AwsState, token: string): void {
  motoPages.get(state)?.delete(token);
}
