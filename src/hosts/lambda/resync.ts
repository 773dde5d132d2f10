import type { ScheduledEvent, SQSEvent } from 'aws-lambda';
import { forwardDelayed } from '../../queue/sqs';
import { resync, type ResyncReport } from '../../reconcile/resync';
import { describeResync } from '../worker';
import { resyncOptions } from '../../wiring/connect';
import { lambdaCore } from './core';
import { lambdaTelemetry } from './telemetry';

const { log } = lambdaTelemetry('resync');

/**
 * Two triggers. The schedule: the resync (sweep, changed Services, drift, the interval's
 * paced deep checks, orphans; see reconcile/resync.ts). The delay queue: work that was held
 * back (a paced deep check, a throttled reconcile) has come due and goes into its Service's
 * FIFO group.
 */
export async function handler(event: ScheduledEvent | SQSEvent): Promise<ResyncReport | { forwarded: number }> {
  const core = await lambdaCore();
  if ('Records' in event) {
    const forwarded = await forwardDelayed(core.queue, event.Records.map((r) => r.body));
    return { forwarded };
  }
  const now = Date.parse(event.time ?? '') || Date.now();
  const report = await resync(core.kube, core.aws, core.queue, resyncOptions(core.config, now));
  for (const entry of describeResync(report)) log(entry);
  return report;
}
