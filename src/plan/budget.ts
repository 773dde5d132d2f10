import { digest } from '../util/hash';
import type { LoadBalancerSpec } from '../model/types';

/**
 * The ELBv2 reads of one deep check of a converged Service (a full reconcile finding nothing
 * to do): the NLB by name, its target groups, its attributes, its listeners, the tags of both
 * (20 ARNs per call), each group's attributes and health, and per listener what only a
 * listener call shows (TLS certificates, listener attributes).
 */
export function deepCheckReads(spec: LoadBalancerSpec): number {
  const groups = spec.targetGroups.length;
  const tls = spec.listeners.filter((l) => l.protocol === 'TLS').length;
  const withAttributes = spec.listeners.filter((l) => Object.keys(l.attributes).length > 0).length;
  return 4 + Math.ceil((1 + groups) / 20) + 2 * groups + tls + withAttributes;
}

export interface DeepCheckSchedule {
  /** How many resync intervals one window spans: each Service is checked once per window. */
  intervals: number;
  windowSeconds: number;
  /** This interval's share, each with the delay that spreads the reads over the interval. */
  due: Array<{ key: string; delaySeconds: number }>;
  /** ELBv2 reads this interval's checks cost. */
  reads: number;
}

export interface ScheduleInput {
  /** Every converged Service with the reads its deep check costs. */
  services: ReadonlyArray<{ key: string; reads: number }>;
  /** ELBv2 reads per second the deep checks may average. */
  budget: number;
  intervalSeconds: number;
  /** Which interval this is: floor(now / interval), the same in every host. */
  interval: number;
  /** The longest delay the queue can hold a message back (SQS: 900 s). */
  maxDelaySeconds?: number;
}

/**
 * Spreads the deep checks so that the fleet's average stays inside the budget: a window of
 * as many intervals as the fleet's reads need at that rate, each Service in the interval its
 * key hashes to (the same in every run, so each is checked exactly once per window whatever
 * host runs the resync), and within the interval one check after another at the budget's
 * pace. Pure; the delays are carried by the queue (SQS DelaySeconds), so the pace holds
 * across however many Lambda invocations run the checks.
 */
export function scheduleDeepChecks(input: ScheduleInput): DeepCheckSchedule {
  const total = input.services.reduce((n, s) => n + s.reads, 0);
  const perInterval = input.budget * input.intervalSeconds;
  const intervals = Math.max(1, Math.ceil(total / perInterval));
  const slot = ((input.interval % intervals) + intervals) % intervals;
  const due = input.services.filter((s) => slotOf(s.key, intervals) === slot).sort((a, b) => (a.key < b.key ? -1 : 1));
  const reads = due.reduce((n, s) => n + s.reads, 0);
  // Hashing spreads Services evenly only on average: an interval dealt more than its share
  // goes a little faster rather than spill into the next one.
  const rate = Math.max(input.budget, reads / input.intervalSeconds);
  const cap = Math.min(input.maxDelaySeconds ?? Infinity, input.intervalSeconds);
  let spent = 0;
  return {
    intervals,
    windowSeconds: intervals * input.intervalSeconds,
    reads,
    due: due.map((s) => {
      const delaySeconds = Math.min(cap, Math.floor(spent / rate));
      spent += s.reads;
      return { key: s.key, delaySeconds };
    }),
  };
}

function slotOf(key: string, intervals: number): number {
  return Number.parseInt(digest(key).slice(0, 12), 16) % intervals;
}
