import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk } from '../util/limit';
import { asWorkMessage, encodeMessage, MAX_DELAY_SECONDS, parseObject, type QueuedMessage, type WorkQueue } from './messages';

/**
 * The work queue on SQS FIFO: SendMessageBatch, ten messages per call.
 *
 * A FIFO queue cannot hold back one message (DelaySeconds is per queue there), so a delayed
 * message goes to the standard delay queue first, with its own DelaySeconds, and the
 * resync function forwards it into its FIFO group when it comes due ({@link forwardDelayed}).
 * Without a delay queue, delayed messages are sent at once.
 */
export class SqsWorkQueue implements WorkQueue {
  readonly delays: boolean;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly delayQueueUrl?: string,
  ) {
    this.delays = delayQueueUrl !== undefined;
  }

  async send(messages: readonly QueuedMessage[]): Promise<void> {
    const later = this.delayQueueUrl ? messages.filter((m) => (m.delaySeconds ?? 0) > 0) : [];
    const now = later.length > 0 ? messages.filter((m) => !later.includes(m)) : messages;
    await this.batches(this.queueUrl, now, (m, i) => ({
      Id: String(i),
      MessageBody: encodeMessage(m.message),
      MessageGroupId: m.group,
      MessageDeduplicationId: m.dedupId,
    }));
    if (this.delayQueueUrl) {
      await this.batches(this.delayQueueUrl, later, (m, i) => ({
        Id: String(i),
        MessageBody: encodeDelayed(m),
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, m.delaySeconds ?? 0),
      }));
    }
  }

  private async batches<E>(url: string, messages: readonly QueuedMessage[], entry: (m: QueuedMessage, i: number) => E): Promise<void> {
    for (const batch of chunk(messages, 10)) {
      const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: batch.map(entry) as never }));
      if (out.Failed && out.Failed.length > 0) {
        const first = out.Failed[0]!;
        throw new Error(`SQS refused ${out.Failed.length} of ${batch.length} messages: ${first.Code}: ${first.Message ?? ''}`);
      }
    }
  }
}

/** A delayed message on the delay queue: the FIFO message it becomes, whole. */
function encodeDelayed(m: QueuedMessage): string {
  return JSON.stringify({ group: m.group, dedupId: m.dedupId, message: m.message });
}

/** The FIFO message a delay-queue body stands for; undefined for anything else (dropped). */
export function decodeDelayed(body: string): QueuedMessage | undefined {
  const d = parseObject(body);
  const message = asWorkMessage(d?.message);
  if (!d || !message || typeof d.group !== 'string' || typeof d.dedupId !== 'string' || d.dedupId.length > 128) return undefined;
  // The group is the Service's own: a body cannot move work into another Service's group.
  if (message.kind === 'service' && d.group !== `${message.namespace}/${message.name}`) return undefined;
  return { message, group: d.group, dedupId: d.dedupId };
}

/** Forwards due messages from the delay queue into the FIFO queue; returns how many. */
export async function forwardDelayed(queue: WorkQueue, bodies: readonly string[]): Promise<number> {
  const messages = bodies.map(decodeDelayed).filter((m): m is QueuedMessage => m !== undefined);
  await queue.send(messages);
  return messages.length;
}
