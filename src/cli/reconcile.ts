import { parseArgs } from 'node:util';
import { loadConfig } from '../config/env';
import { ConfigError } from '../errors';
import { formatReport } from '../report/format';
import { connect } from '../wiring/connect';

/** `ferry reconcile <namespace>/<name> [--full]`: one reconcile, with the actions and AWS calls it made. */
export async function reconcileCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { full: { type: 'boolean', default: false } } });
  const key = positionals[0];
  const match = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(key ?? '');
  if (!match || positionals.length !== 1) {
    throw new ConfigError(`ferry reconcile takes one Service as <namespace>/<name>, got ${JSON.stringify(positionals.join(' '))}`);
  }
  const ferry = connect(loadConfig());
  try {
    const report = await ferry.reconciler.reconcile(match[1]!, match[2]!, { full: values.full ?? false });
    console.log(formatReport(report, ferry.aws.calls));
    return report.outcome === 'refused' ? 1 : 0;
  } finally {
    ferry.close();
  }
}
