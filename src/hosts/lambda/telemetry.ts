import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log } from '../../util/log';

/**
 * The functions' logs and metrics through Powertools for AWS Lambda: structured JSON lines
 * for CloudWatch Logs, and metrics in the Embedded Metric Format (a log line that CloudWatch
 * turns into a metric, with no API call from the function), namespace `ferry`, dimension
 * `service` = the function.
 */
export interface Telemetry {
  log: Log;
  /** Adds one count to `name` and publishes it at once (the invocation may be the last). */
  count(name: string, value: number): void;
}

/** Keys Powertools' Logger writes itself and drops from the fields (with a warning). */
const RESERVED = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp', 'xray_trace_id', 'cold_start', 'function_arn', 'function_memory_size', 'function_name', 'function_request_id']);

/** ferry's `service` is a Kubernetes Service: kept as `k8s_service` rather than lost. */
function unreserved(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [RESERVED.has(k) ? `k8s_${k}` : k, v]));
}

export function lambdaTelemetry(fn: 'webhook' | 'reconciler' | 'resync'): Telemetry {
  const logger = new Logger({ serviceName: `ferry-${fn}` });
  const metrics = new Metrics({ namespace: 'ferry', serviceName: fn });
  return {
    log: ({ level, msg, ...fields }) => logger[level](msg ?? '', unreserved(fields)),
    count(name, value) {
      metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    },
  };
}
