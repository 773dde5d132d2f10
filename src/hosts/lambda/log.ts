/**
 * Structured log lines for CloudWatch. Counters use the Embedded Metric Format, so that a
 * log line is also a CloudWatch metric without any API call from the function.
 */
export function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...entry }));
}

export function metric(fn: string, name: string, value: number, extra: Record<string, unknown> = {}): void {
  console.log(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: 'ferry', Dimensions: [['Function']], Metrics: [{ Name: name, Unit: 'Count' }] }],
      },
      Function: fn,
      [name]: value,
      ...extra,
    }),
  );
}
