import { Command, CommanderError } from '@commander-js/extra-typings';
import { describeError } from '../errors';
import { VERSION } from '../manifests/image';

type Run = (argv: readonly string[]) => Promise<number>;

/**
 * The commands, each loaded only when it runs: `ferry agent`, which every node runs, loads
 * the agent and nothing of the controller, the AWS SDK or the emulators. A command is one
 * file here exporting `run(argv)` (commander parses its flags; see reconcile.ts) plus one
 * line in this table. (`require` rather than `import()`: the package is CommonJS, and tsx,
 * Jest and the compiled build all load it so.)
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, { summary: string; load: () => Run }> = {
  reconcile: { summary: 'reconcile one Service and print what it did', load: () => (require('./reconcile') as typeof import('./reconcile')).run },
  gc: { summary: "delete this cluster's orphaned AWS resources", load: () => (require('./gc') as typeof import('./gc')).run },
  local: { summary: 'the playground: embedded Kubernetes and AWS emulators', load: () => (require('./local') as typeof import('./local')).run },
  controller: { summary: 'webhook, queue, workers and resync in one process', load: () => (require('./controller') as typeof import('./controller')).run },
  manifests: { summary: 'the cluster-side YAML (webhook configuration, RBAC, node agent)', load: () => (require('./manifests') as typeof import('./manifests')).run },
  migrate: { summary: 'print a Service rewritten for ferry from its LBC or cloud-provider annotations', load: () => (require('./migrate') as typeof import('./migrate')).run },
  agent: { summary: "the node agent, ferry's kube-proxy: NodePort and ClusterIP → Pod", load: () => (require('../agent/cli') as typeof import('../agent/cli')).runAgentCommand },
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Runs `ferry …`; resolves to the exit code: 0, 1 for a failure, 2 for a usage or configuration error. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command) return command.load()(rest);
  // `ferry help gc` is `ferry gc --help`.
  const topic = name === 'help' && rest.length === 1 ? COMMANDS[rest[0]!] : undefined;
  if (topic) return topic.load()(['--help']);
  return top(argv);
}

/** `ferry` itself: the list of commands, --version, and what is not a command. */
async function top(argv: readonly string[]): Promise<number> {
  const program = new Command('ferry')
    .description('Kubernetes LoadBalancer Services as AWS Network Load Balancers, and a node agent that carries their traffic.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show the help of a command')
    .addHelpText('after', '\nRun "ferry <command> --help" for its flags and the environment variables it reads.')
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`ferry: ${message.replace(/^error: /, '')}`) })
    .showHelpAfterError('(run "ferry --help" for the commands)');
  // The real commands stay unloaded: these stand-ins only list them and catch typos.
  for (const [name, { summary }] of Object.entries(COMMANDS)) program.command(name).summary(summary);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    console.error(`ferry: ${describeError(err)}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
