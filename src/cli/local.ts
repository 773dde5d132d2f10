import { Command } from '@commander-js/extra-typings';
import { runCommand } from '../agent/options';
import { environment } from './environment';

/** `ferry local` (`npm start`): the playground. */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry local')
      .description(
        "The playground, with nothing installed or configured: starts ferry's embedded Kubernetes API server and AWS emulators, applies an example LoadBalancer Service, reconciles it and prints what AWS holds; then deletes the Service and shows everything gone. With KUBECONFIG or AWS_ENDPOINT_URL set it uses those instead of the emulators.",
      )
      .addHelpText('after', environment(
          ['FERRY_CLUSTER_NAME', 'name of the cluster (default: ferry-local)'],
          ['KUBECONFIG', "a real cluster's kubeconfig instead of the embedded Kubernetes API server"],
          ['AWS_ENDPOINT_URL', "LocalStack (http://localhost:4566) or another endpoint instead of the embedded AWS emulators"],
          ['AWS_REGION', 'with AWS_ENDPOINT_URL: the region (default: us-east-1)'],
        ),)
      .action(async () => {
        // The emulators load when the playground runs, not for its --help.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runLocal } = require('../local/playground') as typeof import('../local/playground');
        exit(await runLocal(process.env));
      }),
  );
}
