import { Command } from '@commander-js/extra-typings';
import { runCommand } from '../agent/options';
import { environment } from './environment';

/** `ferry local` (`npm start`): the playground. */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry local')
      .description(
        "The playground, with nothing installed or configured: starts ferry's embedded Kubernetes API server and AWS emulators, applies an example LoadBalancer Service, reconciles it and prints what AWS holds. Every instance is a node running ferry agent and the example's pods answer, so requests go through the emulated NLB to them; then a pod is deleted, the Service switched to externalTrafficPolicy Local and a node drained, each with what it does to target health and traffic. Finally the Service is deleted and everything shown gone. With KUBECONFIG or AWS_ENDPOINT_URL set it uses those instead of the emulators, and routes no traffic.",
      )
      .option('--keep', 'keep running after the story, printing curl and kubectl commands to try, until Ctrl-C')
      .option('--kernel', 'run each node in a network namespace with ferry agent --mode nftables (needs root); by default the nodes are userspace agents on loopback addresses')
      .addHelpText('after', environment(
          ['FERRY_CLUSTER_NAME', 'name of the cluster (default: ferry-local)'],
          ['KUBECONFIG', "a real cluster's kubeconfig instead of the embedded Kubernetes API server"],
          ['AWS_ENDPOINT_URL', "LocalStack (http://localhost:4566) or another endpoint instead of the embedded AWS emulators"],
          ['AWS_REGION', 'with AWS_ENDPOINT_URL: the region (default: us-east-1)'],
        ),)
      .action(async (flags) => {
        // The emulators and the agent load when the playground runs, not for its --help.
        /* eslint-disable @typescript-eslint/no-require-imports */
        const { runLocal } = require('../local/playground') as typeof import('../local/playground');
        // The CLI hands the playground its node agent: src/local sits beside the agent, not above it.
        const { startLoopbackAgent } = require('../agent/userspace/loopback') as typeof import('../agent/userspace/loopback');
        /* eslint-enable @typescript-eslint/no-require-imports */
        exit(await runLocal(process.env, { keep: flags.keep === true, kernel: flags.kernel === true, startLoopbackAgent }));
      }),
  );
}
