import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { embeddedOnly, failure, useAws } from './harness';
import { bodies, clockedEmulator, createFifoQueue, receive, type Clocked } from './sqs-support';

/** FIFO queues: order within a group, one batch of a group in flight at a time, deduplication, redrive. */

const aws = useAws();

async function send(sqs: SQSClient, queueUrl: string, group: string, body: string, dedup = body): Promise<string> {
  const out = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: dedup }));
  return out.MessageId!;
}

async function remove(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (const m of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
}

describe('FIFO order and message groups', () => {
  it('delivers a group in order and nothing more of it while an earlier message is in flight', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'order');
    for (const [group, body] of [['a', 'a1'], ['b', 'b1'], ['a', 'a2'], ['b', 'b2'], ['a', 'a3']] as const) await send(sqs, url, group, body);

    const a1 = await receive(sqs, url);
    expect(bodies(a1)).toEqual(['a1']);
    // Group a is blocked behind a1; group b interleaves.
    const b1 = await receive(sqs, url);
    expect(bodies(b1)).toEqual(['b1']);
    expect(await receive(sqs, url, { MaxNumberOfMessages: 10 })).toEqual([]);

    await remove(sqs, url, a1);
    const next = await receive(sqs, url, { MaxNumberOfMessages: 10 });
    // As many of one group as possible, in order; b stays blocked behind b1.
    expect(bodies(next)).toEqual(['a2', 'a3']);
    await remove(sqs, url, [...b1, ...next]);
    expect(bodies(await receive(sqs, url, { MaxNumberOfMessages: 10 }))).toEqual(['b2']);
  });

  it('keeps a group blocked until every message of a received batch is deleted', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'batch-block');
    for (const body of ['m1', 'm2', 'm3']) await send(sqs, url, 'g', body);
    const batch = await receive(sqs, url, { MaxNumberOfMessages: 2 });
    expect(bodies(batch)).toEqual(['m1', 'm2']);
    await remove(sqs, url, batch.slice(0, 1));
    expect(await receive(sqs, url)).toEqual([]);
    await remove(sqs, url, batch.slice(1));
    expect(bodies(await receive(sqs, url))).toEqual(['m3']);
  });

  it('reports group, deduplication id and increasing sequence numbers', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'attrs');
    const first = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'svc/web', MessageDeduplicationId: 'uid-1:42:CREATE' }));
    const second = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'y', MessageGroupId: 'svc/web', MessageDeduplicationId: 'uid-1:43:UPDATE' }));
    expect(BigInt(second.SequenceNumber!)).toBeGreaterThan(BigInt(first.SequenceNumber!));
    const [m] = await receive(sqs, url, { MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId', 'SequenceNumber'] });
    expect(m!.Attributes).toEqual({ MessageGroupId: 'svc/web', MessageDeduplicationId: 'uid-1:42:CREATE', SequenceNumber: first.SequenceNumber });
  });

  it('requires a group and a way to deduplicate, and refuses per-message delays', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'rules');
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })))).toEqual({
      name: 'MissingParameter',
      message: 'The request must contain the parameter MessageGroupId.',
      status: 400,
    });
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' })))).toEqual({
      name: 'InvalidParameterValue',
      message: 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      status: 400,
    });
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd', DelaySeconds: 2 })))).toEqual({
      name: 'InvalidParameterValue',
      message: 'Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.',
      status: 400,
    });
    // In a batch a missing group fails the whole request, not the entry.
    const batch = await failure(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'x', MessageDeduplicationId: 'd' }] })));
    expect(batch).toMatchObject({ name: 'InvalidParameterValue', message: 'The request must contain the parameter MessageGroupId.' });
  });
});

