import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { embeddedOnly, failure, uniqueName, useAws } from './harness';
import { clockedEmulator, createFifoQueue, createQueue, receive } from './sqs-support';

/** SQS queues: creation rules, attributes, lookup, listing, purge and deletion. */

const aws = useAws();

async function attributes(queueUrl: string): Promise<Record<string, string>> {
  const out = await aws().sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
  return out.Attributes ?? {};
}

describe('CreateQueue', () => {
  it('creates a standard queue that GetQueueUrl finds, with AWS’s defaults', async () => {
    const name = uniqueName('std');
    const { QueueUrl } = await aws().sqs.send(new CreateQueueCommand({ QueueName: name }));
    expect(QueueUrl).toMatch(new RegExp(`/000000000000/${name}$`));
    expect((await aws().sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(QueueUrl);
    expect(await attributes(QueueUrl!)).toMatchObject({
      QueueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
      DelaySeconds: '0',
      ReceiveMessageWaitTimeSeconds: '0',
      SqsManagedSseEnabled: 'true',
      CreatedTimestamp: expect.stringMatching(/^\d{10}$/),
      LastModifiedTimestamp: expect.stringMatching(/^\d{10}$/),
    });
  });

  it('creates a FIFO queue only with the .fifo suffix and FifoQueue=true', async () => {
    const { sqs } = aws();
    const url = await createFifoQueue(sqs, 'fifo', { ContentBasedDeduplication: 'true' });
    expect(await attributes(url)).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'true', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' });

    const noSuffix = await failure(sqs.send(new CreateQueueCommand({ QueueName: uniqueName('nosuffix'), Attributes: { FifoQueue: 'true' } })));
    expect(noSuffix).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(noSuffix.message).toContain('must end with .fifo suffix');
    const suffixOnly = await failure(sqs.send(new CreateQueueCommand({ QueueName: `${uniqueName('suffix')}.fifo` })));
    expect(suffixOnly).toMatchObject({ name: 'InvalidParameterValue', message: 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length' });
    const tooLong = await failure(sqs.send(new CreateQueueCommand({ QueueName: `${'q'.repeat(76)}.fifo`, Attributes: { FifoQueue: 'true' } })));
    expect(tooLong.name).toBe('InvalidParameterValue');
  });

  it('is idempotent for the same attributes and refuses different ones', async () => {
    const { sqs } = aws();
    const name = uniqueName('idem');
    const first = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '60' } }));
    const again = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '60' } }));
    expect(again.QueueUrl).toBe(first.QueueUrl);
    const err = await failure(sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '61' } })));
    expect(err).toEqual({ name: 'QueueNameExists', message: 'A queue already exists with the same name and a different value for attribute VisibilityTimeout', status: 400 });
  });

  it('validates attribute names and values', async () => {
    const { sqs } = aws();
    const create = (Attributes: Record<string, string>) => sqs.send(new CreateQueueCommand({ QueueName: uniqueName('attrs'), Attributes }));
    expect(await failure(create({ VisibilityTimeout: '43201' }))).toEqual({ name: 'InvalidAttributeValue', message: 'Invalid value for the parameter VisibilityTimeout.', status: 400 });
    expect(await failure(create({ MessageRetentionPeriod: '59' }))).toMatchObject({ name: 'InvalidAttributeValue' });
    expect(await failure(create({ Colour: 'blue' }))).toEqual({ name: 'InvalidAttributeName', message: 'Unknown Attribute Colour.', status: 400 });
    expect(await failure(create({ ContentBasedDeduplication: 'true' }))).toMatchObject({ name: 'InvalidAttributeName' });
    expect(await failure(create({ KmsMasterKeyId: 'alias/aws/sqs', SqsManagedSseEnabled: 'true' }))).toEqual({
      name: 'InvalidAttributeName',
      message: 'You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.',
      status: 400,
    });
  });

  it('accepts SSE-KMS in place of SSE-SQS', async () => {
    const url = await createQueue(aws().sqs, 'kms', { KmsMasterKeyId: 'alias/aws/sqs' });
    expect(await attributes(url)).toMatchObject({ KmsMasterKeyId: 'alias/aws/sqs', KmsDataKeyReusePeriodSeconds: '300', SqsManagedSseEnabled: 'false' });
  });
});

