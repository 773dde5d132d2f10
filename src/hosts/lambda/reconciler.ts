import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processBatch } from '../sqs-batch';
import { describeResult } from '../worker';
import { lambdaCore } from './core';
import { lambdaTelemetry } from './telemetry';

const { log } = lambdaTelemetry('reconciler');

/** Time kept back from the function's timeout to report the batch and log. */
const REPORT_MARGIN_MS = 5_000;

/**
 * SQS FIFO consumer: reconciles Services, fans Node changes out, reports partial failures.
 * Each reconcile ends before the function's own timeout would (a timed-out invocation
 * returns the whole batch, done or not).
 */
export async function handler(event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> {
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - REPORT_MARGIN_MS : undefined;
  const core = await lambdaCore();
  const { batchItemFailures, results } = await processBatch(event.Records, {
    ...(deadline !== undefined ? { deadline } : {}),
    ...core,
    config: core.config,
    log,
    backoff: (record, seconds) =>
      core.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: core.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds })).then(() => undefined),
  });
  for (const r of results) {
    log(describeResult(r));
  }
  return { batchItemFailures };
}
