import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

/**
 * The two SDK clients ferry uses, sharing one retry policy and one call counter.
 *
 * Throttling is retried by the SDK's standard strategy with ferry's backoff (exponential with
 * full jitter, capped); only after `maxAttempts` does an error reach the reconcile, which then
 * fails as a whole and is retried by its host.
 */
export interface AwsClients {
  ec2: EC2Client;
  elbv2: ElasticLoadBalancingV2Client;
  calls: CallCounter;
}

export interface AwsClientOptions {
  region: string;
  /** LocalStack or the embedded emulator; unset for AWS itself. */
  endpoint?: string;
  /** Attempts per call, the first included. */
  maxAttempts?: number;
  /** First backoff step; each retry doubles it up to `maxBackoffMs`. */
  backoffBaseMs?: number;
  maxBackoffMs?: number;
}

/** Counts calls by operation (once per call) and attempts (once per HTTP request, retries included). */
export class CallCounter {
  readonly calls = new Map<string, number>();
  readonly attempts = new Map<string, number>();

  byOperation(): Record<string, number> {
    return Object.fromEntries([...this.calls].sort(([a], [b]) => a.localeCompare(b)));
  }

  total(): number {
    let n = 0;
    for (const v of this.calls.values()) n += v;
    return n;
  }

  retries(): number {
    let n = 0;
    for (const [op, v] of this.attempts) n += v - (this.calls.get(op) ?? 0);
    return n;
  }

  reset(): void {
    this.calls.clear();
    this.attempts.clear();
  }
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const base = options.backoffBaseMs ?? 100;
  const cap = options.maxBackoffMs ?? 20_000;
  const shared = {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // An emulator or LocalStack takes any credentials; without this the SDK's default chain
    // would probe the instance metadata service and stall for seconds.
    ...(options.endpoint && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
      : {}),
    retryStrategy: new ConfiguredRetryStrategy(options.maxAttempts ?? 8, (attempt: number) =>
      Math.round(Math.random() * Math.min(cap, base * 2 ** attempt)),
    ),
  };
  const calls = new CallCounter();
  const ec2 = new EC2Client(shared);
  const elbv2 = new ElasticLoadBalancingV2Client(shared);
  count(ec2, calls);
  count(elbv2, calls);
  return { ec2, elbv2, calls };
}

type Handler = (args: unknown) => Promise<unknown>;
interface AnyStack {
  add(
    middleware: (next: Handler, context: { commandName?: string }) => Handler,
    options: { step: 'initialize' | 'deserialize'; name: string },
  ): void;
}

function count(client: EC2Client | ElasticLoadBalancingV2Client, counter: CallCounter): void {
  const stack = client.middlewareStack as unknown as AnyStack;
  const bump = (map: Map<string, number>, op: string) => map.set(op, (map.get(op) ?? 0) + 1);
  const wrap = (map: Map<string, number>) => (next: Handler, context: { commandName?: string }) =>
    (args: unknown) => {
      bump(map, (context.commandName ?? 'Unknown').replace(/Command$/, ''));
      return next(args);
    };
  // initialize runs once per call; deserialize sits inside the retry loop, so once per attempt.
  stack.add(wrap(counter.calls), { step: 'initialize', name: 'ferryCallCounter' });
  stack.add(wrap(counter.attempts), { step: 'deserialize', name: 'ferryAttemptCounter' });
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.ec2.destroy();
  clients.elbv2.destroy();
}
