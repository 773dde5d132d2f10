import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { KubeConfig } from '@kubernetes/client-node';
import { connect, type Ferry } from '../../wiring/connect';
import { loadConfig, required } from '../../config/env';
import { SqsWorkQueue } from '../../queue/sqs';
import { readSecret } from './secrets';

export interface LambdaCore extends Ferry {
  sqs: SQSClient;
  queueUrl: string;
  queue: SqsWorkQueue;
}

let core: Promise<LambdaCore> | undefined;

/**
 * The reconciler's and resync's wiring, built once per container: configuration from the
 * environment, the kubeconfig from Secrets Manager, the SDK clients and the reconciler.
 * A failed build is forgotten so the next invocation tries again.
 */
export function lambdaCore(): Promise<LambdaCore> {
  core ??= build().catch((err: unknown) => {
    core = undefined;
    throw err;
  });
  return core;
}

async function build(): Promise<LambdaCore> {
  const config = loadConfig();
  const queueUrl = required(config, 'queueUrl', 'FERRY_QUEUE_URL');
  const secretId = required(config, 'kubeconfigSecretArn', 'FERRY_KUBECONFIG_SECRET_ARN');
  const kc = new KubeConfig();
  kc.loadFromString(await readSecret(secretId, () => new SecretsManagerClient({})));
  const sqs = new SQSClient({});
  return { ...connect(config, kc), sqs, queueUrl, queue: new SqsWorkQueue(sqs, queueUrl, config.delayQueueUrl) };
}
