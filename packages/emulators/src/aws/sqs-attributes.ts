import { sqsErrors } from './sqs-errors';
import { isDelayed, isInFlight, queueByArn, type SqsQueue } from './sqs-model';
import type { AwsState } from './state';

/**
 * Queue attributes: their defaults, the rules for setting them, and the view
 * GetQueueAttributes returns. Ranges and defaults are those the CreateQueue API
 * reference gives (MaximumMessageSize is 1 MiB since AWS raised it in 2025), and every
 * value is stored as the string AWS hands back (`"true"`, `"30"`).
 */
const RANGES: Readonly<Record<string, readonly [number, number]>> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};
const CHOICES: Readonly<Record<string, readonly string[]>> = {
  DeduplicationScope: ['messageGroup', 'queue'],
  FifoThroughputLimit: ['perQueue', 'perMessageGroupId'],
};
/** Free-form JSON documents: stored as given, removed by setting them to ''. */
const DOCUMENTS = ['Policy', 'RedriveAllowPolicy'];
/** Read-only: GetQueueAttributes reports them, Create/SetQueueAttributes call them unknown. */
const COMPUTED = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesDelayed',
  'ApproximateNumberOfMessagesNotVisible',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
];
/** The SDK's QueueAttributeName enum, `All` aside. */
const KNOWN = new Set([
  ...Object.keys(RANGES),
  ...Object.keys(CHOICES),
  ...DOCUMENTS,
  ...COMPUTED,
  'ContentBasedDeduplication',
  'FifoQueue',
  'KmsMasterKeyId',
  'RedrivePolicy',
  'SqsManagedSseEnabled',
]);
const DEFAULT_KMS_REUSE_SECONDS = '300';

export function defaultAttributes(fifo: boolean): Map<string, string> {
  const attributes = new Map([
    ['DelaySeconds', '0'],
    ['MaximumMessageSize', '1048576'],
    ['MessageRetentionPeriod', '345600'],
    ['ReceiveMessageWaitTimeSeconds', '0'],
    ['VisibilityTimeout', '30'],
    // New queues are encrypted with SQS-owned keys unless told otherwise (SSE-SQS by default since 2022).
    ['SqsManagedSseEnabled', 'true'],
  ]);
  if (fifo) {
    attributes.set('FifoQueue', 'true');
    attributes.set('ContentBasedDeduplication', 'false');
    attributes.set('DeduplicationScope', 'queue');
    attributes.set('FifoThroughputLimit', 'perQueue');
  }
  return attributes;
}

interface QueueIdentity {
  readonly arn: string;
  readonly fifo: boolean;
}

/**
 * `current` with `requested` applied, or the error AWS gives for the first bad one.
 * `creating` allows `FifoQueue` (it can only be given at creation).
 */
export function withAttributes(state: AwsState, queue: QueueIdentity, current: ReadonlyMap<string, string>, requested: Readonly<Record<string, string>>, creating: boolean): Map<string, string> {
  const next = new Map(current);
  if (requested['KmsMasterKeyId'] && requested['SqsManagedSseEnabled']?.toLowerCase() === 'true') {
    throw sqsErrors.invalidAttributeName('You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.');
  }
  for (const [name, value] of Object.entries(requested)) {
    if (!KNOWN.has(name) || COMPUTED.includes(name)) throw sqsErrors.unknownAttribute(name);
    if (name === 'FifoQueue') {
      checkQueueType(queue, value, creating);
    } else if (!queue.fifo && (name === 'DeduplicationScope' || name === 'FifoThroughputLimit')) {
      throw sqsErrors.invalidAttributeName(`You can specify the ${name} only when FifoQueue is set to true.`);
    } else if (!queue.fifo && name === 'ContentBasedDeduplication') {
      throw sqsErrors.unknownAttribute(name);
    } else if (RANGES[name]) {
      const [min, max] = RANGES[name];
      if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw sqsErrors.invalidAttributeValue(name);
      next.set(name, String(Number(value)));
    } else if (CHOICES[name]) {
      if (!CHOICES[name].includes(value)) throw sqsErrors.invalidAttributeValue(name);
      next.set(name, value);
    } else if (name === 'ContentBasedDeduplication' || name === 'SqsManagedSseEnabled') {
      const flag = value.toLowerCase();
      if (flag !== 'true' && flag !== 'false') throw sqsErrors.invalidAttributeValue(name);
      next.set(name, flag);
      // Turning SSE-SQS on replaces SSE-KMS: the two are exclusive.
      if (name === 'SqsManagedSseEnabled' && flag === 'true') dropKms(next);
    } else if (name === 'KmsMasterKeyId') {
      if (value === '') {
        dropKms(next);
      } else {
        next.set(name, value);
        next.set('SqsManagedSseEnabled', 'false');
        if (!next.has('KmsDataKeyReusePeriodSeconds')) next.set('KmsDataKeyReusePeriodSeconds', DEFAULT_KMS_REUSE_SECONDS);
      }
    } else if (value === '') {
      next.delete(name); // Policy, RedriveAllowPolicy, RedrivePolicy: '' removes them.
    } else {
      next.set(name, name === 'RedrivePolicy' ? normaliseRedrivePolicy(state, queue, value) : value);
    }
  }
  if (next.get('FifoThroughputLimit') === 'perMessageGroupId' && next.get('DeduplicationScope') !== 'messageGroup') {
    throw sqsErrors.invalidAttributeValue('FifoThroughputLimit', 'The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup.');
  }
  return next;
}

