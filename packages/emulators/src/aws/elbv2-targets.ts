import { cidrContainsIp, isPrivateIpv4, parseCidr, parseIpv4 } from './cidr';
import { unusedReason } from './dataplane/topology';
import { AwsError, constraintMessage } from './errors';
import { requireTargetGroup, validationError } from './elbv2-common';
import { isMoto, motoInvalidTarget } from './fidelity';
import type { Params } from './query';
import type { Handler } from './service';
import type { AwsState, Target, TargetGroup } from './state';
import type { XmlValue } from './xml';

/**
 * RegisterTargets / DeregisterTargets / DescribeTargetHealth. Without a data plane there
 * is no real health checking: a registered target behind a listener is `healthy`, and
 * deregistration is immediate (no `draining` state), which keeps tests deterministic.
 * With one (`AwsEmulator.start({ dataPlane })`), the health of a target in use comes
 * from its health checks, and deregistered targets are listed as `draining` until the
 * deregistration delay ends (dataplane/health.ts).
 */

function targetKey(id: string, port: number): string {
  return `${id}:${port}`;
}

function requestedTargets(params: Params, tg: TargetGroup, required: boolean): Target[] | undefined {
  const entries = params.structs('Targets');
  if (!entries || entries.length === 0) {
    if (required) throw validationError(constraintMessage('targets', null, 'Member must not be null'));
    return undefined;
  }
  return entries.map((entry) => {
    const port = entry.int('Port') ?? tg.port;
    if (port < 1 || port > 65535) throw validationError(constraintMessage('targets.member.port', String(port), 'Member must have value between 1 and 65535'));
    return { id: entry.required('Id'), port, availabilityZone: entry.str('AvailabilityZone') };
  });
}

function quoted(ids: readonly string[]): string {
  return ids.map((id) => `'${id}'`).join(', ');
}

/** Each rule lists every offending target, as AWS's InvalidTarget messages do. */
function checkInstanceTargets(state: AwsState, tg: TargetGroup, targets: readonly Target[]): void {
  const invalid = targets.filter((t) => !state.instances.has(t.id)).map((t) => t.id);
  if (invalid.length > 0) throw new AwsError('InvalidTarget', `The following targets are not valid instances: ${quoted(invalid)}`);
  // "If the target is an EC2 instance, it must be in the running state when you register it."
  const stopped = targets.filter((t) => state.instances.get(t.id)?.state !== 'running').map((t) => t.id);
  if (stopped.length > 0) throw new AwsError('InvalidTarget', `The following targets are not in a running state and cannot be registered: ${quoted(stopped)}`);
  const elsewhere = targets.filter((t) => state.instances.get(t.id)?.vpcId !== tg.vpcId).map((t) => t.id);
  if (elsewhere.length > 0) throw new AwsError('InvalidTarget', `The following targets are not in the target group VPC '${tg.vpcId}': ${quoted(elsewhere)}`);
}

/**
 * IP targets: inside the VPC's CIDR, or (for targets reached over peering, VPN or
 * Direct Connect, such as hybrid nodes) an RFC 1918 / RFC 6598 address registered
 * with AvailabilityZone "all". Publicly routable addresses are refused.
 */
function checkIpTargets(state: AwsState, tg: TargetGroup, targets: readonly Target[]): void {
  const vpcCidr = parseCidr(state.vpcs.get(tg.vpcId)?.cidr ?? '');
  for (const target of targets) {
    const ip = parseIpv4(target.id);
    if (ip === undefined) throw new AwsError('InvalidTarget', `The IP address '${target.id}' is not a valid IPv4 address`);
    if (vpcCidr && cidrContainsIp(vpcCidr, ip)) continue;
    if (!isPrivateIpv4(ip)) {
      throw new AwsError('InvalidTarget', `The IP address '${target.id}' is not in the VPC '${tg.vpcId}' or a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)`);
    }
    if (target.availabilityZone !== 'all') {
      throw validationError(`The IP address '${target.id}' is outside the VPC '${tg.vpcId}', so its Availability Zone must be 'all'`);
    }
  }
}

export const registerTargets: Handler = ({ state, params }) => {
  const tg = requireTargetGroup(state, params.required('TargetGroupArn'));
  const targets = requestedTargets(params, tg, true) ?? [];
  if (tg.targetType === 'instance') checkInstanceTargets(state, tg, targets);
  else checkIpTargets(state, tg, targets);
  // Registering a target that is already registered is a no-op.
  for (const target of targets) {
    const key = targetKey(target.id, target.port);
    // moto keys targets by id alone: registering an instance on a second port replaces the first.
    if (isMoto(state)) for (const [other, t] of tg.targets) if (t.id === target.id && other !== key) tg.targets.delete(other);
    if (!tg.targets.has(key)) tg.targets.set(key, target);
  }
  return {};
};

export const deregisterTargets: Handler = ({ state, params }) => {
  const tg = requireTargetGroup(state, params.required('TargetGroupArn'));
  const targets = requestedTargets(params, tg, true) ?? [];
  // moto refuses a target that is not registered (it matches by id only); AWS ignores it.
  if (isMoto(state) && targets.some((t) => ![...tg.targets.values()].some((r) => r.id === t.id))) throw motoInvalidTarget();
  // Deregistering a target that is not registered is a no-op too.
  for (const target of targets) tg.targets.delete(targetKey(target.id, target.port));
  return {};
};

function health(state: AwsState, tg: TargetGroup, target: Target, registered: boolean): XmlValue {
  if (!registered) {
    const draining = state.dataPlane?.drainingTargets(tg).some((t) => t.id === target.id && t.port === target.port);
    if (draining) return state.dataPlane!.targetHealth(tg, target);
    return { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' };
  }
  const unused = unusedReason(state, tg, target);
  if (unused) return { ...unused };
  return state.dataPlane ? { ...state.dataPlane.targetHealth(tg, target) } : { State: 'healthy' };
}

export const describeTargetHealth: Handler = ({ state, params }) => {
  const tg = requireTargetGroup(state, params.required('TargetGroupArn'));
  const requested = requestedTargets(params, tg, false);
  const draining = state.dataPlane?.drainingTargets(tg) ?? [];
  const rows = requested
    ? requested.map((t) => ({
        target: tg.targets.get(targetKey(t.id, t.port)) ?? draining.find((d) => d.id === t.id && d.port === t.port) ?? t,
        registered: tg.targets.has(targetKey(t.id, t.port)),
      }))
    : [...[...tg.targets.values()].map((target) => ({ target, registered: true })), ...draining.map((target) => ({ target, registered: false }))];
  return {
    TargetHealthDescriptions: rows.map(({ target, registered }) => ({
      Target: { Id: target.id, Port: target.port, AvailabilityZone: target.availabilityZone },
      HealthCheckPort: tg.healthCheck.port === 'traffic-port' ? String(target.port) : tg.healthCheck.port,
      TargetHealth: health(state, tg, target, registered),
    })),
  };
};
