// zod/mini: the full schema engine, a fraction of the bundle for the Lambda functions.
import * as z from 'zod/mini';
import { ConfigError } from '../errors';
import { DEFAULT_READ_BUDGET } from '../model/limits';

/**
 * ferry's configuration from the environment, parsed once and failing fast: every problem
 * is reported together, naming the variable, its value and what is accepted.
 */
export interface FerryConfig {
  /** `FERRY_CLUSTER_NAME`: goes into every ownership tag and name hash. */
  clusterName: string;
  /** `KUBECONFIG`: path of the kubeconfig; unset means in-cluster or `~/.kube/config`. */
  kubeconfig: string | undefined;
  /** `AWS_REGION` (or `AWS_DEFAULT_REGION`). */
  region: string;
  /** `AWS_ENDPOINT_URL`: LocalStack or ferry's emulator instead of AWS. */
  endpoint: string | undefined;
  /** `FERRY_CLAIM_UNCLASSED`: also serve LoadBalancer Services without a loadBalancerClass. */
  claimUnclassedServices: boolean;
  /** `FERRY_VPC_ID`: limits subnet discovery to one VPC. */
  vpcId: string | undefined;
  /** `FERRY_AWS_CONCURRENCY`: AWS calls in flight at once per reconcile. */
  awsConcurrency: number;
  /** `FERRY_NODE_HEALTH_PORT`: the node agent's health port (kube-proxy's 10256). */
  nodeHealthPort: number;
  /** `FERRY_QUEUE_URL`: the SQS FIFO work queue (Lambda hosting). */
  queueUrl: string | undefined;
  /** `FERRY_DELAY_QUEUE_URL`: the standard SQS queue that holds delayed work back (Lambda hosting). */
  delayQueueUrl: string | undefined;
  /** `FERRY_READ_BUDGET`: ELBv2 reads per second the deep checks may average. */
  readBudget: number;
  /** `FERRY_RESYNC_INTERVAL_SECONDS`: how often the resync runs (the schedule's rate). */
  resyncIntervalSeconds: number;
  /** `FERRY_KUBECONFIG_SECRET_ARN`: Secrets Manager secret holding the kubeconfig (Lambda hosting). */
  kubeconfigSecretArn: string | undefined;
  /** `FERRY_WEBHOOK_TOKEN_SECRET_ARN`: Secrets Manager secret holding the webhook token (Lambda hosting). */
  webhookTokenSecretArn: string | undefined;
  /**
   * `FERRY_CONTROLLER_USERNAMES`: the Kubernetes usernames ferry's reconciles run as. The
   * webhook lets only them write the `status.ferry.io/` record on a Service.
   */
  controllerUsernames: string[];
}

/**
 * The ServiceAccount `ferry manifests` creates (src/manifests/cluster.ts), whose token the
 * kubeconfig secret holds; spelled out here because the webhook must not load the manifests.
 */
export const DEFAULT_CONTROLLER_USERNAMES: readonly string[] = ['system:serviceaccount:ferry-system:ferry-controller'];

const text = (accepted: string, pattern: RegExp) =>
  z.string({ error: `accepted: ${accepted}` }).check(z.regex(pattern, { error: `accepted: ${accepted}` }));

const intIn = (min: number, max: number) => {
  const error = `accepted: a whole number from ${min} to ${max}`;
  return z.pipe(
    z.pipe(z.string({ error }).check(z.regex(/^\d+$/, { error })), z.transform(Number)),
    z.number().check(z.gte(min, { error }), z.lte(max, { error })),
  );
};

const rate = (min: number, max: number) => {
  const error = `accepted: a number from ${min} to ${max} (reads per second; decimals allowed, such as 0.5)`;
  return z.pipe(
    z.pipe(z.string({ error }).check(z.regex(/^\d+(\.\d+)?$/, { error })), z.transform(Number)),
    z.number().check(z.gte(min, { error }), z.lte(max, { error })),
  );
};

const url = (error: string) =>
  z.string({ error }).check(z.refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), { error }));

