import type { ListenerProtocol, Scheme, TargetGroupProtocol, TargetType } from './types';

/**
 * The attributes AWS documents for a Network Load Balancer, its target groups and its
 * listeners (LoadBalancerAttribute, TargetGroupAttribute and ListenerAttribute in the ELBv2
 * API reference), with the values AWS accepts and the defaults it gives a new resource.
 *
 * ferry manages every load balancer and target group attribute listed here: what the
 * annotations do not set is kept at AWS's default, so a hand-made change is drift. An
 * attribute that AWS (or moto, or LocalStack) leaves out of a Describe answer compares as
 * its default. Listener attributes are managed only when `ferry.io/listener-attributes` sets
 * them: reading them costs a call per listener.
 */
export interface AttributeRule<C> {
  key: string;
  /** What a valid value looks like, for error messages and the docs. */
  accepted: string;
  valid(value: string): boolean;
  /** AWS's value for a new resource; undefined: ferry leaves the attribute alone unless it is set. */
  default(context: C): string | undefined;
}

export interface LoadBalancerContext {
  scheme: Scheme;
}

export interface TargetGroupContext {
  protocol: TargetGroupProtocol;
  targetType: TargetType;
}

export interface ListenerContext {
  protocol: ListenerProtocol;
}

const bool = { accepted: '`true` or `false`', valid: (v: string) => v === 'true' || v === 'false' };
const text = (max: number) => ({ accepted: `text of at most ${max} characters`, valid: (v: string) => v.length <= max });
const oneOf = (...values: string[]) => ({ accepted: values.map((v) => `\`${v}\``).join(', '), valid: (v: string) => values.includes(v) });
const whole = (min: number, max: number) => ({
  accepted: `a whole number from ${min} to ${max}`,
  valid: (v: string) => /^\d{1,7}$/.test(v) && Number(v) >= min && Number(v) <= max,
});
const offOr = (min: number, max: number) => ({
  accepted: `\`off\` or a whole number from ${min} to ${max}`,
  valid: (v: string) => v === 'off' || whole(min, max).valid(v),
});

const isUdp = (tg: TargetGroupContext) => tg.protocol === 'UDP' || tg.protocol === 'TCP_UDP';

export const LOAD_BALANCER_ATTRIBUTES: readonly AttributeRule<LoadBalancerContext>[] = [
  { key: 'access_logs.s3.enabled', ...bool, default: () => 'false' },
  { key: 'access_logs.s3.bucket', accepted: 'an S3 bucket name', valid: (v) => v === '' || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), default: () => '' },
  { key: 'access_logs.s3.prefix', ...text(1024), default: () => '' },
  { key: 'deletion_protection.enabled', ...bool, default: () => 'false' },
  // "false for internet-facing load balancers and true for internal load balancers"
  { key: 'ipv6.deny_all_igw_traffic', ...bool, default: (lb) => String(lb.scheme === 'internal') },
  { key: 'load_balancing.cross_zone.enabled', ...bool, default: () => 'false' },
  {
    key: 'dns_record.client_routing_policy',
    ...oneOf('any_availability_zone', 'availability_zone_affinity', 'partial_availability_zone_affinity'),
    default: () => 'any_availability_zone',
  },
  { key: 'zonal_shift.config.enabled', ...bool, default: () => 'false' },
  // AWS refuses to lower it once raised, so ferry never puts it back to a default.
  { key: 'secondary_ips.auto_assigned.per_subnet', ...whole(0, 7), default: () => undefined },
];

export const TARGET_GROUP_ATTRIBUTES: readonly AttributeRule<TargetGroupContext>[] = [
  { key: 'deregistration_delay.timeout_seconds', ...whole(0, 3600), default: () => '300' },
  // "true for new UDP/TCP_UDP target groups, otherwise false"
  { key: 'deregistration_delay.connection_termination.enabled', ...bool, default: (tg) => String(isUdp(tg)) },
  { key: 'stickiness.enabled', ...bool, default: () => 'false' },
  { key: 'stickiness.type', ...oneOf('source_ip'), default: () => 'source_ip' },
  { key: 'proxy_protocol_v2.enabled', ...bool, default: () => 'false' },
  // "disabled if the target type is ip and the protocol TCP or TLS, otherwise enabled"
  {
    key: 'preserve_client_ip.enabled',
    ...bool,
    default: (tg) => String(!(tg.targetType === 'ip' && (tg.protocol === 'TCP' || tg.protocol === 'TLS'))),
  },
  { key: 'load_balancing.cross_zone.enabled', ...oneOf('true', 'false', 'use_load_balancer_configuration'), default: () => 'use_load_balancer_configuration' },
  { key: 'target_group_health.dns_failover.minimum_healthy_targets.count', ...offOr(1, 1_000_000), default: () => '1' },
  { key: 'target_group_health.dns_failover.minimum_healthy_targets.percentage', ...offOr(1, 100), default: () => 'off' },
  { key: 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count', ...whole(1, 1_000_000), default: () => '1' },
  { key: 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage', ...offOr(1, 100), default: () => 'off' },
  // "true by default; cannot be enabled for UDP and TCP_UDP target groups"
  { key: 'target_health_state.unhealthy.connection_termination.enabled', ...bool, default: (tg) => String(!isUdp(tg)) },
  { key: 'target_health_state.unhealthy.draining_interval_seconds', ...whole(0, 360_000), default: () => '0' },
];

/** Only TCP listeners have attributes (a TLS listener's idle timeout is fixed at 350 s); ferry sets them only when asked. */
export const LISTENER_ATTRIBUTES: readonly AttributeRule<ListenerContext>[] = [
  { key: 'tcp.idle_timeout.seconds', ...whole(60, 6000), default: () => '350' },
];

/** The defaults of every managed attribute for a resource. */
export function attributeDefaults<C>(rules: readonly AttributeRule<C>[], context: C): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rule of rules) {
    const value = rule.default(context);
    if (value !== undefined) out[rule.key] = value;
  }
  return out;
}

/** Problems with user-given attributes, one sentence each, naming the key, the value and what is accepted. */
export function attributeProblems<C>(rules: readonly AttributeRule<C>[], values: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const rule = rules.find((r) => r.key === key);
    if (!rule) problems.push(`${key} is not an attribute AWS documents here; accepted keys: ${rules.map((r) => r.key).join(', ')}`);
    else if (!rule.valid(value)) problems.push(`${key}=${JSON.stringify(value)} is invalid: expected ${rule.accepted}`);
  }
  return problems;
}

/**
 * Attributes that differ from what AWS holds; a key AWS left out of its answer counts as its
 * default, so an emulator or AWS that omits unset attributes does not read as drift.
 */
export function attributeDrift(
  desired: Readonly<Record<string, string>>,
  actual: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(desired)) if ((actual[key] ?? defaults[key]) !== value) out[key] = value;
  return out;
}
