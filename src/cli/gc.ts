import { Command } from '@commander-js/extra-typings';
import { runCommand } from '../agent/options';
import { environment, RECONCILER_VARIABLES } from './environment';

/* eslint-disable @typescript-eslint/no-require-imports -- the reconciler is loaded when the command runs, so that --help and usage errors answer at once */

/** `ferry gc`: delete this cluster's orphaned load balancers, target groups and security groups. */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry gc')
      .description(
        "Delete this cluster's orphaned load balancers, target groups and security groups: those tagged with this cluster whose Service is gone or no longer wants one. Exits 1 when any could not be collected.",
      )
      .addHelpText('after', environment(...RECONCILER_VARIABLES))
      .action(async () => exit(await gc())),
  );
}

async function gc(): Promise<number> {
  const { loadConfig } = require('../config/env') as typeof import('../config/env');
  const config = loadConfig();
  const { connect } = require('../wiring/connect') as typeof import('../wiring/connect');
  const { collectGarbage } = require('../reconcile/gc') as typeof import('../reconcile/gc');
  const { formatCalls } = require('../report/format') as typeof import('../report/format');
  const ferry = connect(config);
  try {
    const report = await collectGarbage(ferry.kube, ferry.aws, ferry.config);
    for (const s of report.services) {
      console.log(`${s.service}: ${s.error ? `not collected — ${s.error}` : `collected`}`);
      for (const d of s.deleted) console.log(`  ${d}`);
    }
    if (report.services.length === 0) console.log('no orphaned resources');
    console.log(formatCalls(ferry.aws.calls));
    return report.services.some((s) => s.error) ? 1 : 0;
  } finally {
    ferry.close();
  }
}
