/**
 * `npm run bench` sections for the node agent's kernel modes: sync time at scale
 * (nftables, iptables with each backend, and the ruleset kube-proxy's nftables mode
 * writes, for comparison) and first-connection latency through nftables. Both need root
 * (network namespaces); without it they say so instead of measuring.
 */
import { datapathSkipReason } from '../test/agent/datapath/support/netns';
import { measureLatency } from './agent-latency';
import { measureScale, STEPS, type ScaleResult, type SyncTiming } from './agent-sync';
import { measureKubeProxy } from './kube-proxy-scale';
import type { Section } from './section';

const NFT_FULL_TARGET_MS = 2000;
const ONE_SERVICE_TARGET_MS = 50;
const IPTABLES_COLD_TARGET_MS = 10_000;
const LATENCY_RATIO_TARGET = 1.2;
/**
 * Steps that grow beyond these are stopped: iptables-nft-restore --noflush grows
 * quadratically (over 240 s at 10,000 Services), and kube-proxy's ruleset loads in
 * quadratic time too (108 s at 10,000 Services).
 */
const IPTABLES_NFT_STEP_LIMIT_MS = 60_000;
const KUBE_PROXY_STEP_LIMIT_MS = 300_000;

const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
const mib = (kb: number) => (kb === 0 ? '—' : `${(kb / 1024).toFixed(0)} MiB`);

function total(t: SyncTiming): string {
  if (t.timedOut) return `> ${ms(t.totalMs)} (stopped)`;
  return t.runs ? `${ms(t.totalMs)} (median of ${t.runs}; max ${ms(t.maxMs!)})` : ms(t.totalMs);
}

function syncTable(results: ScaleResult[]): string {
  const rows = [
    '| mode | Services × endpoints | sync | total (wall) | render | apply (nft / iptables-restore) | CPU: tools + agent | peak RSS of the tool |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    for (const [step, t] of Object.entries(r.timings)) {
      rows.push(`| ${r.mode} | ${r.services.toLocaleString('en')} × ${r.endpointsPerService} | ${step} | ${total(t)} | ${ms(t.renderMs)} | ${ms(t.applyMs)} | ${ms(t.toolCpuMs)} + ${ms(t.agentCpuMs)} | ${mib(t.peakRssKb)} |`);
    }
  }
  return rows.join('\n');
}

/** ferry's nftables mode against kube-proxy's ruleset, step by step. */
function comparison(results: ScaleResult[]): string {
  const rows = ['| Services × 10 endpoints | step | kube-proxy\'s ruleset | ferry nftables | ferry / kube-proxy |', '|---|---|---:|---:|---:|'];
  for (const services of [10_000, 1000]) {
    const ferry = results.find((r) => r.mode === 'nftables' && r.services === services);
    const kube = results.find((r) => r.mode === 'kube-proxy nftables ruleset' && r.services === services);
    if (!ferry || !kube) continue;
    for (const step of [STEPS.cold, STEPS.restart, STEPS.periodic, STEPS.endpoints]) {
      const k = kube.timings[step];
      const f = ferry.timings[step];
      if (!k || !f) continue;
      const ratio = k.timedOut ? `< ${(f.totalMs / k.totalMs).toFixed(3)}` : (f.totalMs / k.totalMs).toFixed(3);
      rows.push(`| ${services.toLocaleString('en')} | ${step} | ${total(k)} | ${ms(f.totalMs)} | ${ratio} |`);
    }
    const peak = (r: ScaleResult) => Math.max(...Object.values(r.timings).map((t) => t.peakRssKb));
    // A process killed at the time limit reports no peak.
    const kubePeak = kube.timings[STEPS.cold]?.timedOut ? 'not measured (stopped)' : mib(peak(kube));
    rows.push(`| ${services.toLocaleString('en')} | peak nft memory (RSS) | ${kubePeak} | ${mib(peak(ferry))} | ${kube.timings[STEPS.cold]?.timedOut ? '—' : (peak(ferry) / peak(kube)).toFixed(2)} |`);
  }
  return rows.join('\n');
}

function verdicts(results: ScaleResult[]): string {
  const check = (label: string, t: SyncTiming | undefined, target: number) =>
    t === undefined ? '' : `- ${label}: **${t.timedOut ? `> ${ms(t.totalMs)}` : ms(t.totalMs)}** (${!t.timedOut && t.totalMs <= target ? 'within' : 'OVER'} the ${ms(target)} target)`;
  const nft10k = results.find((r) => r.mode === 'nftables' && r.services === 10_000);
  const lines = ['Targets at 10,000 Services × 10 endpoints:'];
  if (nft10k) {
    lines.push(
      check('nftables, full sync, cold', nft10k.timings[STEPS.cold], NFT_FULL_TARGET_MS),
      check('nftables, full sync after a restart', nft10k.timings[STEPS.restart], NFT_FULL_TARGET_MS),
      check('nftables, full sync after a restart with one Service changed meanwhile', nft10k.timings[STEPS.restartChanged], NFT_FULL_TARGET_MS),
      check('nftables, one-Service change (endpoints replaced, median)', nft10k.timings[STEPS.endpoints], ONE_SERVICE_TARGET_MS),
      check('nftables, one-Service change (Service deleted, median)', nft10k.timings[STEPS.deleted], ONE_SERVICE_TARGET_MS),
    );
  }
  for (const mode of ['iptables-legacy', 'iptables-nft'] as const) {
    const r = results.find((x) => x.mode === mode && x.services === 10_000);
    if (r) lines.push(check(`${mode}, full sync, cold`, r.timings[STEPS.cold], IPTABLES_COLD_TARGET_MS));
  }
  return lines.filter(Boolean).join('\n');
}

export const sections: Section[] = [
  {
    name: 'agent-sync',
    title: 'Node agent: sync time at 1,000 and 10,000 Services × 10 endpoints (real kernel, scratch namespace)',
    async run() {
      const reason = datapathSkipReason(['nft', 'iptables-legacy-restore', 'iptables-nft-restore', '/usr/bin/time', 'timeout']);
      if (reason) return `Not measured: ${reason}.`;
      const results: ScaleResult[] = [];
      for (const services of [1000, 10_000]) results.push(await measureScale('nftables', services));
      for (const services of [1000, 10_000]) results.push(await measureScale('iptables-legacy', services));
      for (const services of [1000, 10_000]) results.push(await measureScale('iptables-nft', services, 10, IPTABLES_NFT_STEP_LIMIT_MS));
      for (const services of [1000, 10_000]) results.push(await measureKubeProxy(services, 10, KUBE_PROXY_STEP_LIMIT_MS));
      return [
        syncTable(results),
        "ferry's nftables mode against the ruleset kube-proxy's nftables mode writes (generated in the shape of the expected output of kube-proxy's `pkg/proxy/nftables/proxier_test.go`; bench/kube-proxy-ruleset.ts), loaded with nft 1.0.x in the same run. For kube-proxy the restart and the periodic full sync are the same transaction (every chain and map flushed and refilled):",
        comparison(results),
        verdicts(results),
      ].join('\n\n');
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