function checkQueueType(queue: QueueIdentity, value: string, creating: boolean): void {
  const flag = value.toLowerCase();
  if (queue.fifo && flag !== 'true') throw sqsErrors.invalidAttributeValue('FifoQueue', 'Modifying queue type is not supported.');
  // A standard queue may be created with FifoQueue=false; afterwards the attribute does not exist for it.
  if (!queue.fifo && !(creating && flag === 'false')) throw sqsErrors.unknownAttribute('FifoQueue');
}

function dropKms(attributes: Map<string, string>): void {
  attributes.delete('KmsMasterKeyId');
  attributes.delete('KmsDataKeyReusePeriodSeconds');
}

/**
 * Checks a RedrivePolicy the way AWS does and returns it in AWS's normal form
 * (`{"deadLetterTargetArn":"…","maxReceiveCount":5}`). The dead-letter queue must exist
 * and be of the source's type ("The dead-letter queue of a FIFO queue must also be a
 * FIFO queue"); maxReceiveCount is 1–1000.
 */
function normaliseRedrivePolicy(state: AwsState, queue: QueueIdentity, raw: string): string {
  const invalid = (reason: string): Error => sqsErrors.invalidParameter('RedrivePolicy', raw, reason);
  let policy: unknown;
  try {
    policy = JSON.parse(raw);
  } catch {
    throw invalid('Redrive policy is not a valid JSON map.');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw invalid('Redrive policy is not a valid JSON map.');
  const { deadLetterTargetArn: arn, maxReceiveCount: count } = policy as Record<string, unknown>;
  if (arn === undefined) throw invalid('Redrive policy does not contain mandatory attribute: deadLetterTargetArn.');
  if (count === undefined) throw invalid('Redrive policy does not contain mandatory attribute: maxReceiveCount.');
  if (typeof arn !== 'string' || !/^arn:[^:]+:sqs:[^:]+:\d{12}:[\w.-]+$/.test(arn)) throw invalid('Invalid value for deadLetterTargetArn.');
  const maxReceiveCount = Number(count);
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw invalid(`Invalid value for maxReceiveCount: ${String(count)}, valid values are from 1 to 1000 both inclusive.`);
  }
  const target = queueByArn(state, arn);
  if (!target) throw invalid('Dead letter target does not exist.');
  if (target.fifo !== queue.fifo) throw invalid('Dead-letter queue must be same type of queue as the source..');
  return JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount });
}

/** The first attribute whose value `requested` would change: CreateQueue's idempotency test. */
export function firstDifference(state: AwsState, queue: SqsQueue, requested: Readonly<Record<string, string>>): string | undefined {
  const after = withAttributes(state, queue, queue.attributes, requested, true);
  const names = [...Object.keys(requested), ...after.keys(), ...queue.attributes.keys()];
  return names.find((name) => name !== 'FifoQueue' && after.get(name) !== queue.attributes.get(name));
}

/** GetQueueAttributes: the named attributes (or `All`) with the computed ones filled in. */
export function renderQueueAttributes(queue: SqsQueue, names: readonly string[], now: number): Record<string, string> {
  for (const name of names) if (name !== 'All' && !KNOWN.has(name)) throw sqsErrors.unknownAttribute(name);
  const seconds = (ms: number): string => String(Math.floor(ms / 1000));
  const everything: Record<string, string> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(queue.messages.filter((m) => !isInFlight(m, now) && !isDelayed(m, now)).length),
    ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((m) => isInFlight(m, now)).length),
    ApproximateNumberOfMessagesDelayed: String(queue.messages.filter((m) => isDelayed(m, now)).length),
    CreatedTimestamp: seconds(queue.createdAt),
    LastModifiedTimestamp: seconds(queue.lastModifiedAt),
    ...Object.fromEntries(queue.attributes),
  };
  const wanted = names.includes('All') ? Object.keys(everything) : names;
  return Object.fromEntries(wanted.filter((name) => everything[name] !== undefined).map((name) => [name, everything[name]!]));
}

/** The attributes a snapshot compares: what was configured, without timestamps or counters. */
export function configuredAttributes(queue: SqsQueue): Record<string, string> {
  return Object.fromEntries([...queue.attributes].filter(([name]) => name !== 'RedrivePolicy').sort(([a], [b]) => (a < b ? -1 : 1)));
}
