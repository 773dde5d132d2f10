import { parseArgs } from 'node:util';
import { loadConfig } from '../config/env';
import { ConfigError, describeError } from '../errors';
import { collectGarbage } from '../reconcile/gc';
import { connect } from './context';
import { runAgentCommand } from '../agent/cli';
import { controllerCommand } from './controller';
import { manifestsCommand } from './manifests';
import { formatCalls, formatReport } from './format';
import { runLocal } from '../local/playground';

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

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'reconcile':
      return reconcileCommand(args);
    case 'gc':
      return gcCommand();
    case 'local':
      return runLocal();
    case 'controller':
      return controllerCommand(args);
    case 'manifests':
      return manifestsCommand(args);
    case 'agent':
      return runAgentCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`ferry: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function reconcileCommand(args: string[]): Promise<number> {
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

async function gcCommand(): Promise<number> {
  const ferry = connect(loadConfig());
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
