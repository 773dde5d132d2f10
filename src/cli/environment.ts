/**
 * The environment variables the `ferry` commands read, described once for every command's
 * help. src/config/env.ts validates them; test/cli/environment.test.ts keeps this table and
 * that schema naming the same variables. (The agent's own, NODE_NAME and the like, are in its
 * flag table, src/agent/options.ts.)
 */
import { environmentHelp } from '../agent/options';

export const VARIABLES = {
  FERRY_CLUSTER_NAME: 'name of the cluster; goes into every ownership tag and name hash (required)',
  KUBECONFIG: 'path of the kubeconfig (default: in-cluster, then ~/.kube/config)',
  AWS_REGION: 'region of the VPC; required unless AWS_ENDPOINT_URL is set (then us-east-1)',
  AWS_DEFAULT_REGION: 'read when AWS_REGION is not set',
  AWS_ENDPOINT_URL: "send AWS calls elsewhere: LocalStack (http://localhost:4566) or ferry's emulator",
  FERRY_CLAIM_UNCLASSED: 'also serve LoadBalancer Services without spec.loadBalancerClass: true or false (default: true)',
  FERRY_VPC_ID: 'limit subnet discovery to one VPC (default: all VPCs; several are an error)',
  FERRY_AWS_CONCURRENCY: 'AWS calls in flight at once per reconcile, 1 to 32 (default: 4)',
  FERRY_NODE_HEALTH_PORT: "the node agent's health port, checked for externalTrafficPolicy: Cluster (default: 10256)",
  FERRY_CONTROLLER_USERNAMES: "comma-separated Kubernetes usernames ferry's reconciles run as; only they may write a Service's status.ferry.io/ record (default: system:serviceaccount:ferry-system:ferry-controller)",
  FERRY_WEBHOOK_TOKEN: 'the webhook token, at least 16 characters, when --token is not given',
  FERRY_LOG_LEVEL: 'log level: debug, info, warn or error (default: info)',
  FERRY_READ_BUDGET: "ELBv2 read calls per second the resync's deep checks may average, 0.01 to 10 (default: 1; the account's bucket refills at 10)",
  FERRY_RESYNC_INTERVAL_SECONDS: 'Lambda hosting: how often the resync runs, in seconds (set by the CDK construct; default: 300)',
  FERRY_QUEUE_URL: 'Lambda hosting: the SQS FIFO work queue (set by the CDK construct)',
  FERRY_DELAY_QUEUE_URL: 'Lambda hosting: the SQS queue that holds paced and deferred work back (set by the CDK construct)',
  FERRY_KUBECONFIG_SECRET_ARN: 'Lambda hosting: the secret holding the kubeconfig (set by the CDK construct)',
  FERRY_WEBHOOK_TOKEN_SECRET_ARN: 'Lambda hosting: the secret holding the webhook token (set by the CDK construct)',
} as const;

export type Variable = keyof typeof VARIABLES;

/** What every command that reconciles reads (through src/config/env.ts's loadConfig). */
export const RECONCILER_VARIABLES: readonly Variable[] = [
  'FERRY_CLUSTER_NAME',
  'KUBECONFIG',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'FERRY_CLAIM_UNCLASSED',
  'FERRY_VPC_ID',
  'FERRY_AWS_CONCURRENCY',
  'FERRY_NODE_HEALTH_PORT',
];

/** For `addHelpText('after', …)`: these variables and what they mean (or what they mean to this command). */
export function environment(...variables: Array<Variable | [Variable, string]>): ReturnType<typeof environmentHelp> {
  return environmentHelp(variables.map((v) => (typeof v === 'string' ? [v, VARIABLES[v]] : v)));
}
