import type { AwsState, Target, TargetGroup } from '../state';
import type { AddressBook } from './addresses';
import { probe, type Probe, type ProbeResult, type ProbeSpec } from './probe';
import { egressAllows, ingressAllows } from './security';
import type { Timers } from './timers';
import { flag, listenerFor, loadBalancerOf, targetGroups, targetKey, targetVpcIp, targetZone, type HealthView } from './topology';

/**
 * Active health checks and the target states DescribeTargetHealth reports, per target
 * group and target, following the NLB guide:
 *
 * - A registered target starts `initial` / Elb.RegistrationInProgress. Registration
 *   takes one health check interval (AWS: "it can take a few minutes for the
 *   registration process to complete and health checks to start"); then checks run
 *   every interval and the target is `initial` / Elb.InitialHealthChecking.
 * - "After your target is registered, it must pass one health check to be considered
 *   healthy"; UnhealthyThresholdCount consecutive failures make it `unhealthy`, from
 *   `initial` or `healthy`, and HealthyThresholdCount consecutive successes bring an
 *   unhealthy target back. An unhealthy target's reason is its latest failure.
 * - A deregistered target is `draining` / Target.DeregistrationInProgress for the
 *   whole deregistration delay (AWS shows it draining until the delay ends even when it
 *   has no connection left), then it is gone.
 * - Checks are sent by the load balancer's node in the target's zone (the first node
 *   for a target outside the load balancer's zones) and are subject to the load
 *   balancer's security group outbound rules and the target's inbound rules, on TCP and
 *   the health check port. A dropped check times out.
 */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

export interface TargetRecord {
  readonly key: string;
  readonly targetGroupArn: string;
  readonly target: Target;
  state: TargetState;
  /** Still in Elb.RegistrationInProgress: not yet known to the nodes, so never routed to. */
  registering: boolean;
  reason: string | undefined;
  description: string | undefined;
  successes: number;
  failures: number;
  cancelTimer: () => void;
  probe: Probe | undefined;
}

export interface HealthEvents {
  /** A target changed state (draining included). */
  transition(record: TargetRecord, from: TargetState): void;
  /** A target is forgotten; `terminate` when its connections must be reset (drain end with termination, instance gone). */
  removed(record: TargetRecord, terminate: boolean): void;
}

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  'Elb.RegistrationInProgress': 'Target registration is in progress',
  'Elb.InitialHealthChecking': 'Initial health checks in progress',
  'Target.DeregistrationInProgress': 'Target deregistration is in progress',
  'Target.Timeout': 'Request timed out',
  'Target.FailedHealthChecks': 'Health checks failed',
};

export function recordKey(targetGroupArn: string, target: Pick<Target, 'id' | 'port'>): string {
  return `${targetGroupArn}|${targetKey(target)}`;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.');
}

export class HealthMonitor {
  private readonly records = new Map<string, TargetRecord>();

  constructor(
    private readonly state: AwsState,
    private readonly timers: Timers,
    private readonly addresses: AddressBook,
    private readonly inUse: (tg: TargetGroup, target: Target) => boolean,
    private readonly events: HealthEvents,
  ) {}

  /** Brings the records in line with the registered targets after any change to the world. */
  sync(): void {
    const desired = new Map<string, { tg: TargetGroup; target: Target }>();
    for (const tg of this.state.targetGroups.values()) {
      for (const target of tg.targets.values()) if (this.inUse(tg, target)) desired.set(recordKey(tg.arn, target), { tg, target });
    }
    for (const [key, record] of this.records) {
      if (desired.has(key)) {
        // Registered again while draining: it starts over, its connections untouched.
        if (record.state === 'draining') this.forget(record, false);
        continue;
      }
      if (record.state === 'draining') continue;
      const tg = this.state.targetGroups.get(record.targetGroupArn);
      const stillServed = tg !== undefined && this.state.loadBalancersOf(tg.arn).length > 0;
      if (tg && stillServed && !tg.targets.has(targetKey(record.target))) this.drain(record, tg);
      else this.forget(record, tg !== undefined && stillServed);
    }
    for (const [key, { tg, target }] of desired) if (!this.records.has(key)) this.register(key, tg, target);
  }

  view(tg: TargetGroup, target: Target): HealthView {
    const record = this.records.get(recordKey(tg.arn, target));
    if (!record) return { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: DESCRIPTIONS['Elb.RegistrationInProgress'] };
    return { State: record.state, Reason: record.reason, Description: record.description };
  }

  draining(tg: TargetGroup): Target[] {
    return [...this.records.values()].filter((r) => r.targetGroupArn === tg.arn && r.state === 'draining').map((r) => r.target);
  }

  /** Targets the nodes know: registration complete, not draining. */
  known(targetGroupArn: string): TargetRecord[] {
    return [...this.records.values()].filter((r) => r.targetGroupArn === targetGroupArn && r.state !== 'draining' && !r.registering);
  }

  close(): void {
    for (const record of this.records.values()) this.stop(record);
    this.records.clear();
  }

