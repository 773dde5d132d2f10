import { configError, validationError } from './elbv2-common';
import type { Params } from './query';
import type { LoadBalancer, TargetGroup } from './state';

/**
 * The attribute keys a Network Load Balancer and an NLB target group accept, with the
 * defaults DescribeLoadBalancerAttributes / DescribeTargetGroupAttributes report for a
 * new resource (LoadBalancerAttribute and TargetGroupAttribute in the ELBv2 API
 * reference). Any other key is rejected, as AWS does: "... attribute key 'x' is not
 * recognized".
 */
type Check = (value: string) => string | undefined;

interface AttributeSpec<R> {
  readonly key: string;
  readonly defaultFor: (resource: R) => string;
  readonly check: Check;
}

const bool: Check = (v) => (v === 'true' || v === 'false' ? undefined : "must be 'true' or 'false'");
const anyString: Check = () => undefined;
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`;
const intRange =
  (min: number, max: number): Check =>
  (v) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be an integer from ${min} to ${max}`;
const offOr =
  (inner: Check): Check =>
  (v) => {
    if (v === 'off') return undefined;
    const problem = inner(v);
    return problem && `must be 'off' or ${problem.replace(/^must be /, '')}`;
  };

const isUdp = (tg: TargetGroup): boolean => tg.protocol === 'UDP' || tg.protocol === 'TCP_UDP';

export const LOAD_BALANCER_ATTRIBUTES: readonly AttributeSpec<LoadBalancer>[] = [
  { key: 'access_logs.s3.enabled', defaultFor: () => 'false', check: bool },
  { key: 'access_logs.s3.bucket', defaultFor: () => '', check: anyString },
  { key: 'access_logs.s3.prefix', defaultFor: () => '', check: anyString },
  { key: 'deletion_protection.enabled', defaultFor: () => 'false', check: bool },
  // "set to false for internet-facing load balancers and true for internal load balancers"
  { key: 'ipv6.deny_all_igw_traffic', defaultFor: (lb) => String(lb.scheme === 'internal'), check: bool },
  { key: 'load_balancing.cross_zone.enabled', defaultFor: () => 'false', check: bool },
  {
    key: 'dns_record.client_routing_policy',
    defaultFor: () => 'any_availability_zone',
    check: oneOf('availability_zone_affinity', 'partial_availability_zone_affinity', 'any_availability_zone'),
  },
  { key: 'zonal_shift.config.enabled', defaultFor: () => 'false', check: bool },
  { key: 'secondary_ips.auto_assigned.per_subnet', defaultFor: () => '0', check: intRange(0, 7) },
];

