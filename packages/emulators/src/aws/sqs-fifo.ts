import { createHash } from 'node:crypto';
import { sqsErrors } from './sqs-errors';
import { isVisible, type SqsMessage, type SqsQueue } from './sqs-model';

/**
 * The FIFO queue rules, as the SQS developer guide states them ("FIFO queue logic",
 * "Exactly-once processing"):
 *
 * - every message names a MessageGroupId; order is strict within a group, and while any
 *   message of a group is in flight no later message of that group is delivered, so one
 *   group is processed one batch at a time while other groups interleave;
 * - a receive returns as many messages of one group as it can (in order) before moving
 *   to the next group;
 * - a message whose MessageDeduplicationId (or, with ContentBasedDeduplication, the
 *   SHA-256 of its body) was accepted in the last 5 minutes is accepted again but not
 *   delivered; the window runs from the first acceptance and outlives the message.
 */
export const DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;

// "alphanumeric characters and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)", 1 to 128.
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

export function checkFifoId(name: 'MessageGroupId' | 'MessageDeduplicationId', value: string): void {
  if (!FIFO_ID.test(value)) throw sqsErrors.invalidParameter(name, value, `${name} can only include alphanumeric and punctuation characters. 1 to 128 in length.`);
}

/** The deduplication id a message is judged by: its own, or the body's SHA-256 with ContentBasedDeduplication. */
export function deduplicationId(queue: SqsQueue, explicit: string | undefined, body: string): string {
  if (explicit !== undefined) return explicit;
  if (queue.attributes.get('ContentBasedDeduplication') === 'true') return createHash('sha256').update(body, 'utf8').digest('hex');
  throw sqsErrors.invalidParameterValue('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
}

/** DeduplicationScope=messageGroup (high-throughput FIFO) deduplicates within a group only. */
function dedupKey(queue: SqsQueue, groupId: string, dedupId: string): string {
  return queue.attributes.get('DeduplicationScope') === 'messageGroup' ? `${groupId}\u0000${dedupId}` : dedupId;
}

/** The earlier acceptance this send duplicates, if it falls inside the window. */
export function findDuplicate(queue: SqsQueue, groupId: string, dedupId: string, now: number): { messageId: string; sequenceNumber: string } | undefined {
  for (const [key, entry] of queue.dedup) if (now - entry.at >= DEDUPLICATION_WINDOW_MS) queue.dedup.delete(key);
  return queue.dedup.get(dedupKey(queue, groupId, dedupId));
}

export function rememberAccepted(queue: SqsQueue, groupId: string, dedupId: string, messageId: string, sequenceNumber: string, now: number): void {
  queue.dedup.set(dedupKey(queue, groupId, dedupId), { messageId, sequenceNumber, at: now });
}

/** "The large, non-consecutive number that Amazon SQS assigns to each message", increasing. */
export function nextSequenceNumber(queue: SqsQueue): string {
  queue.sent += 1;
  return (18_000_000_000_000_000_000n + BigInt(queue.sent) * 65_536n + BigInt(queue.seq)).toString();
}

/**
 * The messages a receive may take right now, in delivery order: groups by the age of
 * their oldest message, and within each group the run of visible messages from its
 * head. A group whose head is in flight (or still delayed) yields nothing.
 */
export function fifoDeliverable(queue: SqsQueue, now: number): SqsMessage[] {
  const groups = new Map<string, SqsMessage[]>();
  for (const message of queue.messages) {
    const group = groups.get(message.groupId ?? '') ?? [];
    group.push(message);
    groups.set(message.groupId ?? '', group);
  }
  const out: SqsMessage[] = [];
  for (const group of groups.values()) {
    for (const message of group) {
      if (!isVisible(message, now)) break;
      out.push(message);
    }
  }
  return out;
}
