import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processBatch } from '../sqs-batch';
import { lambdaCore } from './core';
import { lambdaTelemetry } from './telemetry';

const { log } = lambdaTelemetry('reconciler');

/** SQS FIFO consumer: reconciles Services, fans Node changes out, reports partial failures. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const core = await lambdaCore();
  const { batchItemFailures, results } = await processBatch(event.Records, {
    ...core,
    config: core.config,
    log,
    backoff: (record, seconds) =>
      core.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: core.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds })).then(() => undefined),
  });
  for (const r of results) {
    log(r.kind === 'reconciled' ? { level: 'info', msg: 'reconciled', service: r.report.service, outcome: r.report.outcome, actions: r.report.actions.length } : { level: 'info', msg: 'fanned out', services: r.services });
  }
  return { batchItemFailures };
}
