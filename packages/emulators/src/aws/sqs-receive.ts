import { performance } from 'node:perf_hooks';
import type { JsonContext, JsonObject } from './json-protocol';
import { sqsErrors } from './sqs-errors';
import { fifoDeliverable } from './sqs-fifo';
import { md5OfAttributes } from './sqs-md5';
import { intAttribute, isVisible, queueByArn, redrivePolicy, resolveQueue, type SqsMessage, type SqsMessageAttribute, type SqsQueue } from './sqs-model';

/**
 * ReceiveMessage. Taking messages is a pure step over the queue (`takeMessages`); long
 * polling wraps it: with WaitTimeSeconds > 0 and nothing to take, the call parks until
 * something changes on the queue, re-checks, and returns as soon as at least one message
 * is available or the wait is over, as AWS's long polling does (it does not wait to fill
 * MaxNumberOfMessages).
 */
interface ReceiveRequest {
  readonly max: number;
  readonly visibilityTimeout: number;
  readonly waitSeconds: number;
  readonly systemAttributes: readonly string[];
  readonly messageAttributes: readonly string[];
}

export async function receiveMessage(ctx: JsonContext): Promise<JsonObject> {
  const request = readRequest(ctx, resolveQueue(ctx));
  const deadline = performance.now() + request.waitSeconds * 1000;
  for (;;) {
    // Resolved on every pass: the queue may be deleted while a poll waits on it.
    const queue = resolveQueue(ctx);
    const now = ctx.clock.now();
    const messages = takeMessages(ctx, queue, request, now);
    const remaining = deadline - performance.now();
    if (messages.length > 0 || remaining <= 0) return { Messages: messages };
    // Wake at the next visibility or delay expiry too, not only on sends.
    const untilNextChange = queue.messages.reduce((soonest, m) => (isVisible(m, now) ? soonest : Math.min(soonest, m.visibleAt - now)), Infinity);
    if (!(await ctx.signals.wait(queue.arn, Math.min(remaining, untilNextChange))) || ctx.hungUp()) return { Messages: [] };
  }
}

function readRequest(ctx: JsonContext, queue: SqsQueue): ReceiveRequest {
  const { input } = ctx;
  const max = input.int('MaxNumberOfMessages') ?? 1;
  if (max < 1 || max > 10) throw sqsErrors.invalidParameter('MaxNumberOfMessages', max, 'Must be between 1 and 10, if provided.');
  const visibilityTimeout = input.int('VisibilityTimeout') ?? intAttribute(queue, 'VisibilityTimeout');
  if (visibilityTimeout < 0 || visibilityTimeout > 43_200) throw sqsErrors.invalidParameter('VisibilityTimeout', visibilityTimeout, 'Must be >= 0 and <= 43200, if provided.');
  const waitSeconds = input.int('WaitTimeSeconds') ?? intAttribute(queue, 'ReceiveMessageWaitTimeSeconds');
  if (waitSeconds < 0 || waitSeconds > 20) throw sqsErrors.invalidParameter('WaitTimeSeconds', waitSeconds, 'Must be >= 0 and <= 20, if provided.');
  // AttributeNames is the deprecated spelling of MessageSystemAttributeNames; either works.
  const systemAttributes = [...(input.strings('MessageSystemAttributeNames') ?? []), ...(input.strings('AttributeNames') ?? [])];
  return { max, visibilityTimeout, waitSeconds, systemAttributes, messageAttributes: input.strings('MessageAttributeNames') ?? [] };
}

/**
 * Receives what the queue offers right now. Each taken message gets a new receipt handle
 * (older ones go stale), one more receive, and its visibility timeout. A message already
 * received maxReceiveCount times is moved to the dead-letter queue instead of being
 * delivered again ("when the ReceiveCount for a message exceeds the maxReceiveCount").
 */
function takeMessages(ctx: JsonContext, queue: SqsQueue, request: ReceiveRequest, now: number): JsonObject[] {
  const candidates = queue.fifo ? fifoDeliverable(queue, now) : queue.messages.filter((m) => isVisible(m, now));
  const policy = redrivePolicy(queue);
  const deadLetterQueue = policy ? queueByArn(ctx.state, policy.deadLetterTargetArn) : undefined;
  const taken: JsonObject[] = [];
  for (const message of candidates) {
    if (taken.length >= request.max) break;
    if (policy && deadLetterQueue && message.receiveCount >= policy.maxReceiveCount) {
      deadLetter(ctx, queue, deadLetterQueue, message, now);
      continue;
    }
    queue.receives += 1;
    message.receiveCount += 1;
    message.firstReceivedAt ??= now;
    message.receivedAt = now;
    message.visibleAt = now + request.visibilityTimeout * 1000;
    message.receipt = Buffer.from(`${queue.arn} ${message.messageId} ${queue.receives} ${ctx.state.hex(16)}`, 'utf8').toString('base64');
    taken.push(render(ctx, message, request));
  }
  return taken;
}

/**
 * Moves a message to its queue's dead-letter queue with its message ID and receive count
 * (ApproximateReceiveCount counts receives "across all queues"). A standard message keeps
 * its enqueue timestamp; a FIFO message's resets, as the developer guide says.
 */
function deadLetter(ctx: JsonContext, source: SqsQueue, target: SqsQueue, message: SqsMessage, now: number): void {
  source.messages = source.messages.filter((m) => m !== message);
  target.messages.push({
    ...message,
    seq: ctx.state.nextSeq(),
    sentAt: target.fifo ? now : message.sentAt,
    visibleAt: now,
    receipt: undefined,
    deadLetterSourceArn: source.arn,
  });
  ctx.signals.notify(target.arn);
}

function render(ctx: JsonContext, message: SqsMessage, request: ReceiveRequest): JsonObject {
  const system = systemAttributes(ctx, message, request.systemAttributes);
  const attributes = selectAttributes(message.messageAttributes, request.messageAttributes);
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.receipt,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(system).length > 0 ? { Attributes: system } : {}),
    ...(attributes.size > 0 ? { MD5OfMessageAttributes: md5OfAttributes(attributes), MessageAttributes: Object.fromEntries(attributes) } : {}),
  };
}

function systemAttributes(ctx: JsonContext, message: SqsMessage, names: readonly string[]): Record<string, string> {
  const available: Record<string, string | undefined> = {
    // For the account's own principal SQS reports the account id.
    SenderId: ctx.state.accountId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.receivedAt),
    MessageGroupId: message.groupId,
    MessageDeduplicationId: message.dedupId,
    SequenceNumber: message.sequenceNumber,
    AWSTraceHeader: message.awsTraceHeader,
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
  };
  const wanted = names.includes('All') ? Object.keys(available) : names;
  return Object.fromEntries(wanted.flatMap((name) => (available[name] === undefined ? [] : [[name, available[name]!]])));
}

/** MessageAttributeNames: exact names, `All` or `.*`, or a prefix wildcard such as `bar.*`. */
function selectAttributes(attributes: ReadonlyMap<string, SqsMessageAttribute>, names: readonly string[]): Map<string, SqsMessageAttribute> {
  const matches = (name: string): boolean =>
    names.some((pattern) => pattern === 'All' || pattern === '.*' || pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -2))));
  return new Map([...attributes].filter(([name]) => matches(name)));
}
