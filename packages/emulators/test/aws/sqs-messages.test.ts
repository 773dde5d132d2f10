import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { embeddedOnly, failure, useAws } from './harness';
import { bodies, clockedEmulator, createQueue, receive, type Clocked } from './sqs-support';

/** Messages on standard queues: send, receive, delete, visibility, batches, long polling, digests. */

const aws = useAws();
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

async function count(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] }));
  const [visible, inFlight, delayed] = names.map((n) => Number(out.Attributes?.[n]));
  return { visible: visible!, inFlight: inFlight!, delayed: delayed! };
}

describe('send, receive, delete', () => {
  it('round-trips a message and hides it while it is in flight', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'trip');
    const body = 'héllo ✓ {"json": true}';
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    expect(sent.MD5OfMessageBody).toBe(md5(body));
    expect(sent.MessageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const [message] = await receive(sqs, url);
    expect(message).toMatchObject({ MessageId: sent.MessageId, Body: body, MD5OfBody: md5(body), ReceiptHandle: expect.any(String) });
    expect(message!.Attributes).toBeUndefined();
    expect(await receive(sqs, url)).toEqual([]);
    expect(await count(sqs, url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
    expect(await count(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    // Deleting again with the same handle succeeds.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
  });

  it('computes attribute digests exactly as AWS does (values recorded against SQS)', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'md5');
    const str = (StringValue: string) => ({ DataType: 'String', StringValue });
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'msg', MessageAttributes: { General: str('Kenobi'), Hello: str('There'), 'Help.Me': str('Me') } }),
    );
    expect(sent).toMatchObject({ MD5OfMessageBody: '6e2baaf3b97dbeef01c0043275f9a0e7', MD5OfMessageAttributes: '4c360f3fdafd970e05fae2f149d997f5' });

    const digestFor = async (names: string[]): Promise<[string[], string | undefined]> => {
      const [m] = await receive(sqs, url, { MessageAttributeNames: names, VisibilityTimeout: 0 });
      return [Object.keys(m!.MessageAttributes ?? {}).sort(), m!.MD5OfMessageAttributes];
    };
    expect(await digestFor(['All'])).toEqual([['General', 'Hello', 'Help.Me'], '4c360f3fdafd970e05fae2f149d997f5']);
    expect(await digestFor(['Hello', 'General'])).toEqual([['General', 'Hello'], 'fca026605781cb4126a1e9044df24232']);
    expect(await digestFor(['Hello', 'Missing'])).toEqual([['Hello'], 'a311262e065454b75da111d535b8dacd']);
    expect(await digestFor(['Hel.*'])).toEqual([['Hello', 'Help.Me'], '83fee93c1bcd8b9a5a923ffacdc636c7']);
    expect(await digestFor([])).toEqual([[], undefined]);

    const binary = Buffer.from('traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01', 'latin1');
    const url2 = await createQueue(sqs, 'md5bin');
    const sentBinary = await sqs.send(new SendMessageCommand({ QueueUrl: url2, MessageBody: 'test', MessageAttributes: { attr1: { DataType: 'Binary', BinaryValue: binary } } }));
    expect(sentBinary.MD5OfMessageAttributes).toBe('8cbe4db156db8a94db8b801b7addb984');
    const [m] = await receive(sqs, url2, { MessageAttributeNames: ['All'] });
    expect(Buffer.from(m!.MessageAttributes!['attr1']!.BinaryValue!)).toEqual(binary);
  });

  it('returns the system attributes asked for', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'sys');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    const [first] = await receive(sqs, url, { MessageSystemAttributeNames: ['All'], VisibilityTimeout: 0 });
    expect(first!.Attributes).toEqual({
      SenderId: expect.any(String),
      SentTimestamp: expect.stringMatching(/^\d{13}$/),
      ApproximateReceiveCount: '1',
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
    });
    const [second] = await receive(sqs, url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    expect(second!.Attributes).toEqual({ ApproximateReceiveCount: '2' });
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);
  });

  it('rejects what SQS rejects', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'bad', { MaximumMessageSize: '1024' });
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1025) })))).toEqual({
      name: 'InvalidParameterValue',
      message: 'One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.',
      status: 400,
    });
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bell \u0007' })))).toMatchObject({ name: 'InvalidMessageContents' });
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageAttributes: { E: { DataType: 'String', StringValue: '' } } })))).toEqual({
      name: 'InvalidParameterValue',
      message: "Message (user) attribute 'E' must contain a non-empty value of type 'String'.",
      status: 400,
    });
    expect(await failure(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })))).toEqual({
      name: 'InvalidParameterValue',
      message: 'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.',
      status: 400,
    });
    expect(await failure(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 21 })))).toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('receipt handles and visibility', () => {
  it('refuses handles that are not the queue’s', async () => {
    const { sqs } = aws();
    const [a, b] = await Promise.all([createQueue(sqs, 'rh-a'), createQueue(sqs, 'rh-b')]);
    await sqs.send(new SendMessageCommand({ QueueUrl: a, MessageBody: 'x' }));
    const [m] = await receive(sqs, a);
    const foreign = await failure(sqs.send(new DeleteMessageCommand({ QueueUrl: b, ReceiptHandle: m!.ReceiptHandle })));
    expect(foreign).toEqual({ name: 'ReceiptHandleIsInvalid', message: `The input receipt handle "${m!.ReceiptHandle}" is not a valid receipt handle.`, status: 404 });
    expect((await failure(sqs.send(new DeleteMessageCommand({ QueueUrl: a, ReceiptHandle: 'garbage' })))).name).toBe('ReceiptHandleIsInvalid');
  });

  it('makes a message visible again at once with ChangeMessageVisibility 0', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'vis0');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const [m] = await receive(sqs, url);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m!.ReceiptHandle, VisibilityTimeout: 0 }));
    expect(bodies(await receive(sqs, url))).toEqual(['again']);
  });
});

