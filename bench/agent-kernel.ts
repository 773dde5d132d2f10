/**
 * `npm run bench` sections for the node agent's kernel modes: sync time at scale
 * (nftables and iptables) and first-connection latency through nftables. Both need root
 * (network namespaces); without it they say so instead of measuring.
 */
import { datapathSkipReason } from '../test/agent/datapath/support/netns';
import { measureLatency } from './agent-latency';
import { measureScale, type ScaleResult } from './agent-sync';
import type { Section } from './section';

const FULL_TARGET_MS = 2000;
const ONE_SERVICE_TARGET_MS = 50;
const LATENCY_RATIO_TARGET = 1.2;
/** iptables-nft-restore grows quadratically with --noflush; beyond this a step is stopped. */
const IPTABLES_STEP_LIMIT_MS = 240_000;

const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);

function syncTable(results: ScaleResult[]): string {
  const rows = ['| mode | Services × endpoints | sync | total | render | apply (nft / iptables-restore / listing) |', '|---|---:|---|---:|---:|---:|'];
  for (const r of results) {
    for (const [step, t] of Object.entries(r.timings)) {
      const total = t.timedOut ? `> ${ms(t.totalMs)} (stopped)` : t.runs ? `${ms(t.totalMs)} (median of ${t.runs}; max ${ms(t.maxMs!)})` : ms(t.totalMs);
      rows.push(`| ${r.mode} | ${r.services.toLocaleString('en')} × ${r.endpointsPerService} | ${step} | ${total} | ${ms(t.renderMs)} | ${ms(t.applyMs)} |`);
    }
  }
  return rows.join('\n');
}

function verdicts(results: ScaleResult[]): string {
  const nft10k = results.find((r) => r.mode === 'nftables' && r.services === 10_000);
  if (!nft10k) return '';
  const check = (label: string, value: number | undefined, target: number) =>
    value === undefined ? '' : `- ${label}: **${ms(value)}** (${value <= target ? 'within' : 'OVER'} the ${ms(target)} target)`;
  return [
    'Targets (nftables, 10,000 Services × 10 endpoints):',
    check('full sync, periodic', nft10k.timings['full sync, periodic (same process)']?.totalMs, FULL_TARGET_MS),
    check('full sync, periodic, deleting the tombstones of 9 Services', nft10k.timings['full sync, periodic, after the deletions']?.totalMs, FULL_TARGET_MS),
    check('full sync, cold', nft10k.timings['full sync, cold (empty kernel)']?.totalMs, FULL_TARGET_MS),
    check('full sync after a restart', nft10k.timings['full sync after a restart (rules present)']?.totalMs, FULL_TARGET_MS),
    check('one-Service change (endpoints replaced, median)', nft10k.timings['one Service: endpoints replaced']?.totalMs, ONE_SERVICE_TARGET_MS),
    check('one-Service change (Service deleted, median)', nft10k.timings['one Service: deleted']?.totalMs, ONE_SERVICE_TARGET_MS),
  ]
    .filter(Boolean)
    .join('\n');
}

export const sections: Section[] = [
  {
    name: 'agent-sync',
    title: 'Node agent: sync time at 1,000 and 10,000 Services × 10 endpoints (real kernel, scratch namespace)',
    async run() {
      const reason = datapathSkipReason(['nft', 'iptables-restore']);
      if (reason) return `Not measured: ${reason}.`;
      const results: ScaleResult[] = [];
      for (const services of [1000, 10_000]) results.push(await measureScale('nftables', services));
      for (const services of [1000, 10_000]) results.push(await measureScale('iptables', services, 10, IPTABLES_STEP_LIMIT_MS));
      return [syncTable(results), verdicts(results)].join('\n\n');
    },
  },
  {
    name: 'agent-latency',
    title: 'Node agent: first-connection latency through nftables, 100 vs 10,000 Services',
    async run() {
      const reason = datapathSkipReason(['nft']);
      if (reason) return `Not measured: ${reason}.`;
      const [small, large] = await measureLatency([100, 10_000], 3000, 2);
      const ratio = large!.p50Ms / small!.p50Ms;
      const rows = ['| Services | samples | p50 | p99 |', '|---:|---:|---:|---:|', ...[small!, large!].map((r) => `| ${r.services.toLocaleString('en')} | ${r.samples} | ${r.p50Ms.toFixed(3)} ms | ${r.p99Ms.toFixed(3)} ms |`)];
      return [
        rows.join('\n'),
        `Connect + first byte from a client namespace through a ClusterIP to a TCP echo pod, sequential connections, two interleaved rounds. p50 at 10,000 is **${ratio.toFixed(2)}×** p50 at 100 (${ratio <= LATENCY_RATIO_TARGET ? 'within' : 'OVER'} the ${LATENCY_RATIO_TARGET}× target).`,
      ].join('\n\n');
    },
  },
];
