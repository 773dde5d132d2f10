import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk } from '../util/limit';
import { encodeMessage, type QueuedMessage, type WorkQueue } from './messages';

/** The work queue on SQS FIFO: SendMessageBatch, ten messages per call. */
export class SqsWorkQueue implements WorkQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: readonly QueuedMessage[]): Promise<void> {
    for (const batch of chunk(messages, 10)) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((m, i) => ({
            Id: String(i),
            MessageBody: encodeMessage(m.message),
            MessageGroupId: m.group,
            MessageDeduplicationId: m.dedupId,
          })),
        }),
      );
      if (out.Failed && out.Failed.length > 0) {
        const first = out.Failed[0]!;
        throw new Error(`SQS refused ${out.Failed.length} of ${batch.length} messages: ${first.Code}: ${first.Message ?? ''}`);
      }
    }
  }
}
