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

export function lambdaTelemetry(fn: 'webhook' | 'reconciler' | 'resync'): Telemetry {
  const logger = new Logger({ serviceName: `ferry-${fn}` });
  const metrics = new Metrics({ namespace: 'ferry', serviceName: fn });
  return {
    log: ({ level, msg, ...fields }) => logger[level](msg ?? '', fields),
    count(name, value) {
      metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    },
  };
}
