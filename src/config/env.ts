import { z } from 'zod';
import { ConfigError } from '../errors';

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
}

const text = (accepted: string, pattern: RegExp) =>
  z.string({ message: `accepted: ${accepted}` }).regex(pattern, { message: `accepted: ${accepted}` });

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `accepted: a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().min(min, { message: `accepted: a whole number from ${min} to ${max}` }).max(max, { message: `accepted: a whole number from ${min} to ${max}` }));

const envSchema = z.object({
  FERRY_CLUSTER_NAME: text(
    '1–63 letters, digits, "-", "_" or ".", starting with a letter or digit (the name of your cluster, e.g. prod-eu)',
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  ),
  KUBECONFIG: z.string().min(1).optional(),
  AWS_REGION: text('an AWS region such as us-east-1', /^[a-z]{2}(-[a-z]+)+-\d+$/).optional(),
  AWS_DEFAULT_REGION: text('an AWS region such as us-east-1', /^[a-z]{2}(-[a-z]+)+-\d+$/).optional(),
  AWS_ENDPOINT_URL: z.url({ message: 'accepted: an http(s) URL such as http://localhost:4566' }).optional(),
  FERRY_CLAIM_UNCLASSED: z.enum(['true', 'false'], { message: 'accepted: true or false' }).optional(),
  FERRY_VPC_ID: text('a VPC ID such as vpc-0123456789abcdef0', /^vpc-[0-9a-f]{8,17}$/).optional(),
  FERRY_AWS_CONCURRENCY: intIn(1, 32).optional(),
  FERRY_NODE_HEALTH_PORT: intIn(1, 65535).optional(),
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
  };
}