describe('FIFO deduplication', () => {
  it('accepts a duplicate without delivering it, even after the first was deleted', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'dedup');
    const id = await send(sqs, url, 'g', 'first', 'same-id');
    expect(await send(sqs, url, 'g', 'second', 'same-id')).toBe(id);
    const got = await receive(sqs, url, { MaxNumberOfMessages: 10 });
    expect(bodies(got)).toEqual(['first']);
    await remove(sqs, url, got);
    await send(sqs, url, 'g', 'third', 'same-id');
    expect(await receive(sqs, url, { MaxNumberOfMessages: 10 })).toEqual([]);
  });

  it('deduplicates by body with ContentBasedDeduplication, unless an explicit id is given', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'cbd', { ContentBasedDeduplication: 'true' });
    for (let i = 0; i < 2; i++) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same body', MessageGroupId: 'g' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same body', MessageGroupId: 'g', MessageDeduplicationId: 'explicit' }));
    expect(bodies(await receive(sqs, url, { MaxNumberOfMessages: 10 }))).toEqual(['same body', 'same body']);
  });
});

embeddedOnly('FIFO over time', () => {
  let s: Clocked;
  beforeEach(async () => {
    s = await clockedEmulator();
  });
  afterEach(async () => {
    await s.close();
  });

  it('forgets a deduplication id after five minutes', async () => {
    const url = await createFifoQueue(s.sqs, 'window');
    await send(s.sqs, url, 'g', 'one', 'dup');
    s.clock.advance(299_999);
    await send(s.sqs, url, 'g', 'two', 'dup');
    s.clock.advance(1);
    await send(s.sqs, url, 'g', 'three', 'dup');
    expect(bodies(await receive(s.sqs, url, { MaxNumberOfMessages: 10 }))).toEqual(['one', 'three']);
  });

  it('deduplicates per group with DeduplicationScope=messageGroup', async () => {
    const url = await createFifoQueue(s.sqs, 'scope', { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    await send(s.sqs, url, 'g1', 'in g1', 'dup');
    await send(s.sqs, url, 'g2', 'in g2', 'dup');
    await send(s.sqs, url, 'g2', 'again in g2', 'dup');
    expect(bodies(await receive(s.sqs, url, { MaxNumberOfMessages: 10 })).sort()).toEqual(['in g1', 'in g2']);
  });

  it('redelivers the head of a group after its visibility timeout, before anything behind it', async () => {
    const url = await createFifoQueue(s.sqs, 'expiry', { VisibilityTimeout: '30' });
    await send(s.sqs, url, 'g', 'head');
    await send(s.sqs, url, 'g', 'next');
    const [head] = await receive(s.sqs, url);
    s.clock.advance(30_000);
    expect(bodies(await receive(s.sqs, url))).toEqual(['head']);
    // The handle of the expired receive no longer deletes on a FIFO queue.
    expect(await failure(s.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: head!.ReceiptHandle })))).toEqual({
      name: 'InvalidParameterValue',
      message: `Value ${head!.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`,
      status: 400,
    });
  });

  it('dead-letters a group’s head after maxReceiveCount receives and goes on with the group', async () => {
    const dlq = await createFifoQueue(s.sqs, 'fifo-dlq');
    const dlqArn = (await s.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!['QueueArn']!;
    const url = await createFifoQueue(s.sqs, 'fifo-src', { VisibilityTimeout: '5', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) });
    await send(s.sqs, url, 'svc/a', 'poison');
    await send(s.sqs, url, 'svc/a', 'healthy');
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(bodies(await receive(s.sqs, url))).toEqual(['poison']);
      s.clock.advance(5_000);
    }
    // The fourth receive moves it and delivers the next message of the group instead.
    expect(bodies(await receive(s.sqs, url))).toEqual(['healthy']);
    const [dead] = await receive(s.sqs, dlq, { MessageSystemAttributeNames: ['MessageGroupId', 'ApproximateReceiveCount'] });
    expect(dead).toMatchObject({ Body: 'poison', Attributes: { MessageGroupId: 'svc/a', ApproximateReceiveCount: '4' } });
    const name = (queueUrl: string): string => queueUrl.split('/').pop()!;
    expect(s.emu.snapshot().queues.map((q) => [q.name, q.messages])).toEqual([
      [name(dlq), { 'svc/a': [{ body: 'poison', receiveCount: 4 }] }],
      [name(url), { 'svc/a': [{ body: 'healthy', receiveCount: 1 }] }],
    ]);
  });
});
