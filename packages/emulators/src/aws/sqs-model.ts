import type { JsonContext } from './json-protocol';
import { sqsErrors } from './sqs-errors';
import type { AwsState } from './state';

/**
 * The SQS world: queues and the messages in them. Times are epoch milliseconds on the
 * emulator's clock. A message's life is carried by two fields, as in SQS itself:
 * `visibleAt` (the end of its delay, then of each visibility timeout) and `receipt` (the
 * handle of its latest receive; older handles are stale). From those:
 *
 * - visible:   `visibleAt <= now`, receivable (for FIFO, subject to its group);
 * - in flight: received and `visibleAt > now` (ApproximateNumberOfMessagesNotVisible);
 * - delayed:   never received and `visibleAt > now` (ApproximateNumberOfMessagesDelayed).
 */
// A type literal rather than an interface: it is rendered as JSON as it is.
export type SqsMessageAttribute = {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Base64, as blobs travel in the JSON protocol. */
  readonly BinaryValue?: string;
};

export interface SqsMessage {
  /** Send order across the emulator: the order FIFO groups and standard queues deliver in. */
  readonly seq: number;
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: ReadonlyMap<string, SqsMessageAttribute>;
  readonly awsTraceHeader: string | undefined;
  /** SentTimestamp; a FIFO message's resets when it is dead-lettered (AWS documents this). */
  readonly sentAt: number;
  readonly groupId: string | undefined;
  readonly dedupId: string | undefined;
  readonly sequenceNumber: string | undefined;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** The latest receive: the 12-hour visibility ceiling counts from it. */
  receivedAt: number | undefined;
  receipt: string | undefined;
  deadLetterSourceArn: string | undefined;
}

export interface SqsQueue {
  readonly seq: number;
  readonly name: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly createdAt: number;
  lastModifiedAt: number;
  /** The settable attributes, normalised to the strings GetQueueAttributes returns. */
  readonly attributes: Map<string, string>;
  readonly tags: Map<string, string>;
  /** In send order (`seq`). */
  messages: SqsMessage[];
  /** FIFO deduplication: key (see sqs-fifo.ts) → the accepted message it stands for. */
  readonly dedup: Map<string, { readonly messageId: string; readonly sequenceNumber: string; readonly at: number }>;
  lastPurgeAt: number | undefined;
  /** Receives so far; numbers receipt handles so each receive gets a new one. */
  receives: number;
  /** FIFO sequence numbers are large and increasing; this counts them. */
  sent: number;
}

export const isVisible = (m: SqsMessage, now: number): boolean => m.visibleAt <= now;
export const isInFlight = (m: SqsMessage, now: number): boolean => m.receiveCount > 0 && m.visibleAt > now;
export const isDelayed = (m: SqsMessage, now: number): boolean => m.receiveCount === 0 && m.visibleAt > now;

export function queueArn(state: AwsState, name: string): string {
  return `arn:aws:sqs:${state.region}:${state.accountId}:${name}`;
}

/** `http://<host the request came to>/<account>/<name>`: the SDK sends later calls there. */
export function queueUrl(ctx: JsonContext, queue: SqsQueue): string {
  return `http://${ctx.host}/${ctx.state.accountId}/${queue.name}`;
}

export function intAttribute(queue: SqsQueue, name: string): number {
  return Number(queue.attributes.get(name) ?? 0);
}

export function redrivePolicy(queue: SqsQueue): { deadLetterTargetArn: string; maxReceiveCount: number } | undefined {
  const policy = queue.attributes.get('RedrivePolicy');
  return policy ? (JSON.parse(policy) as { deadLetterTargetArn: string; maxReceiveCount: number }) : undefined;
}

export function queueByArn(state: AwsState, arn: string): SqsQueue | undefined {
  return [...state.queues.values()].find((q) => q.arn === arn);
}

/**
 * The queue a `QueueUrl` names. Only the path matters (`/<account>/<name>`), as the SDK
 * may have rewritten the host; another account's queue does not exist here. Messages
 * past the queue's retention period are dropped on the way, so every operation sees
 * the queue as AWS would at this instant.
 */
export function resolveQueue(ctx: JsonContext, url = ctx.input.required('QueueUrl')): SqsQueue {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw sqsErrors.queueDoesNotExist();
  }
  const [account, name, ...rest] = path.split('/').filter((part) => part !== '');
  const queue = account === ctx.state.accountId && name !== undefined && rest.length === 0 ? ctx.state.queues.get(name) : undefined;
  if (!queue) throw sqsErrors.queueDoesNotExist();
  expireMessages(queue, ctx.clock.now());
  return queue;
}

/** MessageRetentionPeriod: messages older than it are deleted by SQS, visible or not. */
export function expireMessages(queue: SqsQueue, now: number): void {
  const cutoff = now - intAttribute(queue, 'MessageRetentionPeriod') * 1000;
  if (queue.messages.some((m) => m.sentAt <= cutoff)) queue.messages = queue.messages.filter((m) => m.sentAt > cutoff);
}
