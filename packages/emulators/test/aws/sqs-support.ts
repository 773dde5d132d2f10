import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, type Message, type ReceiveMessageCommandInput } from '@aws-sdk/client-sqs';
import { AwsEmulator, ManualClock } from '../../src/aws';
import { credentials, region, uniqueName } from './harness';

/** Helpers for the SQS and Secrets Manager tests. */

export interface Clocked {
  readonly emu: AwsEmulator;
  readonly clock: ManualClock;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
  close(): Promise<void>;
}

/** An emulator of its own whose time moves only when the test says so. */
export async function clockedEmulator(): Promise<Clocked> {
  const clock = new ManualClock();
  const emu = await AwsEmulator.start({ clock });
  const config = { endpoint: emu.endpoint, region, credentials, maxAttempts: 1 };
  const sqs = new SQSClient(config);
  const secrets = new SecretsManagerClient(config);
  return {
    emu,
    clock,
    sqs,
    secrets,
    close: async () => {
      sqs.destroy();
      secrets.destroy();
      await emu.close();
    },
  };
}

export async function createQueue(sqs: SQSClient, prefix: string, attributes: Record<string, string> = {}): Promise<string> {
  const fifo = attributes['FifoQueue'] === 'true';
  const out = await sqs.send(new CreateQueueCommand({ QueueName: `${uniqueName(prefix)}${fifo ? '.fifo' : ''}`, Attributes: attributes }));
  return out.QueueUrl!;
}

export function createFifoQueue(sqs: SQSClient, prefix: string, attributes: Record<string, string> = {}): Promise<string> {
  return createQueue(sqs, prefix, { FifoQueue: 'true', ...attributes });
}

/** ReceiveMessage without waiting (unless asked), returning the messages (never undefined). */
export async function receive(sqs: SQSClient, queueUrl: string, input: Omit<ReceiveMessageCommandInput, 'QueueUrl'> = {}): Promise<Message[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0, ...input }));
  return out.Messages ?? [];
}

export const bodies = (messages: readonly Message[]): string[] => messages.map((m) => m.Body ?? '');
