import { systemClock, type Clock } from './clock';
import { DataPlane, type DataPlaneOptions } from './dataplane';
import { FaultInjector, type FaultControls } from './faults';
import { FIDELITIES, type Fidelity } from './fidelity';
import { EmulatorServer, type RecordedCall } from './server';
import type { ServiceName } from './service';
import { takeSnapshot, type AwsSnapshot } from './snapshot';
import { AwsState } from './state';
import { Throttler, type ThrottlingControls, type ThrottlingOptions } from './throttling';

/**
 * ferry's embedded AWS: one HTTP endpoint speaking EC2 (2016-11-15) and ELBv2
 * (2015-12-01) over the query protocol and SQS (2012-11-05), Secrets Manager
 * (2017-10-17) and the Resource Groups Tagging API (2017-01-26) over the JSON protocols,
 * so the real `@aws-sdk/client-ec2`, `client-elastic-load-balancing-v2`, `client-sqs`,
 * `client-secrets-manager` and `client-resource-groups-tagging-api` clients run against
 * it unchanged. Used by `ferry local`, the test suite and the benchmarks.
 *
 * ```ts
 * const emu = await AwsEmulator.start();
 * const elbv2 = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region: emu.region, credentials });
 * ```
 */
export interface AwsEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default 000000000000. */
  accountId?: string;
  /** Default the system clock; a {@link ManualClock} lets tests move time (SQS visibility, dedup windows). */
  clock?: Clock;
  /**
   * Runs the ELBv2 data plane: NLB listeners accept real connections, health checks
   * decide target health, traffic reaches targets (README "The data plane"). Off by
   * default: DescribeTargetHealth then answers at once and no socket is opened.
   */
  dataPlane?: boolean | DataPlaneOptions;
  /**
   * `aws` (default), `sparse` or `moto`: where moto (LocalStack's EC2/ELBv2 engine) differs
   * from AWS in what it reports or refuses, `moto` reproduces it; `sparse` only leaves unset
   * attributes out of Describe*Attributes as moto does (README "moto / LocalStack fidelity").
   */
  fidelity?: Fidelity;
  /**
   * AWS's request throttling: EC2, ELBv2 and Resource Groups Tagging API calls spend
   * tokens from the account's documented buckets and are refused with
   * `RequestLimitExceeded` / `Throttling` / `ThrottledException` when one is empty (README
   * "Request throttling"). Off by default; `{ scale, clock }` run the buckets on simulated
   * time.
   */
  throttling?: boolean | ThrottlingOptions;
}

export { ManualClock, type Clock } from './clock';
export type { RecordedCall } from './server';
export type { ServiceName } from './service';
export type { AwsSnapshot } from './snapshot';
export type { FaultControls } from './faults';
export type { Fidelity } from './fidelity';
export type {
  BucketCategory,
  BucketStats,
  CallCounts,
  ServiceThrottlingStats,
  ThrottledService,
  ThrottlingControls,
  ThrottlingOptions,
  ThrottlingStats,
} from './throttling';
export type {
  ConnectionEvent,
  DataPlane,
  DataPlaneOptions,
  DropEvent,
  DropReason,
  HealthEvent,
  ListenerInfo,
  NlbNode,
  NodeInfo,
  TargetState,
} from './dataplane';

export interface CallCountFilter {
  mutating?: boolean;
  service?: ServiceName;
  /** Count calls that were answered with an error too (default false: successful calls only). */
  includeFailed?: boolean;
}

export class AwsEmulator {
  private readonly log: RecordedCall[] = [];

  private constructor(
    private readonly server: EmulatorServer,
    private readonly state: AwsState,
    private readonly injector: FaultInjector,
    /** The data plane, when `start({ dataPlane })` asked for one. */
    readonly dataPlane: DataPlane | undefined,
    /**
     * The request buckets' counts and controls, when `start({ throttling })` turned them
     * on; undefined otherwise, so a benchmark that forgot the option fails instead of
     * reporting zero throttled calls.
     */
    readonly throttling: ThrottlingControls | undefined,
  ) {}

  static async start(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
    const state = new AwsState(options.region ?? 'us-east-1', options.accountId ?? '000000000000');
    if (options.fidelity !== undefined && !FIDELITIES.includes(options.fidelity)) throw new TypeError(`fidelity must be one of ${FIDELITIES.join(', ')}; got '${String(options.fidelity)}'`);
    state.fidelity = options.fidelity ?? 'aws';
    const injector = new FaultInjector();
    const dataPlane = options.dataPlane ? new DataPlane(state, options.dataPlane === true ? {} : options.dataPlane) : undefined;
    state.dataPlane = dataPlane?.view;
    const clock = options.clock ?? systemClock;
    const throttler = options.throttling ? new Throttler(clock, options.throttling === true ? {} : options.throttling) : undefined;
    let emulator: AwsEmulator | undefined;
    const server = await EmulatorServer.listen(options.host ?? '127.0.0.1', options.port ?? 0, {
      state,
      faults: injector,
      clock,
      ...(throttler ? { throttling: throttler } : {}),
      record: (call) => {
        emulator?.log.push(call);
        // Before the answer is written, so a caller that created a listener can connect to it next.
        if (call.mutating && (call.service === 'ec2' || call.service === 'elbv2')) dataPlane?.sync();
      },
    });
    emulator = new AwsEmulator(server, state, injector, dataPlane, throttler);
    return emulator;
  }

  get endpoint(): string {
    return this.server.endpoint;
  }

  get region(): string {
    return this.state.region;
  }

  get accountId(): string {
    return this.state.accountId;
  }

  /** Every call answered so far, failed and fault-injected ones included, in arrival order. */
  get calls(): readonly RecordedCall[] {
    return this.log;
  }

  get faults(): FaultControls {
    return this.injector;
  }

  clearCalls(): void {
    this.log.length = 0;
  }

  /** Calls per action (keys sorted), e.g. `{ CreateListener: 2, CreateLoadBalancer: 1 }`. */
  countCalls(filter: CallCountFilter = {}): Record<string, number> {
    const counts = new Map<string, number>();
    for (const call of this.log) {
      if (filter.mutating !== undefined && call.mutating !== filter.mutating) continue;
      if (filter.service !== undefined && call.service !== filter.service) continue;
      if (!filter.includeFailed && call.status !== 200) continue;
      counts.set(call.action, (counts.get(call.action) ?? 0) + 1);
    }
    return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  snapshot(): AwsSnapshot {
    return takeSnapshot(this.state);
  }

  /** Closes the listener and every open connection, ending long polls, and the data plane's sockets; no timers survive it. */
  async close(): Promise<void> {
    await Promise.all([this.server.close(), this.dataPlane?.close()]);
  }
}
