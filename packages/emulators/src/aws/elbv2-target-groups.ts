import { AwsError } from './errors';
import {
  checkArn,
  configError,
  elbArn,
  enumParam,
  intParam,
  pageOf,
  requireLoadBalancer,
  requireTargetGroup,
  validationError,
} from './elbv2-common';
import {
  applyAttributes,
  attributeChanges,
  attributeList,
  checkTargetGroupAttributes,
  defaultAttributes,
  TARGET_GROUP_ATTRIBUTES,
} from './elbv2-attributes';
import { renderTargetGroup } from './elbv2-render';
import {
  checkMotoTargetGroupAttributes,
  isMoto,
  modifyTargetGroupAttributesResult,
  motoHealthCheck,
  motoTargetGroupListing,
  motoTargetGroupNotFound,
  noteAttributesWritten,
  reportedTargetGroupAttributes,
} from './fidelity';
import { checkTagQuota, requestTags } from './elbv2-tags';
import { PROTOCOL_ENUM, requireNlbProtocol, validateTargetGroupName } from './elbv2-validate';
import type { Params } from './query';
import type { Handler } from './service';
import type { HealthCheck, TargetGroup } from './state';
import { newTagSet } from './tags';

/** Target group lifecycle, health check settings and attributes. */

const HEALTH_CHECK_PROTOCOLS = ['TCP', 'HTTP', 'HTTPS'];
/** NLB target groups accept matcher codes from 200 to 599 (ALB: 200-499). */
const MATCHER = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;

function checkMatcher(code: string): void {
  const valid =
    MATCHER.test(code) &&
    code.split(',').every((part) => {
      const [low, high = low] = part.split('-').map(Number);
      return low !== undefined && high !== undefined && low >= 200 && high <= 599 && low <= high;
    });
  if (!valid) throw validationError(`Health check matcher HTTP code '${code}' is not valid: use codes from 200 to 599, like 200, 200-399 or 200,202`);
}

/**
 * Health check settings from the request over `current` (ModifyTargetGroup) or over
 * the NLB defaults (CreateTargetGroup): protocol TCP, port traffic-port, interval 30,
 * timeout 6 for HTTP and 10 for TCP/HTTPS, thresholds 5 healthy / 2 unhealthy, and
 * for HTTP(S) path "/" and matcher "200-399".
 */
function resolveHealthCheck(params: Params, current: HealthCheck | undefined): HealthCheck {
  const protocol = enumParam(params, 'HealthCheckProtocol', PROTOCOL_ENUM) ?? current?.protocol ?? 'TCP';
  if (!HEALTH_CHECK_PROTOCOLS.includes(protocol)) {
    throw validationError(`Health check protocol '${protocol}' is not supported for Network Load Balancer target groups; use TCP, HTTP or HTTPS`);
  }
  const http = protocol !== 'TCP';

  const port = params.str('HealthCheckPort') ?? current?.port ?? 'traffic-port';
  if (port !== 'traffic-port' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw validationError(`Health check port '${port}' must be 'traffic-port' or a port from 1 to 65535`);
  }

  const pathParam = params.str('HealthCheckPath');
  if (pathParam !== undefined && !http) throw validationError('A health check path can be specified only for HTTP and HTTPS health checks');
  if (pathParam !== undefined && (!pathParam.startsWith('/') || pathParam.length > 1024)) {
    throw validationError(`Health check path '${pathParam}' must begin with '/' and be at most 1024 characters`);
  }
  const matcherParam = params.struct('Matcher')?.str('HttpCode');
  if (params.struct('Matcher')?.str('GrpcCode') !== undefined) throw validationError('A gRPC matcher is supported only for Application Load Balancer target groups');
  if (matcherParam !== undefined && !http) throw validationError('A health check matcher can be specified only for HTTP and HTTPS health checks');
  if (matcherParam !== undefined) checkMatcher(matcherParam);

  const intervalSeconds = intParam(params, 'HealthCheckIntervalSeconds', 5, 300) ?? current?.intervalSeconds ?? 30;
  const timeoutSeconds = intParam(params, 'HealthCheckTimeoutSeconds', 2, 120) ?? current?.timeoutSeconds ?? (protocol === 'HTTP' ? 6 : 10);
  if (timeoutSeconds >= intervalSeconds) throw validationError('Health check interval must be greater than the timeout.');
  return {
    protocol,
    port,
    path: http ? (pathParam ?? current?.path ?? '/') : undefined,
    intervalSeconds,
    timeoutSeconds,
    healthyThreshold: intParam(params, 'HealthyThresholdCount', 2, 10) ?? current?.healthyThreshold ?? 5,
    unhealthyThreshold: intParam(params, 'UnhealthyThresholdCount', 2, 10) ?? current?.unhealthyThreshold ?? 2,
    matcher: http ? (matcherParam ?? current?.matcher ?? '200-399') : undefined,
  };
}

