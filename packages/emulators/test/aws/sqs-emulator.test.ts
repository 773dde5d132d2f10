import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { AwsEmulator, ManualClock } from '../../src/aws';
import { credentials, embeddedOnly, failure, region } from './harness';
import { receive } from './sqs-support';

/**
 * The JSON services as parts of the emulator: the wire format itself, recorded calls,
 * fault injection, snapshots and shutdown.
 */

async function post(endpoint: string, target: string, body: string, contentType = 'application/x-amz-json-1.0') {
  const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': contentType, 'x-amz-target': target }, body });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

embeddedOnly('SQS and Secrets Manager in the emulator', () => {
  let emu: AwsEmulator;
  let sqs: SQSClient;
  let secrets: SecretsManagerClient;

  beforeEach(async () => {
    emu = await AwsEmulator.start();
    sqs = new SQSClient({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
    secrets = new SecretsManagerClient({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
  });

  afterEach(async () => {
    sqs.destroy();
    secrets.destroy();
    await emu.close();
  });

  describe('wire format', () => {
    it('answers SQS errors as query-compatible JSON', async () => {
      const { status, headers, json } = await post(emu.endpoint, 'AmazonSQS.GetQueueUrl', '{"QueueName":"nope"}');
      expect(status).toBe(400);
      expect(headers.get('content-type')).toBe('application/x-amz-json-1.0');
      expect(headers.get('x-amzn-query-error')).toBe('AWS.SimpleQueueService.NonExistentQueue;Sender');
      expect(headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      expect(json).toEqual({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' });

      const invalid = await post(emu.endpoint, 'AmazonSQS.ReceiveMessage', JSON.stringify({ QueueUrl: (await sqs.send(new CreateQueueCommand({ QueueName: 'q' }))).QueueUrl, MaxNumberOfMessages: 0 }));
      expect(invalid.headers.get('x-amzn-query-error')).toBe('InvalidParameterValue;Sender');
      expect(invalid.json['__type']).toBe('com.amazonaws.sqs#InvalidParameterValueException');
    });

    it('answers Secrets Manager errors with the bare shape and Message, and no query header', async () => {
      const { status, headers, json } = await post(emu.endpoint, 'secretsmanager.GetSecretValue', '{"SecretId":"nope"}', 'application/x-amz-json-1.1');
      expect(status).toBe(400);
      expect(headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(headers.get('x-amzn-query-error')).toBeNull();
      expect(json).toEqual({ __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." });
    });

    it('refuses unknown operations and bodies that are not JSON objects', async () => {
      expect((await post(emu.endpoint, 'AmazonSQS.TagQueue', '{}')).json['__type']).toBe('com.amazonaws.sqs#UnknownOperationException');
      expect((await post(emu.endpoint, 'Nobody.Anything', '{}')).status).toBe(400);
      expect((await post(emu.endpoint, 'AmazonSQS.ListQueues', '{not json')).json['__type']).toBe('com.amazonaws.sqs#SerializationException');
      expect((await post(emu.endpoint, 'AmazonSQS.ListQueues', '[]')).status).toBe(400);
      // A member of the wrong JSON type is an input error, not a crash.
      const typed = await post(emu.endpoint, 'AmazonSQS.CreateQueue', '{"QueueName":42}');
      expect(typed.status).toBe(400);
      expect(typed.headers.get('x-amzn-query-error')).toBe('InvalidParameterValue;Sender');
    });

    it('serves queue URLs that an SDK client without an endpoint can use as its endpoint', async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'by-url' }));
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const bare = new SQSClient({ region, credentials, maxAttempts: 1, logger: quiet });
      try {
        await bare.send(new SendMessageCommand({ QueueUrl, MessageBody: 'routed by the queue URL' }));
      } finally {
        bare.destroy();
      }
      expect((await receive(sqs, QueueUrl!)).map((m) => m.Body)).toEqual(['routed by the queue URL']);
    });
  });

  describe('recorded calls', () => {
    it('records SQS and Secrets Manager calls with flattened parameters and error codes', async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'rec.fifo', Attributes: { FifoQueue: 'true' } }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'a', MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }] }));
      await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
      await failure(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' })));
      await secrets.send(new CreateSecretCommand({ Name: 's', SecretString: 'v' }));
      await secrets.send(new GetSecretValueCommand({ SecretId: 's' }));

      expect(emu.calls[0]).toEqual({
        service: 'sqs',
        action: 'CreateQueue',
        mutating: true,
        params: { QueueName: 'rec.fifo', 'Attributes.FifoQueue': 'true' },
        status: 200,
        startedAt: expect.any(Number),
        durationMs: expect.any(Number),
      });
      expect(emu.calls[1]!.params).toMatchObject({ QueueUrl, 'Entries.1.Id': 'a', 'Entries.1.MessageGroupId': 'g' });
      expect(emu.calls[3]).toMatchObject({ service: 'sqs', action: 'GetQueueUrl', mutating: false, status: 400, errorCode: 'QueueDoesNotExist' });
      expect(emu.countCalls({ service: 'sqs' })).toEqual({ CreateQueue: 1, ReceiveMessage: 1, SendMessageBatch: 1 });
      expect(emu.countCalls({ service: 'secretsmanager' })).toEqual({ CreateSecret: 1, GetSecretValue: 1 });
      expect(emu.countCalls({ mutating: false, includeFailed: true })).toEqual({ GetQueueUrl: 1, GetSecretValue: 1 });
    });
  });

  describe('faults', () => {
    it('throttles SQS with RequestThrottled and Secrets Manager with ThrottlingException, both retried by the SDK', async () => {
      emu.faults.throttle(1);
      expect(await failure(sqs.send(new CreateQueueCommand({ QueueName: 'slow' })))).toEqual({ name: 'RequestThrottled', message: 'Rate exceeded', status: 403 });
      expect(await failure(secrets.send(new GetSecretValueCommand({ SecretId: 's' })))).toEqual({ name: 'ThrottlingException', message: 'Rate exceeded', status: 400 });

      emu.faults.throttle(0.5, { seed: 7 });
      const retryStrategy = new ConfiguredRetryStrategy(10, 1);
      const patientSqs = new SQSClient({ endpoint: emu.endpoint, region, credentials, retryStrategy });
      const patientSecrets = new SecretsManagerClient({ endpoint: emu.endpoint, region, credentials, retryStrategy });
      try {
        const { QueueUrl } = await patientSqs.send(new CreateQueueCommand({ QueueName: 'eventually' }));
        for (let i = 0; i < 5; i++) await patientSqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `m${i}` }));
        await patientSecrets.send(new CreateSecretCommand({ Name: 'eventually', SecretString: 'v' }));
        for (let i = 0; i < 5; i++) await patientSecrets.send(new PutSecretValueCommand({ SecretId: 'eventually', SecretString: `v${i}` }));
      } finally {
        patientSqs.destroy();
        patientSecrets.destroy();
      }
      const throttled = emu.calls.filter((c) => c.status !== 200);
      expect(throttled.length).toBeGreaterThan(2);
      expect(new Set(throttled.map((c) => `${c.service} ${c.status} ${c.errorCode}`))).toEqual(
        new Set(['sqs 403 RequestThrottled', 'secretsmanager 400 ThrottlingException']),
      );
      expect(emu.countCalls()).toEqual({ CreateQueue: 1, CreateSecret: 1, PutSecretValue: 5, SendMessage: 5 });
      emu.faults.clear();
      expect(emu.snapshot().secrets).toEqual([{ name: 'eventually', value: 'v4', binary: false, scheduledForDeletion: false, tags: {} }]);
    });

    it('fails SQS calls after k successful mutating calls', async () => {
      emu.faults.failAfter(1);
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'cut' }));
      expect(await failure(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })))).toMatchObject({ name: 'FerryInjectedFault', status: 400 });
    });
  });

  describe('snapshot', () => {
    it('shows queues and secrets, equal for the same state reached differently', async () => {
      const build = async (e: AwsEmulator, detour: boolean): Promise<void> => {
        const client = new SQSClient({ endpoint: e.endpoint, region, credentials, maxAttempts: 1 });
        const sm = new SecretsManagerClient({ endpoint: e.endpoint, region, credentials, maxAttempts: 1 });
        try {
          const dlq = (await client.send(new CreateQueueCommand({ QueueName: 'work-dlq.fifo', Attributes: { FifoQueue: 'true' } }))).QueueUrl!;
          const redrive = JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${region}:000000000000:work-dlq.fifo`, maxReceiveCount: 5 });
          const attributes = { FifoQueue: 'true', VisibilityTimeout: '60', RedrivePolicy: redrive };
          const work = detour
            ? (await client.send(new CreateQueueCommand({ QueueName: 'work.fifo', Attributes: { FifoQueue: 'true' } }))).QueueUrl!
            : (await client.send(new CreateQueueCommand({ QueueName: 'work.fifo', Attributes: attributes }))).QueueUrl!;
          if (detour) await client.send(new SetQueueAttributesCommand({ QueueUrl: work, Attributes: { RedrivePolicy: redrive, VisibilityTimeout: '60' } }));
          const entries = detour ? ['b1', 'a1', 'a2'] : ['a1', 'b1', 'a2'];
          for (const body of entries) await client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: body, MessageGroupId: body[0], MessageDeduplicationId: body }));
          expect(dlq).toBeDefined();
          if (detour) {
            await sm.send(new CreateSecretCommand({ Name: 'token', SecretString: 'first' }));
            await sm.send(new PutSecretValueCommand({ SecretId: 'token', SecretString: 'current' }));
          } else {
            await sm.send(new CreateSecretCommand({ Name: 'token', SecretString: 'current' }));
          }
        } finally {
          client.destroy();
          sm.destroy();
        }
      };
      const other = await AwsEmulator.start();
      try {
        await build(emu, false);
        await build(other, true);
        const snapshot = emu.snapshot();
        expect(other.snapshot()).toEqual(snapshot);
        expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
        expect(snapshot.queues).toEqual([
          { name: 'work-dlq.fifo', attributes: expect.objectContaining({ FifoQueue: 'true' }), deadLetterQueue: null, tags: {}, messages: {} },
          {
            name: 'work.fifo',
            attributes: expect.objectContaining({ VisibilityTimeout: '60', ContentBasedDeduplication: 'false' }),
            deadLetterQueue: { name: 'work-dlq.fifo', maxReceiveCount: 5 },
            tags: {},
            messages: {
              a: [
                { body: 'a1', receiveCount: 0 },
                { body: 'a2', receiveCount: 0 },
              ],
              b: [{ body: 'b1', receiveCount: 0 }],
            },
          },
        ]);
        expect(snapshot.secrets).toEqual([{ name: 'token', value: 'current', binary: false, scheduledForDeletion: false, tags: {} }]);
        expect(JSON.stringify(snapshot)).not.toMatch(/Timestamp|arn:aws/);
      } finally {
        await other.close();
      }
    });
  });

  describe('long polls', () => {
    it('stop when the caller hangs up, so nothing is received for nobody', async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'abandoned' }));
      const abort = new AbortController();
      const pending = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }), { abortSignal: abort.signal }).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      abort.abort();
      expect(await pending).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'for the next caller' }));
      const [m] = await receive(sqs, QueueUrl!, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
      expect(m).toMatchObject({ Body: 'for the next caller', Attributes: { ApproximateReceiveCount: '1' } });
    });
  });

  describe('close', () => {
    it('ends a pending long poll promptly and leaves no timers behind', async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'closing' }));
      const pending = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 })).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      await emu.close();
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await pending).toBeInstanceOf(Error);
    });
  });
});

describe('ManualClock', () => {
  it('moves only forward, and tells its listeners when it moves', () => {
    const clock = new ManualClock(new Date('2025-06-01T00:00:00Z'));
    const seen: number[] = [];
    const stop = clock.onChange(() => seen.push(clock.now()));
    clock.advance(1000);
    clock.set(Date.parse('2025-06-02T00:00:00Z'));
    stop();
    clock.advance(1);
    expect(seen).toEqual([Date.parse('2025-06-01T00:00:01Z'), Date.parse('2025-06-02T00:00:00Z')]);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set(0)).toThrow(RangeError);
  });
});