describe('RedrivePolicy', () => {
  it('names an existing dead-letter queue of the same type, normalised', async () => {
    const { sqs } = aws();
    const dlq = await createFifoQueue(sqs, 'dlq');
    const dlqArn = (await attributes(dlq))['QueueArn']!;
    const source = await createFifoQueue(sqs, 'src', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: '3' }) });
    expect(JSON.parse((await attributes(source))['RedrivePolicy']!)).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 });

    const invalid = async (policy: object, fifo = true): Promise<string> => {
      const err = await failure(
        sqs.send(new CreateQueueCommand({ QueueName: `${uniqueName('bad')}${fifo ? '.fifo' : ''}`, Attributes: { ...(fifo ? { FifoQueue: 'true' } : {}), RedrivePolicy: JSON.stringify(policy) } })),
      );
      expect(err.name).toBe('InvalidParameterValue');
      return err.message;
    };
    const missing = dlqArn.replace(/:[^:]+$/, ':nowhere.fifo');
    expect(await invalid({ deadLetterTargetArn: missing, maxReceiveCount: 3 })).toBe(
      `Value {"deadLetterTargetArn":"${missing}","maxReceiveCount":3} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
    );
    expect(await invalid({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }, false)).toContain('Reason: Dead-letter queue must be same type of queue as the source.');
    expect(await invalid({ deadLetterTargetArn: dlqArn, maxReceiveCount: 0 })).toContain('Reason: Invalid value for maxReceiveCount: 0');
    expect(await invalid({ deadLetterTargetArn: 'dummy', maxReceiveCount: 3 })).toContain('Reason: Invalid value for deadLetterTargetArn.');
  });
});

describe('SetQueueAttributes', () => {
  it('changes attributes, and refuses to change the queue type', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'set');
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '5', DelaySeconds: '2' } }));
    expect(await attributes(url)).toMatchObject({ VisibilityTimeout: '5', DelaySeconds: '2' });
    expect(await failure(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoQueue: 'true' } })))).toMatchObject({
      name: 'InvalidAttributeName',
      message: 'Unknown Attribute FifoQueue.',
    });
    const fifo = await createFifoQueue(sqs, 'set');
    expect(await failure(sqs.send(new SetQueueAttributesCommand({ QueueUrl: fifo, Attributes: { FifoQueue: 'false' } })))).toMatchObject({
      name: 'InvalidAttributeValue',
      message: 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.',
    });
  });

  it('returns only the attributes asked for', async () => {
    const url = await createQueue(aws().sqs, 'some');
    const out = await aws().sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout', 'QueueArn'] }));
    expect(Object.keys(out.Attributes ?? {}).sort()).toEqual(['QueueArn', 'VisibilityTimeout']);
  });
});

describe('ListQueues, DeleteQueue, PurgeQueue', () => {
  it('lists queues by name prefix', async () => {
    const { sqs } = aws();
    const prefix = uniqueName('list');
    const urls = await Promise.all(['a', 'b'].map((suffix) => sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${suffix}` })).then((o) => o.QueueUrl!)));
    const out = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
    expect([...(out.QueueUrls ?? [])].sort()).toEqual(urls.sort());
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: uniqueName('none') }))).QueueUrls ?? []).toEqual([]);
  });

  it('answers for a deleted queue with QueueDoesNotExist in its query-compatible form', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'gone');
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    const error = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })).catch((e: unknown) => e as Record<string, unknown>);
    expect(error).toMatchObject({ name: 'QueueDoesNotExist', message: 'The specified queue does not exist.', Code: 'AWS.SimpleQueueService.NonExistentQueue', Type: 'Sender' });
    expect(await failure(sqs.send(new GetQueueUrlCommand({ QueueName: 'never-created-queue' })))).toMatchObject({ name: 'QueueDoesNotExist', status: 400 });
  });

  it('purges every message', async () => {
    const { sqs } = aws();
    const url = await createQueue(sqs, 'purge');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await receive(sqs, url)).toEqual([]);
  });
});

embeddedOnly('queue URLs and cool-downs', () => {
  it('builds queue URLs on the emulator’s own endpoint', async () => {
    const name = uniqueName('url');
    const { QueueUrl } = await aws().sqs.send(new CreateQueueCommand({ QueueName: name }));
    expect(QueueUrl).toBe(`${aws().endpoint}/000000000000/${name}`);
  });

  it('pages ListQueues with MaxResults and NextToken', async () => {
    const { sqs } = aws();
    const prefix = uniqueName('page');
    for (const suffix of ['a', 'b', 'c']) await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${suffix}` }));
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2 }));
    expect(first.QueueUrls).toHaveLength(2);
    const second = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2, NextToken: first.NextToken }));
    expect(second.QueueUrls).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
  });

  it('holds a deleted queue’s name and a purged queue for 60 seconds', async () => {
    const s = await clockedEmulator();
    try {
      const url = await createQueue(s.sqs, 'cool');
      const name = url.split('/').pop()!;
      await s.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
      expect(await failure(s.sqs.send(new PurgeQueueCommand({ QueueUrl: url })))).toEqual({
        name: 'PurgeQueueInProgress',
        message: `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`,
        status: 403,
      });
      await s.sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      expect(await failure(s.sqs.send(new CreateQueueCommand({ QueueName: name })))).toMatchObject({ name: 'QueueDeletedRecently', status: 400 });
      s.clock.advance(60_000);
      await s.sqs.send(new CreateQueueCommand({ QueueName: name }));
      await s.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    } finally {
      await s.close();
    }
  });
});