const envSchema = z.object({
  FERRY_CLUSTER_NAME: text(
    '1–63 letters, digits, "-", "_" or ".", starting with a letter or digit (the name of your cluster, e.g. prod-eu)',
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  ),
  KUBECONFIG: z.optional(z.string()),
  AWS_REGION: z.optional(text('an AWS region such as us-east-1', /^[a-z]{2}(-[a-z]+)+-\d+$/)),
  AWS_DEFAULT_REGION: z.optional(text('an AWS region such as us-east-1', /^[a-z]{2}(-[a-z]+)+-\d+$/)),
  AWS_ENDPOINT_URL: z.optional(url('accepted: an http(s) URL such as http://localhost:4566')),
  FERRY_CLAIM_UNCLASSED: z.optional(z.enum(['true', 'false'], { error: 'accepted: true or false' })),
  FERRY_VPC_ID: z.optional(text('a VPC ID such as vpc-0123456789abcdef0', /^vpc-[0-9a-f]{8,17}$/)),
  FERRY_AWS_CONCURRENCY: z.optional(intIn(1, 32)),
  FERRY_NODE_HEALTH_PORT: z.optional(intIn(1, 65535)),
  FERRY_QUEUE_URL: z.optional(url('accepted: the URL of an SQS FIFO queue')),
  FERRY_DELAY_QUEUE_URL: z.optional(url('accepted: the URL of a standard SQS queue')),
  // At most 10: the ELBv2 read bucket refills at 10 per second for the whole account.
  FERRY_READ_BUDGET: z.optional(rate(0.01, 10)),
  FERRY_RESYNC_INTERVAL_SECONDS: z.optional(intIn(10, 86_400)),
  FERRY_KUBECONFIG_SECRET_ARN: z.optional(text('a Secrets Manager secret ARN or name', /^[\w/+=.@:-]{1,2048}$/)),
  FERRY_WEBHOOK_TOKEN_SECRET_ARN: z.optional(text('a Secrets Manager secret ARN or name', /^[\w/+=.@:-]{1,2048}$/)),
  FERRY_CONTROLLER_USERNAMES: z.optional(
    text(
      `comma-separated Kubernetes usernames (see \`kubectl auth whoami\`), such as ${DEFAULT_CONTROLLER_USERNAMES[0]}`,
      /^[^,\s]+(\s*,\s*[^,\s]+)*$/,
    ),
  ),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FerryConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const value = present[name];
      return value === undefined
        ? `${name} is required; ${issue.message.replace(/^accepted: /, 'set it to ')}`
        : `${name}=${JSON.stringify(value)} is invalid; ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = result.data;
  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION;
  if (!region && !e.AWS_ENDPOINT_URL) {
    throw new ConfigError('invalid configuration:\n  AWS_REGION is required; set it to the region of your VPC, such as us-east-1');
  }
  return {
    clusterName: e.FERRY_CLUSTER_NAME,
    kubeconfig: e.KUBECONFIG,
    region: region ?? 'us-east-1',
    endpoint: e.AWS_ENDPOINT_URL,
    claimUnclassedServices: e.FERRY_CLAIM_UNCLASSED !== 'false',
    vpcId: e.FERRY_VPC_ID,
    awsConcurrency: e.FERRY_AWS_CONCURRENCY ?? 4,
    nodeHealthPort: e.FERRY_NODE_HEALTH_PORT ?? 10256,
    queueUrl: e.FERRY_QUEUE_URL,
    delayQueueUrl: e.FERRY_DELAY_QUEUE_URL,
    readBudget: e.FERRY_READ_BUDGET ?? DEFAULT_READ_BUDGET,
    resyncIntervalSeconds: e.FERRY_RESYNC_INTERVAL_SECONDS ?? 300,
    kubeconfigSecretArn: e.FERRY_KUBECONFIG_SECRET_ARN,
    webhookTokenSecretArn: e.FERRY_WEBHOOK_TOKEN_SECRET_ARN,
    controllerUsernames: e.FERRY_CONTROLLER_USERNAMES ? e.FERRY_CONTROLLER_USERNAMES.split(/\s*,\s*/) : [...DEFAULT_CONTROLLER_USERNAMES],
  };
}

/** A setting a host cannot run without, with the variable to set when it is missing. */
export function required<K extends keyof FerryConfig>(config: FerryConfig, key: K, variable: string): NonNullable<FerryConfig[K]> {
  const value = config[key];
  if (value === undefined || value === null) throw new ConfigError(`invalid configuration:\n  ${variable} is required here`);
  return value as NonNullable<FerryConfig[K]>;
}
