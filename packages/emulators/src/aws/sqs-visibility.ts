import type { JsonContext, JsonInput, JsonObject } from './json-protocol';
import { batchEntries, runBatch } from './sqs-batch';
import { sqsErrors } from './sqs-errors';
import { isVisible, resolveQueue, type SqsMessage, type SqsQueue } from './sqs-model';

/**
 * What a receipt handle lets a consumer do: DeleteMessage and ChangeMessageVisibility,
 * single and batched. The rules, from the API reference and AWS's recorded answers:
 *
 * - a handle that is not one of this queue's is ReceiptHandleIsInvalid;
 * - only the latest receive's handle counts. DeleteMessage with an older one "will succeed,
 *   but the message might not be deleted" (here: it is not) on a standard queue, while a
 *   FIFO queue refuses it, and refuses the latest one too once the visibility timeout
 *   has expired ("The receipt handle has expired"), because the message may already be
 *   with another consumer and deleting it would break the group's order;
 * - ChangeMessageVisibility needs the latest handle of a message that still exists; it may
 *   extend a visibility timeout up to 12 hours after the receive, and 0 makes the message
 *   visible at once. AWS accepts it after the timeout has expired, too.
 */
const MAX_VISIBILITY_SECONDS = 43_200;

export function deleteMessage(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  deleteOne(ctx, queue, ctx.input.required('ReceiptHandle'));
  return {};
}

export function deleteMessageBatch(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  const entries = batchEntries(ctx.input, 'DeleteMessageBatchRequestEntry');
  return runBatch(entries, (entry) => {
    deleteOne(ctx, queue, entry.required('ReceiptHandle'));
    return {};
  });
}

export function changeMessageVisibility(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  changeOne(ctx, queue, ctx.input);
  return {};
}

export function changeMessageVisibilityBatch(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  const entries = batchEntries(ctx.input, 'ChangeMessageVisibilityBatchRequestEntry');
  return runBatch(entries, (entry) => {
    changeOne(ctx, queue, entry);
    return {};
  });
}

function deleteOne(ctx: JsonContext, queue: SqsQueue, handle: string): void {
  const message = messageOf(queue, handle);
  if (!message) return; // Already deleted (or moved to the dead-letter queue): deleting again succeeds.
  const now = ctx.clock.now();
  if (queue.fifo && (message.receipt !== handle || isVisible(message, now))) throw sqsErrors.receiptHandleExpired(handle);
  if (message.receipt !== handle) return;
  queue.messages = queue.messages.filter((m) => m !== message);
  // The next message of a FIFO group may now be deliverable.
  ctx.signals.notify(queue.arn);
}

function changeOne(ctx: JsonContext, queue: SqsQueue, input: JsonInput): void {
  const handle = input.required('ReceiptHandle');
  const timeout = input.int('VisibilityTimeout');
  if (timeout === undefined) throw sqsErrors.missingParameter('VisibilityTimeout');
  if (timeout < 0 || timeout > MAX_VISIBILITY_SECONDS) throw sqsErrors.invalidParameter('VisibilityTimeout', timeout, 'Must be >= 0 and <= 43200, if provided.');
  const message = messageOf(queue, handle);
  if (!message || message.receipt !== handle) throw sqsErrors.notAvailableForVisibilityChange(handle);
  const now = ctx.clock.now();
  if (now + timeout * 1000 - (message.receivedAt ?? now) > MAX_VISIBILITY_SECONDS * 1000) {
    throw sqsErrors.invalidParameter('VisibilityTimeout', timeout, `Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_SECONDS} seconds]`);
  }
  message.visibleAt = now + timeout * 1000;
  ctx.signals.notify(queue.arn);
}

/** The message a handle names, if it still exists; throws if the handle is not this queue's. */
function messageOf(queue: SqsQueue, handle: string): SqsMessage | undefined {
  const [arn, messageId, receive] = Buffer.from(handle, 'base64').toString('utf8').split(' ');
  if (arn !== queue.arn || messageId === undefined || receive === undefined) throw sqsErrors.receiptHandleIsInvalid(handle);
  return queue.messages.find((m) => m.messageId === messageId);
}
