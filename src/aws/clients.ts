import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { backoffDelay } from '../util/backoff';
import { limiter, type Limiter } from '../util/limit';
import { isThrottling } from './errors';
import { ec2Sdk, taggingSdk } from './lazy-sdk';

/**
 * The SDK clients ferry uses, sharing one retry policy and one call counter.
 *
 * Throttling is retried by the SDK's standard strategy with ferry's backoff (exponential with
 * full jitter, capped); only after `maxAttempts` does an error reach the reconcile, which then
 * fails as a whole and is retried by its host.
 */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** The Resource Groups Tagging API: the sweep's one look at everything ferry tagged. */
  readonly tagging: ResourceGroupsTaggingAPIClient;
  readonly calls: CallCounter;
  /**
   * The same clients for one unit of work (a reconcile, a gc run): at most `concurrency` AWS
   * calls in flight at once, and none once `signal` has aborted (an in-flight call is
   * aborted with it). The limit wraps each call, never the code that makes one, so nested
   * fan-outs (target groups behind load balancers behind names) cannot wait on themselves.
   */
  scoped(scope: CallScope): AwsClients;
  /** Closes the clients' connections. */
  destroy(): void;
}

export interface CallScope {
  concurrency: number;
  signal?: AbortSignal;
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
  /** Attempts AWS answered with throttling, ever (not reset): a reconcile compares before and after. */
  throttledAttempts = 0;

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
      backoffDelay({ baseMs: base, maxMs: cap, jitter: true }, attempt + 1),
    ),
  };
  const calls = new CallCounter();
  const elbv2 = new ElasticLoadBalancingV2Client(shared);
  count(elbv2, calls);
  let ec2: EC2Client | undefined;
  let tagging: ResourceGroupsTaggingAPIClient | undefined;
  const clients: AwsClients = {
    elbv2,
    calls,
    // Made on first use, see ec2Sdk().
    get ec2() {
      if (!ec2) {
        ec2 = new (ec2Sdk().EC2Client)(shared);
        count(ec2, calls);
      }
      return ec2;
    },
    get tagging() {
      if (!tagging) {
        tagging = new (taggingSdk().ResourceGroupsTaggingAPIClient)(shared);
        count(tagging, calls);
      }
      return tagging;
    },
    scoped: (scope) => scopedClients(clients, scope),
    destroy() {
      ec2?.destroy();
      tagging?.destroy();
      elbv2.destroy();
    },
  };
  return clients;
}

function scopedClients(base: AwsClients, scope: CallScope): AwsClients {
  const limit = limiter(scope.concurrency);
  const elbv2 = scopedClient(base.elbv2, limit, scope.signal);
  let ec2: EC2Client | undefined;
  let tagging: ResourceGroupsTaggingAPIClient | undefined;
  return {
    elbv2,
    calls: base.calls,
    get ec2() {
      ec2 ??= scopedClient(base.ec2, limit, scope.signal);
      return ec2;
    },
    get tagging() {
      tagging ??= scopedClient(base.tagging, limit, scope.signal);
      return tagging;
    },
    scoped: (inner) => scopedClients(base, inner),
    // The connections belong to the base clients.
    destroy: () => undefined,
  };
}

type Send = (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;

/**
 * The client with `send` under the limit and the signal. A Proxy rather than a wrapper
 * object, so the SDK's paginators (which check `instanceof` the client class) still take it.
 */
function scopedClient<C extends object>(client: C, limit: Limiter, signal: AbortSignal | undefined): C {
  const send = (client as unknown as { send: Send }).send.bind(client);
  const limitedSend: Send = (command, options) =>
    limit(() => {
      signal?.throwIfAborted();
      return send(command, signal ? { ...options, abortSignal: signal } : options);
    });
  return new Proxy(client, {
    get: (target, property, receiver) => (property === 'send' ? limitedSend : Reflect.get(target, property, receiver)),
  });
}

type Handler = (args: unknown) => Promise<unknown>;
interface AnyStack {
  add(
    middleware: (next: Handler, context: { commandName?: string }) => Handler,
    options: { step: 'initialize' | 'deserialize'; name: string },
  ): void;
}

function count(client: EC2Client | ElasticLoadBalancingV2Client | ResourceGroupsTaggingAPIClient, counter: CallCounter): void {
  const stack = client.middlewareStack as unknown as AnyStack;
  const bump = (map: Map<string, number>, op: string) => map.set(op, (map.get(op) ?? 0) + 1);
  const wrap = (map: Map<string, number>) => (next: Handler, context: { commandName?: string }) =>
    (args: unknown) => {
      bump(map, (context.commandName ?? 'Unknown').replace(/Command$/, ''));
      return next(args);
    };
  const attempts = wrap(counter.attempts);
  const throttles = (next: Handler, context: { commandName?: string }) => {
    const counted = attempts(next, context);
    return async (args: unknown) => {
      try {
        return await counted(args);
      } catch (err) {
        if (isThrottling(err)) counter.throttledAttempts++;
        throw err;
      }
    };
  };
  // initialize runs once per call; deserialize sits inside the retry loop, so once per attempt.
  stack.add(wrap(counter.calls), { step: 'initialize', name: 'ferryCallCounter' });
  stack.add(throttles, { step: 'deserialize', name: 'ferryAttemptCounter' });
}