describe('batches', () => {
  it('reports each entry on its own: Successful and Failed', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'batch');
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'one', MessageBody: 'first' },
          { Id: 'empty', MessageBody: '' },
          { Id: 'two', MessageBody: 'second', MessageAttributes: { K: { DataType: 'Number', StringValue: '42' } } },
        ],
      }),
    );
    expect(sent.Successful?.map((e) => [e.Id, e.MD5OfMessageBody])).toEqual([
      ['one', md5('first')],
      ['two', md5('second')],
    ]);
    expect(sent.Failed).toEqual([{ Id: 'empty', SenderFault: true, Code: 'MissingParameter', Message: 'The request must contain the parameter MessageBody.' }]);

    const received = await receive(sqs, url, { MaxNumberOfMessages: 10 });
    expect(bodies(received).sort()).toEqual(['first', 'second']);
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', ReceiptHandle: received[0]!.ReceiptHandle, VisibilityTimeout: 60 },
          { Id: 'b', ReceiptHandle: 'not-a-handle', VisibilityTimeout: 60 },
        ],
      }),
    );
    expect(changed.Successful).toEqual([{ Id: 'a' }]);
    expect(changed.Failed).toEqual([expect.objectContaining({ Id: 'b', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...received.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle })),
          { Id: 'bad', ReceiptHandle: 'not-a-handle' },
        ],
      }),
    );
    expect(deleted.Successful?.map((e) => e.Id)).toEqual(['m0', 'm1']);
    expect(deleted.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    expect(await count(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('fails a malformed batch as a whole', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'malformed');
    const send = (Entries: { Id: string; MessageBody: string }[]) => failure(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries })));
    expect(await send([])).toMatchObject({ name: 'EmptyBatchRequest', status: 400 });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }));
    expect(await send(eleven)).toEqual({ name: 'TooManyEntriesInBatchRequest', message: 'Maximum number of entries per request are 10. You have sent 11.', status: 400 });
    expect(await send([{ Id: 'bad:id', MessageBody: 'x' }])).toEqual({
      name: 'InvalidBatchEntryId',
      message: 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      status: 400,
    });
    expect(await send([{ Id: 'same', MessageBody: 'x' }, { Id: 'same', MessageBody: 'y' }])).toMatchObject({ name: 'BatchEntryIdsNotDistinct', status: 400 });
    expect(await count(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});