export const TARGET_GROUP_ATTRIBUTES: readonly AttributeSpec<TargetGroup>[] = [
  { key: 'deregistration_delay.timeout_seconds', defaultFor: () => '300', check: intRange(0, 3600) },
  // "For new UDP/TCP_UDP target groups the default is true. Otherwise, the default is false."
  { key: 'deregistration_delay.connection_termination.enabled', defaultFor: (tg) => String(isUdp(tg)), check: bool },
  { key: 'stickiness.enabled', defaultFor: () => 'false', check: bool },
  { key: 'stickiness.type', defaultFor: () => 'source_ip', check: oneOf('source_ip') },
  { key: 'proxy_protocol_v2.enabled', defaultFor: () => 'false', check: bool },
  // "disabled if the target group type is IP address and the protocol is TCP or TLS. Otherwise, enabled."
  {
    key: 'preserve_client_ip.enabled',
    defaultFor: (tg) => String(!(tg.targetType === 'ip' && (tg.protocol === 'TCP' || tg.protocol === 'TLS'))),
    check: bool,
  },
  {
    key: 'load_balancing.cross_zone.enabled',
    defaultFor: () => 'use_load_balancer_configuration',
    check: oneOf('true', 'false', 'use_load_balancer_configuration'),
  },
  { key: 'target_group_health.dns_failover.minimum_healthy_targets.count', defaultFor: () => '1', check: offOr(intRange(1, 1_000_000)) },
  { key: 'target_group_health.dns_failover.minimum_healthy_targets.percentage', defaultFor: () => 'off', check: offOr(intRange(1, 100)) },
  { key: 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count', defaultFor: () => '1', check: intRange(1, 1_000_000) },
  { key: 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage', defaultFor: () => 'off', check: offOr(intRange(1, 100)) },
  // "The default is true. This attribute can't be enabled for UDP and TCP_UDP target groups."
  { key: 'target_health_state.unhealthy.connection_termination.enabled', defaultFor: (tg) => String(!isUdp(tg)), check: bool },
  { key: 'target_health_state.unhealthy.draining_interval_seconds', defaultFor: () => '0', check: intRange(0, 360_000) },
];

export function defaultAttributes<R>(specs: readonly AttributeSpec<R>[], resource: R): Map<string, string> {
  return new Map(specs.map((spec) => [spec.key, spec.defaultFor(resource)]));
}

/** The `Attributes.member.N.{Key,Value}` of a Modify*Attributes request (AWS caps it at 20). */
export function attributeChanges(params: Params): [string, string][] {
  const entries = params.structs('Attributes') ?? [];
  if (entries.length === 0) throw validationError("1 validation error detected: Value null at 'attributes' failed to satisfy constraint: Member must not be null");
  if (entries.length > 20) throw validationError("1 validation error detected: Value at 'attributes' failed to satisfy constraint: Member must have length less than or equal to 20");
  return entries.map((entry) => [entry.str('Key') ?? '', entry.str('Value') ?? '']);
}

/**
 * Applies changes to a copy and returns it; the caller commits only when every check
 * passed, so a rejected request leaves no attribute half-changed.
 */
export function applyAttributes<R>(
  kind: 'Load balancer' | 'Target group',
  specs: readonly AttributeSpec<R>[],
  current: ReadonlyMap<string, string>,
  changes: readonly [string, string][],
): Map<string, string> {
  const next = new Map(current);
  for (const [key, value] of changes) {
    const spec = specs.find((s) => s.key === key);
    if (!spec) throw validationError(`${kind} attribute key '${key}' is not recognized`);
    const problem = spec.check(value);
    if (problem) throw validationError(`${kind} attribute '${key}' value '${value}' is not valid: it ${problem}`);
    next.set(key, value);
  }
  return next;
}

/** Rules that relate attributes to each other or to the resource (InvalidConfigurationRequest in AWS). */
export function checkLoadBalancerAttributes(lb: LoadBalancer, next: ReadonlyMap<string, string>): void {
  if (next.get('access_logs.s3.enabled') === 'true' && !next.get('access_logs.s3.bucket')) {
    throw configError("The value of 'access_logs.s3.bucket' cannot be empty when access logs are enabled");
  }
  const before = Number(lb.attributes.get('secondary_ips.auto_assigned.per_subnet') ?? '0');
  if (Number(next.get('secondary_ips.auto_assigned.per_subnet') ?? '0') < before) {
    // "After you set this value, you can't decrease it."
    throw configError("The value of 'secondary_ips.auto_assigned.per_subnet' cannot be decreased");
  }
}

export function checkTargetGroupAttributes(tg: TargetGroup, next: ReadonlyMap<string, string>): void {
  if (isUdp(tg) && next.get('preserve_client_ip.enabled') === 'false') {
    throw configError('Client IP preservation cannot be disabled for UDP and TCP_UDP target groups');
  }
  if (isUdp(tg) && next.get('target_health_state.unhealthy.connection_termination.enabled') === 'true') {
    throw configError("'target_health_state.unhealthy.connection_termination.enabled' cannot be enabled for UDP and TCP_UDP target groups");
  }
  if (next.get('target_health_state.unhealthy.connection_termination.enabled') === 'true' && next.get('target_health_state.unhealthy.draining_interval_seconds') !== '0') {
    throw configError("'target_health_state.unhealthy.draining_interval_seconds' can only be configured when 'target_health_state.unhealthy.connection_termination.enabled' is false");
  }
}

export function attributeList(attributes: ReadonlyMap<string, string>): { Key: string; Value: string }[] {
  return [...attributes].map(([Key, Value]) => ({ Key, Value }));
}
