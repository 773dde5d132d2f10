/**
 * `ferry agent …`: parse the flags, then either clean up (`--cleanup`) or run the agent
 * until SIGTERM/SIGINT. Thin: the work is in run.ts and modes.ts. Runnable directly
 * (`tsx src/agent/cli.ts --node-name …`) for the datapath tests and the DaemonSet.
 */
import { ConfigError, describeError } from '../errors';
import { createLogger } from '../util/log';
import { cleanupAll } from './modes';
import { parseAgentOptions } from './options';
import { startAgent } from './run';

export async function runAgentCommand(argv: string[]): Promise<number> {
  const logger = createLogger('agent');
  const log = (line: string) => logger.info(line);
  let options;
  try {
    options = parseAgentOptions(argv);
  } catch (err) {
    console.error(`ferry agent: ${describeError(err)}`);
    return 2;
  }
  if (options.cleanup) {
    const problems = await cleanupAll({ scheduler: options.scheduler, iptablesBackend: options.iptablesBackend, log });
    for (const problem of problems) console.error(`ferry agent --cleanup: ${problem}`);
    if (problems.length === 0) log('removed every rule, table and listener ferry owns');
    return problems.length === 0 ? 0 : 1;
  }
  let agent;
  try {
    agent = await startAgent({ ...options, log });
  } catch (err) {
    console.error(`ferry agent: ${describeError(err)}`);
    return err instanceof ConfigError ? 2 : 1;
  }
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
      console.error(`ferry agent: ${describeError(err)}`);
      process.exit(1);
    },
  );
}
