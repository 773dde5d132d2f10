import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { measureBuildAndPlan } from './build-plan';
import { formatCallsTable, measureReconcileCalls } from './reconcile-calls';
import type { Section } from './section';
import { sections as serverless } from './serverless';
import { sections as agentKernel } from './agent-kernel';
import { sections as agentUserspace } from './agent-userspace';
import { sections as startup } from './startup';
import { sections as local } from './local';
import { sections as fleet } from './fleet';

/**
 * `npm run bench`: measures, prints, and records the figures in bench/results.md.
 * `npm run bench -- <section>…` runs only the named sections, and replaces just those
 * sections in bench/results.md (the others keep their last recorded figures).
 */

// Benchmarks run on Node 20 by design; the SDK's "Node 22 from 2027" notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const sections: Section[] = [
  {
    name: 'calls',
    title: 'AWS calls per reconcile (two-port Service)',
    async run() {
      return formatCallsTable(await measureReconcileCalls());
    },
  },
  {
    name: 'plan',
    title: 'Build and plan 1,000 Services on 100 nodes (CPU time)',
    async run() {
      const r = measureBuildAndPlan();
      const verdict = r.cpuMs < 1000 ? 'within' : 'OVER';
      return [
        `${r.services} Services × ${r.nodes} nodes → ${r.actions} planned actions`,
        `CPU time (median of ${r.runs.length} runs): **${r.cpuMs.toFixed(0)} ms** (${verdict} the 1,000 ms target); runs: ${r.runs.map((t) => t.toFixed(0)).join(', ')} ms`,
      ].join('\n\n');
    },
  },
  ...serverless,
  ...agentKernel,
  ...agentUserspace,
  ...startup,
  ...local,
  ...fleet,
];

const RESULTS = join(__dirname, 'results.md');

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !sections.some((s) => s.name === w));
  if (unknown.length > 0) {
    console.error(`bench: unknown section ${unknown.join(', ')}; sections: ${sections.map((s) => s.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const chosen = wanted.length > 0 ? sections.filter((s) => wanted.includes(s.name)) : sections;
  let recorded = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# ferry benchmarks\n';
  for (const section of chosen) {
    process.stdout.write(`\n== ${section.title}\n`);
    const text = await section.run();
    console.log(text);
    recorded = withSection(recorded, section, text);
  }
  recorded = recorded.replace(/^Recorded by .*$/m, `Recorded by \`npm run bench\` (each section when it last ran; the newest on ${new Date().toISOString().slice(0, 10)}): Node.js ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}.`);
  writeFileSync(RESULTS, recorded);
  console.log(`\nrecorded in bench/results.md: ${chosen.map((s) => s.name).join(', ')}`);
}

/** results.md with one section's text replaced (or appended), in the order of `sections`. */
function withSection(recorded: string, section: Section, text: string): string {
  const parts = recorded.split(/^(?=## )/m);
  const header = parts[0]!.startsWith('## ') ? '# ferry benchmarks\n\nRecorded by\n\n' : parts.shift()!;
  const byTitle = new Map(parts.map((p) => [p.slice(3, p.indexOf('\n')).trim(), p]));
  byTitle.set(section.title, `## ${section.title}\n\n${text.trim()}\n\n`);
  const known = sections.map((s) => s.title).filter((t) => byTitle.has(t));
  const rest = [...byTitle.keys()].filter((t) => !known.includes(t));
  return `${header}${[...known, ...rest].map((t) => byTitle.get(t)!).join('')}`.replace(/\n+$/, '\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
