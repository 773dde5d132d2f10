import { buildModel } from '../../../src/model/build';
import { deepCheckReads, scheduleDeepChecks } from '../../../src/plan/budget';
import { CLUSTER, newNodes, newService, svc } from '../../support/fixtures';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';
const fleet = (n: number, reads = 9) => Array.from({ length: n }, (_, i) => ({ key: `ns-${i % 37}/svc-${i}`, reads }));

describe('deep-check reads', () => {
  test('a two-port Service: 9 ELBv2 reads (the NLB, its groups, attributes, listeners, tags, 2 × group attributes and health)', () => {
    expect(deepCheckReads(buildModel(newService('web'), newNodes(3), CLUSTER).loadBalancer!)).toBe(9);
  });

  test('TLS listeners and listener attributes cost one read each', () => {
    const spec = buildModel(
      newService('web', svc.annotate({ 'ferry.io/ssl-cert': CERT, 'ferry.io/ssl-ports': '443', 'ferry.io/listener-attributes': 'tcp.idle_timeout.seconds=900' })),
      newNodes(3),
      CLUSTER,
    ).loadBalancer!;
    // 9, plus the TLS listener's certificates, plus the TCP listener's attributes.
    expect(deepCheckReads(spec)).toBe(11);
  });
});

describe('the deep-check schedule', () => {
  const input = { budget: 1, intervalSeconds: 300 };

  test('a window long enough for the fleet at the budget, and every Service exactly once in it', () => {
    const services = fleet(1000);
    const first = scheduleDeepChecks({ ...input, services, interval: 0 });
    // 9,000 reads at 1 read/s: 30 intervals of 300 s.
    expect(first.intervals).toBe(30);
    expect(first.windowSeconds).toBe(9000);
    const seen = new Map<string, number>();
    let reads = 0;
    for (let interval = 0; interval < first.intervals; interval++) {
      const s = scheduleDeepChecks({ ...input, services, interval });
      for (const d of s.due) seen.set(d.key, (seen.get(d.key) ?? 0) + 1);
      reads += s.reads;
    }
    expect(seen.size).toBe(1000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    // The fleet's average over the window is within the budget.
    expect(reads / first.windowSeconds).toBeLessThanOrEqual(input.budget);
  });

  test('the next window deals the same Services to the same intervals, whichever host computes it', () => {
    const services = fleet(500);
    const a = scheduleDeepChecks({ ...input, services, interval: 7 });
    const b = scheduleDeepChecks({ ...input, services: [...services].reverse(), interval: 7 + a.intervals });
    expect(b.due.map((d) => d.key)).toEqual(a.due.map((d) => d.key));
  });

  test('within an interval the checks are spread at the budget, never beyond the interval or the queue delay limit', () => {
    const s = scheduleDeepChecks({ ...input, services: fleet(1000), interval: 3, maxDelaySeconds: 900 });
    const delays = s.due.map((d) => d.delaySeconds);
    expect(delays[0]).toBe(0);
    expect([...delays].sort((x, y) => x - y)).toEqual(delays);
    expect(Math.max(...delays)).toBeLessThan(300);
    // One check of 9 reads every 9 s (or a little faster when hashing dealt this interval more).
    for (let i = 1; i < delays.length; i++) expect(delays[i]! - delays[i - 1]!).toBeLessThanOrEqual(9);
    expect(delays[delays.length - 1]).toBeGreaterThan(200);
  });

  test('a small fleet is checked whole every interval', () => {
    const s = scheduleDeepChecks({ ...input, services: fleet(10), interval: 12 });
    expect(s).toMatchObject({ intervals: 1, windowSeconds: 300, reads: 90 });
    expect(s.due).toHaveLength(10);
  });
});
