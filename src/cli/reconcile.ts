import { Argument, Command } from '@commander-js/extra-typings';
import { runCommand } from '../agent/options';
import { ConfigError } from '../errors';
import { environment, RECONCILER_VARIABLES } from './environment';

/* eslint-disable @typescript-eslint/no-require-imports -- the reconciler is loaded when the command runs, so that --help and usage errors answer at once */

/** `ferry reconcile <namespace>/<name> [--full]`: one reconcile, with the actions and AWS calls it made. */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry reconcile')
      .description(
        "Reconcile one Service into its load balancer now, and print the actions and the AWS calls it made. A Service whose inputs have not changed since its last reconcile costs no AWS call; --full compares everything with AWS using read calls only.",
      )
      .addArgument(new Argument('<service>', 'the Service, as <namespace>/<name>').argParser(serviceKey))
      .option('--full', 'skip the checkpoint: compare everything with AWS (read calls only)')
      .addHelpText('after', environment(...RECONCILER_VARIABLES))
      .action(async ([namespace, name], { full }) => exit(await reconcile(namespace, name, full ?? false))),
  );
}

function serviceKey(text: string): [string, string] {
  const match = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(text);
  if (!match) throw new ConfigError(`<service> ${JSON.stringify(text)} is invalid; accepted: <namespace>/<name> such as default/web`);
  return [match[1]!, match[2]!];
}

async function reconcile(namespace: string, name: string, full: boolean): Promise<number> {
  const { loadConfig } = require('../config/env') as typeof import('../config/env');
  const config = loadConfig();
  const { connect } = require('../wiring/connect') as typeof import('../wiring/connect');
  const { formatReport } = require('../report/format') as typeof import('../report/format');
  const ferry = connect(config);
  try {
    const report = await ferry.reconciler.reconcile(namespace, name, { full });
    console.log(formatReport(report, ferry.aws.calls));
    return report.outcome === 'refused' ? 1 : 0;
  } finally {
    ferry.close();
  }
}
