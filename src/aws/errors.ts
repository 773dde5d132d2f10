import { ConfigError, RetryableError, ThrottledError } from '../errors';

/** The AWS error code of an SDK exception (`name` in SDK v3), if it is one. */
export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown; $metadata?: unknown };
  if (e.$metadata === undefined) return undefined;
  return typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : undefined;
}

/**
 * Codes that mean the request itself cannot succeed as the Service describes it: retrying
 * will not help, the user has to change something.
 */
const USER_ERRORS = new Set([
  'CertificateNotFound',
  'SSLPolicyNotFound',
  'InvalidConfigurationRequest',
  'InvalidSubnet',
  'InvalidSecurityGroup',
  'InvalidGroup.NotFound',
  'SubnetNotFound',
  'ValidationError',
  'TooManyLoadBalancers',
  'TooManyTargetGroups',
  'TooManyListeners',
  'TooManyTags',
  'TooManyCertificates',
  'UnsupportedProtocol',
  'AllocationIdNotFound',
  'AvailabilityZoneNotSupported',
  // A target the load balancer cannot reach, e.g. an instance in another VPC.
  'InvalidTarget',
  // EC2's words for tags and parameters it refuses.
  'TagLimitExceeded',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidSubnetID.NotFound',
  'InvalidGroupId.Malformed',
]);

/**
 * AWS is eventually consistent: a listener just deleted may still hold its target group,
 * an NLB just deleted may still hold its security group. These clear up by themselves.
 */
const TRANSIENT = new Set(['ResourceInUse', 'DependencyViolation', 'OperationNotPermitted']);

/** How each AWS API says "slow down" (ELBv2, EC2, the tagging API, SQS and the SDK's generic ones). */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
]);

/** Whether an error, or the AWS error it wraps, is AWS throttling the caller. */
export function isThrottling(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (THROTTLING.has(awsErrorCode(e) ?? '')) return true;
    if (e instanceof ThrottledError) return true;
  }
  return false;
}

/** Maps an SDK error from `action` onto ferry's vocabulary, keeping the AWS message. */
export function classifyAwsError(err: unknown, action: string): unknown {
  const code = awsErrorCode(err);
  if (code === undefined) return err;
  const message = `${action}: ${code}: ${(err as Error).message}`;
  if (USER_ERRORS.has(code)) return new ConfigError(message, { cause: err });
  if (THROTTLING.has(code)) return new ThrottledError(message, { cause: err, retryAfterMs: 10_000 });
  if (TRANSIENT.has(code)) return new RetryableError(message, { cause: err, retryAfterMs: 5_000 });
  return new RetryableError(message, { cause: err });
}
