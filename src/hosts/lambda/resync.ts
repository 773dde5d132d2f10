import type { ScheduledEvent } from 'aws-lambda';
import { collectGarbage } from '../../reconcile/gc';
import { enqueueResync } from '../worker';
import { lambdaCore } from './core';
import { lambdaTelemetry } from './telemetry';

const { log } = lambdaTelemetry('resync');

/**
 * The schedule's catch-up: every ferry Service is queued for a full drift check (missed
 * webhooks are found here), then this cluster's orphaned AWS resources are collected.
 */
export async function handler(event: ScheduledEvent): Promise<{ queued: number; collected: number }> {
  const core = await lambdaCore();
  const now = Date.parse(event.time ?? '') || Date.now();
  const intervalMs = Number(process.env.FERRY_RESYNC_INTERVAL_SECONDS ?? 300) * 1000;
  const queued = await enqueueResync(core, now, intervalMs);
  const report = await collectGarbage(core.kube, core.aws, core.config);
  for (const s of report.services) log({ level: s.error ? 'warn' : 'info', msg: 'gc', ...s });
  log({ level: 'info', msg: 'resync', queued, collected: report.services.length });
  return { queued, collected: report.services.length };
}
