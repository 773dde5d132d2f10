/**
 * `ferry agent …`: read the flags, then either clean up (`--cleanup`) or run the agent until
 * SIGTERM/SIGINT. Thin: the work is in run.ts and modes.ts.
 *
 * This file is also the agent's own entry point (`node dist/agent/cli.js …`, the image's
 * ENTRYPOINT; `tsx src/agent/cli.ts …` in the datapath tests): started so, it loads the
 * agent alone, not the `ferry` command table.
 */
import { describeError } from '../errors';
import { agentCommand, resolveAgentOptions, runCommand, type ResolvedOptions } from './options';

/* eslint-disable @typescript-eslint/no-require-imports -- the agent is loaded when it runs, so that --help and usage errors answer at once */

const NAME = 'ferry agent';

/** Runs `ferry agent` with these arguments; resolves to the exit code (2 for a usage or configuration error). */
export function runAgentCommand(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) => {
    const command = agentCommand(NAME);
    return command.action(async () => exit(await run(resolveAgentOptions(command))));
  });
}

async function run({ options, warnings, sources }: ResolvedOptions): Promise<number> {
  const { createLogger, pinoLog } = require('../util/log') as typeof import('../util/log');
  const { cleanupAll } = require('./modes') as typeof import('./modes');
  const { startAgent } = require('./run') as typeof import('./run');
  const logger = createLogger('agent');
  // kube-proxy's --v 4 and up is its debug output; FERRY_LOG_LEVEL, when set, wins.
  if (options.verbosity >= 4 && process.env.FERRY_LOG_LEVEL === undefined) logger.level = 'debug';
  const log = (line: string) => logger.info(line);
  // What the agent does not use, one line each (kube-proxy's fields and flags, feature gates).
  for (const warning of warnings) logger.warn(warning);
  // The options in effect and where each came from: what a drop-in for kube-proxy is checked by.
  const changed = Object.fromEntries(Object.entries(sources).filter(([, source]) => source !== 'default'));
  logger.info({ options, sources: changed }, 'effective options');
  if (options.cleanup) {
    const problems = await cleanupAll({ scheduler: options.scheduler, iptablesBackend: options.iptablesBackend, log });
    for (const problem of problems) console.error(`${NAME} --cleanup: ${problem}`);
    if (problems.length === 0) log('removed every rule, table and listener ferry owns');
    return problems.length === 0 ? 0 : 1;
  }
  const agent = await startAgent({ ...options, logger: pinoLog(logger) });
  // Since the process started: what a restarted node waits for before its rules are current again.
  void agent.firstSync.then(() => logger.info({ sinceStartMs: Math.round(performance.now()) }, 'first sync applied'));
  await new Promise<void>((resolve) => {
    let stopping = false;
    // `on`, not `once`: wrappers (npx, tsx) forward a signal again, and a second SIGTERM
    // without a handler would kill the agent in the middle of its drain.
    const done = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping (the data path stays in place)`);
      resolve();
    };
    process.on('SIGTERM', () => done('SIGTERM'));
    process.on('SIGINT', () => done('SIGINT'));
  });
  await agent.stop();
  return 0;
}

if (require.main === module) {
  runAgentCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${NAME}: ${describeError(err)}`);
      process.exit(1);
    },
  );
}
