import type { KubeConfig } from '@kubernetes/client-node';
import type { Ferry } from '../../wiring/connect';
import { describeError } from '../../errors';
import { MemoryWorkQueue } from '../../queue/memory';
import { resync as runResync } from '../../reconcile/resync';
import { resyncOptions } from '../../wiring/connect';
import type { Log } from '../../util/log';
import type { TlsPair } from '../tls';
import { newWebhookStats, type WebhookStats } from '../webhook';
import { describeResult, describeResync, processWork } from '../worker';
import { serveWebhook } from './https';
import { watchCluster } from './watch';

export interface ControllerOptions {
  listen: { host: string; port: number };
  tls: TlsPair;
  token: string;
  workers: number;
  resyncIntervalMs: number;
  /** ELBv2 reads per second the deep checks may average; default FERRY_READ_BUDGET's. */
  readBudget?: number;
  /** Watch Services and Nodes as well as (or instead of) receiving webhooks. */
  watch: boolean;
  log: Log;
}

export interface Controller {
  /** The webhook's base URL; the API server calls `<url>/admit/<token>`. */
  url: string;
  queue: MemoryWorkQueue;
  stats: WebhookStats;
  /** Runs one resync now (it also runs on the timer). */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `ferry controller`: the Lambda deployment's pieces in one long-running process — the
 * webhook over HTTPS, an in-process queue with per-Service serialisation, reconcile workers,
 * the resync timer, and optionally its own watches on Services and Nodes.
 */
export async function startController(ferry: Ferry, kc: KubeConfig, options: ControllerOptions): Promise<Controller> {
  const { log } = options;
  const queue: MemoryWorkQueue = new MemoryWorkQueue({
    workers: options.workers,
    log,
    process: async (message, id) => {
      const result = await processWork(message, id, { kube: ferry.kube, reconciler: ferry.reconciler, queue, config: ferry.config });
      const quiet = result.kind === 'reconciled' && (result.report.outcome === 'unchanged' || result.report.outcome === 'ignored');
      if (!quiet) log(describeResult(result));
    },
  });
  const stats = newWebhookStats();
  const server = await serveWebhook(options.tls, options.listen, {
    token: options.token,
    queue,
    config: ferry.config,
    controllerUsernames: ferry.config.controllerUsernames,
    enqueueTimeoutMs: 1000,
    stats,
    log,
  });
  const resync = async () => {
    try {
      const config = { ...ferry.config, resyncIntervalSeconds: options.resyncIntervalMs / 1000, ...(options.readBudget ? { readBudget: options.readBudget } : {}) };
      const report = await runResync(ferry.kube, ferry.aws, queue, resyncOptions(config, Date.now()));
      for (const entry of describeResync(report)) log(entry);
    } catch (err) {
      log({ level: 'warn', msg: 'resync failed; next interval retries', error: describeError(err) });
    }
  };
  const timer = setInterval(() => void resync(), options.resyncIntervalMs);
  timer.unref();
  const watcher = options.watch ? watchCluster(kc, queue, ferry.config, log) : undefined;
  await watcher?.started;
  // Catch up before serving: whatever changed while no controller ran is queued now.
  await resync();
  return {
    url: server.url,
    queue,
    stats,
    resync,
    async stop() {
      clearInterval(timer);
      await watcher?.stop();
      await server.close();
      queue.stop();
    },
  };
}