describe('long polling', () => {
  it('returns as soon as a message arrives, well before the wait is over', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'poll');
    const started = Date.now();
    const polling = receive(sqs, url, { WaitTimeSeconds: 5 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
    expect(bodies(await polling)).toEqual(['wake up']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('returns empty when the wait runs out', async () => {
    const url = await createQueue(aws().sqs, 'empty-poll');
    const started = Date.now();
    expect(await receive(aws().sqs, url, { WaitTimeSeconds: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

embeddedOnly('time: visibility timeouts, delays, retention, redrive', () => {
  let s: Clocked;
  beforeEach(async () => {
    s = await clockedEmulator();
  });
  afterEach(async () => {
    await s.close();
  });

  it('brings a message back when its visibility timeout expires, with a new receipt handle', async () => {
    const url = await createQueue(s.sqs, 'vt', { VisibilityTimeout: '30' });
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'retry me' }));
    const [first] = await receive(s.sqs, url);
    s.clock.advance(29_999);
    expect(await receive(s.sqs, url)).toEqual([]);
    s.clock.advance(1);
    const [second] = await receive(s.sqs, url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    expect(second).toMatchObject({ Body: 'retry me', Attributes: { ApproximateReceiveCount: '2' } });
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);

    // The stale handle: DeleteMessage "succeeds, but the message might not be deleted" (here it is not),
    // and ChangeMessageVisibility refuses it.
    await s.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle }));
    expect(await count(s.sqs, url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect(await failure(s.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle, VisibilityTimeout: 5 })))).toEqual({
      name: 'InvalidParameterValue',
      message: `Value ${first!.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      status: 400,
    });
    await s.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second!.ReceiptHandle }));
    expect(await count(s.sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('extends visibility with ChangeMessageVisibility, up to 12 hours after the receive', async () => {
    const url = await createQueue(s.sqs, 'extend');
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'slow work' }));
    const [m] = await receive(s.sqs, url, { VisibilityTimeout: 10 });
    await s.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m!.ReceiptHandle, VisibilityTimeout: 120 }));
    s.clock.advance(60_000);
    expect(await receive(s.sqs, url)).toEqual([]);
    s.clock.advance(60_000);
    const [again] = await receive(s.sqs, url, { VisibilityTimeout: 10 });
    expect(again!.Body).toBe('slow work');
    s.clock.advance(3_600_000);
    expect((await failure(s.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: again!.ReceiptHandle, VisibilityTimeout: 43_200 })))).message).toBe(
      'Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]',
    );
  });

  it('delays messages per message and per queue', async () => {
    const url = await createQueue(s.sqs, 'delay', { DelaySeconds: '5' });
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'queue delay' }));
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'no delay', DelaySeconds: 0 }));
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'long delay', DelaySeconds: 60 }));
    expect(await count(s.sqs, url)).toEqual({ visible: 1, inFlight: 0, delayed: 2 });
    const take = async (): Promise<string[]> => bodies(await receive(s.sqs, url, { MaxNumberOfMessages: 10, VisibilityTimeout: 3600 }));
    expect(await take()).toEqual(['no delay']);
    s.clock.advance(5_000);
    expect(await take()).toEqual(['queue delay']);
    s.clock.advance(55_000);
    expect(await take()).toEqual(['long delay']);
  });

  it('drops messages older than the retention period', async () => {
    const url = await createQueue(s.sqs, 'retain', { MessageRetentionPeriod: '60' });
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'old' }));
    s.clock.advance(60_000);
    expect(await receive(s.sqs, url)).toEqual([]);
  });

  it('wakes a long poll when a manual clock makes a message visible', async () => {
    const url = await createQueue(s.sqs, 'clock-poll');
    await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 30 }));
    const polling = receive(s.sqs, url, { WaitTimeSeconds: 5 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    s.clock.advance(30_000);
    expect(bodies(await polling)).toEqual(['later']);
  });

  it('moves a message received more than maxReceiveCount times to the dead-letter queue', async () => {
    const dlq = await createQueue(s.sqs, 'dlq');
    const dlqArn = (await s.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!['QueueArn']!;
    const url = await createQueue(s.sqs, 'src', { VisibilityTimeout: '10', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) });
    const sent = await s.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect(bodies(await receive(s.sqs, url))).toEqual(['poison']);
      s.clock.advance(10_000);
    }
    expect(await receive(s.sqs, url)).toEqual([]);
    const [dead] = await receive(s.sqs, dlq, { MessageSystemAttributeNames: ['All'] });
    expect(dead).toMatchObject({ MessageId: sent.MessageId, Body: 'poison', Attributes: { DeadLetterQueueSourceArn: expect.stringMatching(/:src-/), ApproximateReceiveCount: '3' } });
  });
});
