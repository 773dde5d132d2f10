import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { loadConfig, required } from '../../config/env';
import { describeError } from '../../errors';
import { SqsWorkQueue } from '../../queue/sqs';
import { checkHead, handleWebhook, newWebhookStats, type WebhookDeps } from '../webhook';
import { lambdaTelemetry } from './telemetry';

const telemetry = lambdaTelemetry('webhook');
const { log } = telemetry;
import { readSecret } from './secrets';

/**
 * The admission webhook behind a Lambda Function URL. Deliberately free of the Kubernetes
 * client: it answers from the request alone and queues work, so it stays small and quick
 * to start (the API server waits for it).
 */
let deps: Omit<WebhookDeps, 'token'> & { tokenSecret: string; secrets: SecretsManagerClient } | undefined;

function init() {
  if (!deps) {
    const config = loadConfig();
    deps = {
      tokenSecret: required(config, 'webhookTokenSecretArn', 'FERRY_WEBHOOK_TOKEN_SECRET_ARN'),
      secrets: new SecretsManagerClient({}),
      queue: new SqsWorkQueue(new SQSClient({}), required(config, 'queueUrl', 'FERRY_QUEUE_URL')),
      config,
      controllerUsernames: config.controllerUsernames,
      enqueueTimeoutMs: 1500,
      stats: newWebhookStats(),
      log,
    };
  }
  return deps;
}

/** The structured form of a Function URL result (rather than a bare string body). */
export interface UrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export async function handler(event: LambdaFunctionURLEvent): Promise<UrlResult> {
  const d = init();
  let token: string;
  try {
    token = await readSecret(d.tokenSecret, () => d.secrets);
  } catch (err) {
    // Not the caller's fault; failurePolicy Ignore lets the cluster go on without us.
    log({ level: 'error', msg: 'cannot read the webhook token', error: describeError(err) });
    return { statusCode: 503, headers: { 'content-type': 'text/plain' }, body: 'webhook token unavailable\n' };
  }
  const misses = d.stats.queueMisses;
  const head = { method: event.requestContext?.http?.method ?? 'POST', path: event.rawPath ?? '/', headers: event.headers ?? {} };
  // The Function URL has already buffered the body, but decoding it waits for the token.
  const refused = checkHead(head, { token });
  if (refused) {
    d.stats.requests++;
    return { statusCode: refused.status, headers: refused.headers, body: refused.body };
  }
  const res = await handleWebhook({ ...head, body: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8') }, { ...d, token });
  if (d.stats.queueMisses > misses) telemetry.count('QueueMisses', d.stats.queueMisses - misses);
  return { statusCode: res.status, headers: res.headers, body: res.body };
}