function checkHealthCheckEnabled(params: Params, targetType: string): void {
  // "If the target type is instance, ip, or alb, health checks are always enabled and can't be disabled."
  if (params.bool('HealthCheckEnabled') === false) {
    throw configError(`Health checks cannot be disabled for target groups with target type '${targetType}'`);
  }
}

function sameHealthCheck(a: HealthCheck, b: HealthCheck): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export const createTargetGroup: Handler = ({ state, params }) => {
  const name = params.required('Name');
  validateTargetGroupName(name);
  const targetType = enumParam(params, 'TargetType', ['instance', 'ip', 'lambda', 'alb'] as const) ?? 'instance';
  if (targetType === 'lambda' || targetType === 'alb') {
    throw validationError(`Target type '${targetType}' is not supported by ferry's AWS emulator (instance and ip only)`);
  }
  const protocol = enumParam(params, 'Protocol', PROTOCOL_ENUM);
  if (protocol === undefined) throw validationError('A protocol must be specified');
  requireNlbProtocol(protocol, 'target group');
  if (params.str('ProtocolVersion') !== undefined) throw validationError('A protocol version can be specified only for HTTP and HTTPS target groups');
  const port = intParam(params, 'Port', 1, 65535);
  if (port === undefined) throw validationError('A port must be specified');
  const vpcId = params.str('VpcId');
  if (!vpcId) throw validationError('A VPC ID must be specified');
  if (!state.vpcs.has(vpcId)) throw validationError(`The VPC ID '${vpcId}' is not found`);
  const ipAddressType = enumParam(params, 'IpAddressType', ['ipv4', 'ipv6'] as const) ?? 'ipv4';
  checkHealthCheckEnabled(params, targetType);
  const healthCheck = motoHealthCheck(state, params, resolveHealthCheck(params, undefined), undefined);
  const tags = requestTags(params);
  checkTagQuota('target group', new Map(), tags);

  const existing = [...state.targetGroups.values()].find((tg) => tg.name === name);
  if (existing) {
    // Idempotent like CreateLoadBalancer: same name and settings returns the original.
    const same =
      existing.protocol === protocol &&
      existing.port === port &&
      existing.vpcId === vpcId &&
      existing.targetType === targetType &&
      existing.ipAddressType === ipAddressType &&
      sameHealthCheck(existing.healthCheck, healthCheck);
    if (!same) throw new AwsError('DuplicateTargetGroupName', `A target group with the same name '${name}' exists, but with different settings`);
    return { TargetGroups: [renderTargetGroup(state, existing)] };
  }

  const tg: TargetGroup = {
    seq: state.nextSeq(),
    arn: elbArn(state, `targetgroup/${name}/${state.hex(16)}`),
    name,
    protocol,
    port,
    vpcId,
    targetType,
    ipAddressType,
    healthCheck,
    attributes: new Map(),
    tags: newTagSet(tags),
    targets: new Map(),
  };
  for (const [key, value] of defaultAttributes(TARGET_GROUP_ATTRIBUTES, tg)) tg.attributes.set(key, value);
  state.targetGroups.set(tg.arn, tg);
  return { TargetGroups: [renderTargetGroup(state, tg)] };
};