  private register(key: string, tg: TargetGroup, target: Target): void {
    const record: TargetRecord = {
      key,
      targetGroupArn: tg.arn,
      target,
      state: 'initial',
      registering: true,
      ...this.why('Elb.RegistrationInProgress'),
      successes: 0,
      failures: 0,
      cancelTimer: () => {},
      probe: undefined,
    };
    this.records.set(key, record);
    record.cancelTimer = this.timers.after(tg.healthCheck.intervalSeconds, () => this.check(record));
  }

  private drain(record: TargetRecord, tg: TargetGroup): void {
    this.stop(record);
    const from = record.state;
    record.state = 'draining';
    Object.assign(record, this.why('Target.DeregistrationInProgress'));
    this.events.transition(record, from);
    const delay = Number(tg.attributes.get('deregistration_delay.timeout_seconds') ?? '300');
    // Read when the delay ends: the attribute may change while the target drains.
    const end = (): void => this.forget(record, flag(tg, 'deregistration_delay.connection_termination.enabled'));
    if (delay <= 0) end();
    else record.cancelTimer = this.timers.after(delay, end);
  }

  private forget(record: TargetRecord, terminate: boolean): void {
    this.stop(record);
    if (this.records.get(record.key) === record) this.records.delete(record.key);
    this.events.removed(record, terminate);
  }

  private stop(record: TargetRecord): void {
    record.cancelTimer();
    record.probe?.cancel();
    record.probe = undefined;
  }

  private check(record: TargetRecord): void {
    const tg = this.state.targetGroups.get(record.targetGroupArn);
    if (!tg || this.records.get(record.key) !== record) return;
    record.registering = false;
    if (record.state === 'initial') Object.assign(record, this.why('Elb.InitialHealthChecking'));
    record.cancelTimer = this.timers.after(tg.healthCheck.intervalSeconds, () => this.check(record));
    record.probe?.cancel();
    const spec = this.probeSpec(tg, record.target);
    const current = spec ? probe(spec) : undefined;
    record.probe = current;
    if (!current) return;
    void current.result.then((result) => {
      if (record.probe !== current || this.records.get(record.key) !== record || record.state === 'draining') return;
      record.probe = undefined;
      this.apply(record, tg, result);
    });
  }

  private apply(record: TargetRecord, tg: TargetGroup, result: ProbeResult): void {
    const from = record.state;
    if (result.ok) {
      record.successes += 1;
      record.failures = 0;
      if (from === 'initial' || (from === 'unhealthy' && record.successes >= tg.healthCheck.healthyThreshold)) {
        record.state = 'healthy';
        record.reason = record.description = undefined;
      }
    } else {
      record.failures += 1;
      record.successes = 0;
      if (from === 'unhealthy' || record.failures >= tg.healthCheck.unhealthyThreshold) {
        record.state = 'unhealthy';
        Object.assign(record, this.why(result.reason, result.reason === 'Target.ResponseCodeMismatch' ? `Health checks failed with these codes: [${result.code}]` : undefined));
      }
    }
    if (record.state !== from) this.events.transition(record, from);
  }

  private why(reason: string, description = DESCRIPTIONS[reason]): Pick<TargetRecord, 'reason' | 'description'> {
    return { reason, description };
  }

  private probeSpec(tg: TargetGroup, target: Target): ProbeSpec | undefined {
    const lb = loadBalancerOf(this.state, tg);
    const vpcIp = targetVpcIp(this.state, tg, target);
    if (!lb || vpcIp === undefined || lb.subnets.length === 0) return undefined;
    const zone = targetZone(this.state, tg, target);
    const slots = lb.subnets.map((s) => this.addresses.node(lb, s.subnetId));
    const slot = slots.find((s) => s.node.availabilityZone === zone) ?? slots[0]!;
    const hc = tg.healthCheck;
    const port = hc.port === 'traffic-port' ? target.port : Number(hc.port);
    const guards = targetGroups(this.state, tg, target);
    const lbGroups = lb.securityGroupsEnabled ? lb.securityGroups : [];
    const blocked =
      (lb.securityGroupsEnabled && !egressAllows(this.state, lb.securityGroups, 'tcp', port, { ip: vpcIp, groups: guards ?? [] })) ||
      (guards !== undefined && !ingressAllows(this.state, guards, 'tcp', port, { ip: slot.node.privateIp, groups: lbGroups }));
    const address = this.addresses.localOf(vpcIp);
    return {
      protocol: hc.protocol,
      address,
      port,
      // A loopback source cannot reach a non-loopback address (and the reverse).
      from: isLoopback(slot.address) === isLoopback(address) ? slot.address : undefined,
      path: hc.path ?? '/',
      matcher: hc.matcher ?? '200-399',
      hostHeader: `${slot.node.privateIp}:${listenerFor(this.state, tg)?.port ?? tg.port}`,
      timeoutMs: this.timers.ms(hc.timeoutSeconds),
      proxyProtocol: flag(tg, 'proxy_protocol_v2.enabled'),
      blocked,
    };
  }
}
