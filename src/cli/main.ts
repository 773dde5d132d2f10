import { ConfigError, describeError } from '../errors';

const USAGE = `ferry — Kubernetes LoadBalancer Services as AWS Network Load Balancers

Usage:
  ferry reconcile <namespace>/<name> [--full]   reconcile one Service and print what it did
  ferry gc                                      delete this cluster's orphaned AWS resources
  ferry local                                   the playground: embedded Kubernetes and AWS emulators
  ferry controller [--watch] [--listen H:P] …    webhook + queue + workers + resync in one process
  ferry manifests --webhook-url URL --token T   the cluster-side YAML (webhook configuration, RBAC, node agent)
  ferry agent --mode nftables --node-name N …   the node agent (kube-proxy): NodePort → ClusterIP → Pod

Environment: FERRY_CLUSTER_NAME (required), KUBECONFIG, AWS_REGION, AWS_ENDPOINT_URL,
FERRY_CLAIM_UNCLASSED, FERRY_VPC_ID, FERRY_AWS_CONCURRENCY, FERRY_NODE_HEALTH_PORT.`;

type Command = (args: string[]) => Promise<number>;

/**
 * Each command is loaded only when it runs: `ferry agent`, which every node runs, loads the
 * agent and nothing of the controller, the AWS SDK or the emulators. (`require` rather than
 * `import()`: the package is CommonJS, and tsx, Jest and the compiled build all load it so.)
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, () => Command> = {
  reconcile: () => (require('./reconcile') as typeof import('./reconcile')).reconcileCommand,
  gc: () => (require('./gc') as typeof import('./gc')).gcCommand,
  local: () => () => (require('../local/playground') as typeof import('../local/playground')).runLocal(),
  controller: () => (require('./controller') as typeof import('./controller')).controllerCommand,
  manifests: () => (require('./manifests') as typeof import('./manifests')).manifestsCommand,
  agent: () => (require('../agent/cli') as typeof import('../agent/cli')).runAgentCommand,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const load = command === undefined ? undefined : COMMANDS[command];
  if (load) return load()(args);
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  console.error(`ferry: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`ferry: ${describeError(err)}`);
      process.exitCode = err instanceof ConfigError ? 2 : 1;
    },
  );
}