export const describeTargetGroups: Handler = ({ state, params }) => {
  const lbArn = params.str('LoadBalancerArn');
  const arns = params.list('TargetGroupArns');
  const names = params.list('Names');
  if ([lbArn !== undefined, !!arns?.length, !!names?.length].filter(Boolean).length > 1) {
    throw validationError('Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time');
  }
  const all = [...state.targetGroups.values()];
  const forwarding = state.loadBalancersByTargetGroup();
  const loadBalancersOf = (tg: TargetGroup) => forwarding.get(tg.arn) ?? [];
  let selected = all;
  if (lbArn !== undefined) {
    requireLoadBalancer(state, lbArn);
    selected = all.filter((tg) => loadBalancersOf(tg).includes(lbArn));
  } else if (arns?.length) {
    if (arns.some((arn) => !state.targetGroups.has(arn))) throw new AwsError('TargetGroupNotFound', 'One or more target groups not found');
    selected = all.filter((tg) => arns.includes(tg.arn));
  } else if (names?.length) {
    if (names.some((n) => !all.some((tg) => tg.name === n))) throw new AwsError('TargetGroupNotFound', 'One or more target groups not found');
    selected = all.filter((tg) => names.includes(tg.name));
  }
  const moto = motoTargetGroupListing(state, selected, lbArn !== undefined);
  const page = moto ? { items: moto, next: undefined } : pageOf(selected, params);
  return { TargetGroups: page.items.map((tg) => renderTargetGroup(state, tg, loadBalancersOf(tg))), NextMarker: page.next };
};

export const modifyTargetGroup: Handler = ({ state, params }) => {
  const tg = requireTargetGroup(state, params.required('TargetGroupArn'));
  checkHealthCheckEnabled(params, tg.targetType);
  tg.healthCheck = motoHealthCheck(state, params, resolveHealthCheck(params, tg.healthCheck), tg.healthCheck);
  return { TargetGroups: [renderTargetGroup(state, tg)] };
};

export const deleteTargetGroup: Handler = ({ state, params }) => {
  const arn = checkArn('target group', params.required('TargetGroupArn'));
  // DeleteTargetGroup's only documented error is ResourceInUse: a target group that is
  // already gone is not an error, so retried deletes stay idempotent.
  if (!state.targetGroups.has(arn)) {
    // moto's DeleteTargetGroup fails for a target group that is not there.
    if (isMoto(state)) throw motoTargetGroupNotFound();
    return {};
  }
  if (state.loadBalancersOf(arn).length > 0) {
    throw new AwsError('ResourceInUse', `Target group '${arn}' is currently in use by a listener or a rule`);
  }
  state.targetGroups.delete(arn);
  return {};
};

export const describeTargetGroupAttributes: Handler = ({ state, params }) => {
  const tg = requireTargetGroup(state, params.required('TargetGroupArn'));
  return { Attributes: reportedTargetGroupAttributes(state, tg, attributeList(tg.attributes)) };
};

export const modifyTargetGroupAttributes: Handler = ({ state, params }) => {
  const tg = requireTargetGroup(state, params.required('TargetGroupArn'));
  const changes = attributeChanges(params);
  checkMotoTargetGroupAttributes(state, changes);
  const next = applyAttributes('Target group', TARGET_GROUP_ATTRIBUTES, tg.attributes, changes);
  checkTargetGroupAttributes(tg, next);
  for (const [key, value] of next) tg.attributes.set(key, value);
  noteAttributesWritten(tg, changes.map(([key]) => key));
  return { Attributes: modifyTargetGroupAttributesResult(state, changes, attributeList(tg.attributes)) };
};
