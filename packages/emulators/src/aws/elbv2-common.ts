import { AwsError, constraintMessage } from './errors';
import type { ParamErrors, Params } from './query';
import { paginate, type Page, type PageLimits } from './paging';
import type { AwsState, Listener, LoadBalancer, TargetGroup } from './state';

/** Helpers shared by the ELBv2 handlers: error constructors, lookups, typed parameters. */

export function validationError(message: string): AwsError {
  return new AwsError('ValidationError', message);
}

export function configError(message: string): AwsError {
  return new AwsError('InvalidConfigurationRequest', message);
}

/** The model's member names as AWS quotes them in validation messages (`loadBalancerArn`). */
export function fieldName(wire: string): string {
  return wire
    .split('.')
    .filter((part) => part !== 'member' && !/^\d+$/.test(part))
    .map((part) => part.charAt(0).toLowerCase() + part.slice(1))
    .join('.');
}

export const elbv2ParamErrors: ParamErrors = {
  missing: (field) => validationError(constraintMessage(fieldName(field), null, 'Member must not be null')),
  invalid: (field, value) => validationError(`Invalid value '${value}' for parameter ${fieldName(field)}`),
};

export function intParam(params: Params, name: string, min: number, max: number): number | undefined {
  const value = params.int(name);
  if (value === undefined) return undefined;
  if (value < min) throw validationError(constraintMessage(fieldName(name), String(value), `Member must have value greater than or equal to ${min}`));
  if (value > max) throw validationError(constraintMessage(fieldName(name), String(value), `Member must have value less than or equal to ${max}`));
  return value;
}

export function enumParam<T extends string>(params: Params, name: string, allowed: readonly T[]): T | undefined {
  const value = params.str(name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw validationError(constraintMessage(fieldName(name), value, `Member must satisfy enum value set: [${allowed.join(', ')}]`));
  }
  return value as T;
}

/** A list parameter AWS caps in length (`ResourceArns` at 20, for example). */
export function cappedList(params: Params, name: string, max: number): string[] | undefined {
  const values = params.list(name);
  if (values && values.length > max) {
    throw validationError(constraintMessage(fieldName(name), `[${values.join(', ')}]`, `Member must have length less than or equal to ${max}`));
  }
  return values;
}

const PAGE_LIMITS: PageLimits = { defaultSize: 400, min: 1, max: 400 };

export function pageOf<T extends { readonly seq: number }>(items: readonly T[], params: Params): Page<T> {
  return paginate(items, params.str('Marker'), params.int('PageSize'), PAGE_LIMITS, {
    badToken: (token) => validationError(`The marker '${token}' is not valid`),
    badSize: (size, limits) =>
      validationError(
        constraintMessage('pageSize', String(size), size < limits.min ? `Member must have value greater than or equal to ${limits.min}` : `Member must have value less than or equal to ${limits.max}`),
      ),
  });
}

export function loadBalancerNotFound(arn: string): AwsError {
  return new AwsError('LoadBalancerNotFound', `Load balancer '${arn}' not found`);
}

export function targetGroupNotFound(arn: string): AwsError {
  return new AwsError('TargetGroupNotFound', `Target group '${arn}' not found`);
}

export function listenerNotFound(arn: string): AwsError {
  return new AwsError('ListenerNotFound', `Listener '${arn}' not found`);
}

const ARN_SHAPES = {
  'load balancer': /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/(net|app|gwy)\/[^/]+\/[0-9a-f]+$/,
  'target group': /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[^/]+\/[0-9a-f]+$/,
  listener: /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/(net|app|gwy)\/[^/]+\/[0-9a-f]+\/[0-9a-f]+$/,
} as const;

/** A malformed ARN is a ValidationError in AWS, not a "not found". */
export function checkArn(kind: keyof typeof ARN_SHAPES, arn: string): string {
  if (!ARN_SHAPES[kind].test(arn)) throw validationError(`'${arn}' is not a valid ${kind} ARN`);
  return arn;
}

export function requireLoadBalancer(state: AwsState, arn: string): LoadBalancer {
  checkArn('load balancer', arn);
  const lb = state.loadBalancers.get(arn);
  if (!lb) throw loadBalancerNotFound(arn);
  return lb;
}

export function requireTargetGroup(state: AwsState, arn: string): TargetGroup {
  checkArn('target group', arn);
  const tg = state.targetGroups.get(arn);
  if (!tg) throw targetGroupNotFound(arn);
  return tg;
}

export function requireListener(state: AwsState, arn: string): Listener {
  checkArn('listener', arn);
  const listener = state.listeners.get(arn);
  if (!listener) throw listenerNotFound(arn);
  return listener;
}

export function elbArn(state: AwsState, resource: string): string {
  return `arn:aws:elasticloadbalancing:${state.region}:${state.accountId}:${resource}`;
}
