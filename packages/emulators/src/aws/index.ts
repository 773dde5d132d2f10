import { systemClock, type Clock } from './clock';
import { FaultInjector, type FaultControls } from './faults';
import { EmulatorServer, type RecordedCall } from './server';
import type { ServiceName } from './service';
import { takeSnapshot, type AwsSnapshot } from './snapshot';
import { AwsState } from './state';

/**
 * ferry's embedded AWS: one HTTP endpoint speaking EC2 (2016-11-15) and ELBv2
 * (2015-12-01) over the query protocol and SQS (2012-11-05) and Secrets Manager
 * (2017-10-17) over the JSON protocols, so the real `@aws-sdk/client-ec2`,
 * `client-elastic-load-balancing-v2`, `client-sqs` and `client-secrets-manager` clients
 * run against it unchanged. Used by `ferry local`, the test suite and the benchmarks.
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
}

export { ManualClock, type Clock } from './clock';
export type { RecordedCall } from './server';
export type { ServiceName } from './service';
export type { AwsSnapshot } from './snapshot';
export type { FaultControls } from './faults';

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
  ) {}

  static async start(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
    const state = new AwsState(options.region ?? 'us-east-1', options.accountId ?? '000000000000');
    const injector = new FaultInjector();
    let emulator: AwsEmulator | undefined;
    const server = await EmulatorServer.listen(options.host ?? '127.0.0.1', options.port ?? 0, {
      state,
      faults: injector,
      clock: options.clock ?? systemClock,
      record: (call) => emulator?.log.push(call),
    });
    emulator = new AwsEmulator(server, state, injector);
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

  /** Closes the listener and every open connection, ending long polls; no timers survive it. */
  async close(): Promise<void> {
    await this.server.close();
  }
}
