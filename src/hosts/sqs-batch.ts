import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { ConfigError, describeError, isDeferral } from '../errors';
import { decodeMessage, serviceMessage } from '../queue/messages';
import { backoffDelay } from '../util/backoff';
import type { Log } from '../util/log';
import { processWork, type WorkerDeps, type WorkResult } from './worker';

export interface BatchDeps extends WorkerDeps {
  /** Delays a failed message's next delivery (SQS ChangeMessageVisibility); best effort. */
  backoff(record: SQSRecord, seconds: number): Promise<void>;
  log: Log;
  /** Epoch ms by which the whole batch must be done (Lambda's remaining time, less a margin). */
  deadline?: number;
}

/** A reconcile started with less time than this left would only be cut short. */
const MIN_WORK_MS = 5_000;

/**
 * One SQS FIFO batch, with partial failures (ReportBatchItemFailures). Records of a message
 * group arrive in order; once one fails, the rest of its group in this batch are returned
 * unprocessed too, so a group is never reconciled out of order. A failed record's next
 * delivery is delayed exponentially by its receive count; after the queue's maxReceiveCount
 * it goes to the dead-letter queue. Work deferred (throttled, or an adoption waiting on health
 * checks) is not a failure: it is queued again, delayed, as a new message. A body that is not a ferry message is dropped, not
 * retried: retrying cannot fix it.
 */
export async function processBatch(records: readonly SQSRecord[], deps: BatchDeps): Promise<SQSBatchResponse & { results: WorkResult[] }> {
  const failedGroups = new Set<string>();
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const results: WorkResult[] = [];
  for (const record of records) {
    const group = record.attributes?.MessageGroupId ?? record.messageId;
    if (failedGroups.has(group)) {
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    if (deps.deadline !== undefined && deps.deadline - Date.now() < MIN_WORK_MS) {
      // Out of time for this invocation: hand the record back at once, untried, to the next one.
      failedGroups.add(group);
      failures.push({ itemIdentifier: record.messageId });
      await deps.backoff(record, 0).catch(() => undefined);
      continue;
    }
    const message = decodeMessage(record.body);
    if (!message) {
      deps.log({ level: 'warn', msg: 'dropping a message that is not ferry work', messageId: record.messageId });
      continue;
    }
    try {
      results.push(await processWork(message, record.messageId, deps, deps.deadline));
    } catch (err) {
      if (isDeferral(err) && message.kind === 'service' && deps.queue.delays) {
        // Not a failure: a fresh message comes back later (SQS counts receives per message,
        // so a throttled burst never walks this one to the dead-letter queue).
        const deferred = (message.deferred ?? 0) + 1;
        const delayMs = backoffDelay({ baseMs: 5_000, maxMs: 900_000, jitter: true }, deferred, err);
        try {
          await deps.queue.send([{ ...serviceMessage(message.namespace, message.name, `deferred-${record.messageId}`, message.full ?? false, delayMs / 1000), message: { ...message, deferred } }]);
          deps.log({ level: 'info', msg: 'work deferred', messageId: record.messageId, group, deferred, delaySeconds: Math.round(delayMs / 1000), reason: describeError(err) });
          continue;
        } catch (sendErr) {
          deps.log({ level: 'warn', msg: 'could not defer; retrying as a failure', messageId: record.messageId, error: describeError(sendErr) });
        }
      }
      failedGroups.add(group);
      failures.push({ itemIdentifier: record.messageId });
      const receives = Number(record.attributes?.ApproximateReceiveCount ?? '1');
      deps.log({ level: 'error', msg: 'work failed; will retry', messageId: record.messageId, group, receives, error: describeError(err) });
      // A configuration problem does not fix itself quickly: wait longer before the next try.
      const delayMs = backoffDelay({ baseMs: err instanceof ConfigError ? 60_000 : 5_000, maxMs: 900_000 }, receives, err);
      await deps.backoff(record, Math.ceil(delayMs / 1000)).catch(() => undefined);
    }
  }
  return { batchItemFailures: failures, results };
}
