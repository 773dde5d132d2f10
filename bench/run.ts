import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { measureBuildAndPlan } from './build-plan';
import { formatCallsTable, measureReconcileCalls } from './reconcile-calls';
import type { Section } from './section';
import { sections as serverless } from './serverless';
import { sections as agentKernel } from './agent-kernel';
import { sections as agentUserspace } from './agent-userspace';

/**
 * `npm run bench`: measures, prints, and records the figures in bench/results.md.
 * `npm run bench -- <section>…` runs only the named sections.
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
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const chosen = wanted.length > 0 ? sections.filter((s) => wanted.includes(s.name)) : sections;
  const out = [
    '# ferry benchmarks',
    '',
    `Recorded by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: Node.js ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}.`,
  ];
  for (const section of chosen) {
    process.stdout.write(`\n== ${section.title}\n`);
    const text = await section.run();
    console.log(text);
    out.push('', `## ${section.title}`, '', text);
  }
  if (wanted.length === 0) {
    writeFileSync(join(__dirname, 'results.md'), `${out.join('\n')}\n`);
    console.log('\nrecorded in bench/results.md');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
