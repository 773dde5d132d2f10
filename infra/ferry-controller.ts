import { CfnOutput, Duration, RemovalPolicy, SecretValue, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { functionDefaults, type FunctionName } from './bundling';
import { adoptionStatement, loadBalancerControllerPolicies } from './iam-policy';
import { DEFAULT_READ_BUDGET } from '../src/model/limits';

export interface FerryControllerProps {
  /**
   * The cluster's name: `FERRY_CLUSTER_NAME`, the value of every `ferry.io/cluster` tag, and
   * the only tag value the IAM policy lets ferry create or change resources under.
   * 1–63 letters, digits, `-`, `_` or `.`, starting with a letter or digit.
   */
  readonly clusterName: string;

  /**
   * The Secrets Manager secret holding the kubeconfig the reconciler and resync use to reach
   * the API server: a secret, its ARN (complete or partial) or its name.
   *
   * @default - a placeholder secret is created; put the kubeconfig into it after deploying
   *   (`aws secretsmanager put-secret-value --secret-id <arn> --secret-string file://kubeconfig`)
   */
  readonly kubeconfigSecret?: secretsmanager.ISecret | string;

  /**
   * A VPC to run the reconciler and resync in, for an API server reachable only from inside
   * it. Those functions then need a route to the ELB, EC2, SQS and Secrets Manager APIs (NAT
   * or VPC endpoints). The webhook never talks to the API server and stays outside.
   *
   * @default - the functions run outside any VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` the functions go.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the functions in `vpc` (they need egress to the API server and AWS).
   *
   * @default - one security group with all outbound traffic allowed
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * `FERRY_VPC_ID`: the VPC in which ferry discovers subnets for load balancers (by the
   * `kubernetes.io/role/elb` tags). Also limits where ferry may create security groups.
   *
   * @default - subnets are discovered in every VPC of the region; security groups may be created in any VPC
   */
  readonly vpcId?: string;

  /**
   * The only subnets ferry may place load balancers in (enforced by IAM, `elasticloadbalancing:Subnet`).
   *
   * @default - any subnet (ferry discovers them by tags, or a Service names them)
   */
  readonly loadBalancerSubnetIds?: string[];

  /**
   * Whether ferry may create internet-facing load balancers (enforced by IAM,
   * `elasticloadbalancing:Scheme`). Turn it off where no Service should be public.
   *
   * @default true
   */
  readonly allowInternetFacing?: boolean;

  /**
   * NLBs to adopt (`ferry.io/adopt-load-balancer`), by ARN: adds the one-time grant that lets
   * ferry tag them as its own (policy `AdoptionPolicy`). Remove them once the Services are
   * adopted; from then on the regular, tag-scoped policies cover those NLBs.
   *
   * @default - none
   */
  readonly adoptLoadBalancerArns?: string[];

  /**
   * Reserved concurrency of the webhook function. Its URL is public (the API server cannot
   * sign requests), so this caps what a flood of requests can cost and leaves the account's
   * concurrency to everything else. A warm webhook answers in milliseconds: 20 serve
   * thousands of admissions a second.
   *
   * @default 20
   */
  readonly webhookConcurrency?: number;

  /**
   * How often the resync runs (whole minutes, at least one): it re-enqueues every ferry
   * Service for a drift check and deletes orphaned AWS resources.
   *
   * @default Duration.minutes(5)
   */
  readonly resyncInterval?: Duration;

  /**
   * The most reconciler invocations the queue may run at once (the event source's
   * `maxConcurrency`, 2 to 1000). Each Service is still reconciled one message at a time.
   *
   * @default 5
   */
  readonly reconcileConcurrency?: number;

  /**
   * `FERRY_AWS_CONCURRENCY`: AWS calls in flight at once per reconcile (1 to 32).
   *
   * @default 4
   */
  readonly awsConcurrency?: number;

  /**
   * `FERRY_READ_BUDGET`: the ELBv2 read calls per second that the resync's deep checks (the
   * per-Service reads no batched call can replace) may average across the fleet. The
   * account's read bucket refills at 10 per second for every tool in it; the deep-check
   * window grows with the fleet to stay inside this (README "The AWS API budget").
   *
   * @default 1
   */
  readonly readBudget?: number;

  /**
   * How many times a message is received before it goes to the dead-letter queue.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * Retention of the functions' log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Extra environment for all three functions, e.g. `FERRY_CLAIM_UNCLASSED=false` or
   * `FERRY_NODE_HEALTH_PORT`. The variables the construct sets itself win.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
}

/** Function sizing. Timeouts drive the queue's visibility timeout, so they live together. */
const WEBHOOK_TIMEOUT = Duration.seconds(10); // the API server waits far less (webhook timeoutSeconds)
const RECONCILER_TIMEOUT = Duration.minutes(2); // a batch of up to 10 reconciles with SDK retry backoff
const RESYNC_TIMEOUT = Duration.minutes(3); // lists every Service and the region's ferry resources
/** AWS: a queue feeding Lambda should hide a message for at least six times the function timeout. */
const VISIBILITY_FACTOR = 6;
const BATCH_SIZE = 10; // the maximum for FIFO queues

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;

/**
 * ferry's serverless controller: the admission webhook (Function URL) enqueues Service keys on
 * an SQS FIFO queue, the reconciler converges each Service into an NLB, and a schedule
 * re-checks everything and collects orphans. See infra/README.md.
 */
export class FerryController extends Construct {
  readonly webhookFunction: NodejsFunction;
  readonly reconcilerFunction: NodejsFunction;
  readonly resyncFunction: NodejsFunction;
  /** The admission webhook's URL; the cluster calls `<url>admit/<token>`. */
  readonly webhookUrl: lambda.FunctionUrl;
  /** The generated token the webhook checks (alphanumeric, fits a URL path). */
  readonly webhookTokenSecret: secretsmanager.Secret;
  readonly kubeconfigSecret: secretsmanager.ISecret;
  /** The FIFO work queue: one message group per Service. */
  readonly queue: sqs.Queue;
  /**
   * A standard queue holding work back until it is due (paced deep checks, throttled
   * reconciles): a FIFO queue cannot delay one message. The resync function forwards what
   * comes due into the work queue.
   */
  readonly delayQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /**
   * The AWS permissions of the reconciler and resync, as three managed policies (IAM's size
   * limit splits them): creating load balancers, changing the ones ferry owns, and security
   * groups. Attach them to other roles too, e.g. a `ferry controller` Deployment's.
   */
  readonly policies: iam.ManagedPolicy[];
  readonly resyncRule: events.Rule;
  /** Dead letters and function errors; add actions with `alarm.addAlarmAction(...)`. */
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: FerryControllerProps) {
    super(scope, id);
    const settings = validate(props);

    this.kubeconfigSecret = this.resolveKubeconfigSecret(props.kubeconfigSecret);
    this.webhookTokenSecret = new secretsmanager.Secret(this, 'WebhookToken', {
      description: `ferry (${props.clusterName}): token the admission webhook requires in its path or Authorization header`,
      // Letters and digits only: the token travels in the URL path (/admit/<token>).
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      // The webhook sets deduplication ids (uid + resourceVersion + operation); hashing the
      // body would drop a legitimate second look at the same Service key.
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(RECONCILER_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
      enforceSSL: true,
    });

    this.delayQueue = new sqs.Queue(this, 'DelayQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(RESYNC_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      // Forwarding fails only while the work queue is unreachable; after that, the next
      // resync queues the same work again.
      deadLetterQueue: { queue: new sqs.Queue(this, 'DelayDeadLetterQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED, retentionPeriod: Duration.days(14), enforceSSL: true }), maxReceiveCount: 5 },
      enforceSSL: true,
    });

    const common: Record<string, string> = {
      ...props.environment,
      FERRY_CLUSTER_NAME: props.clusterName,
      FERRY_QUEUE_URL: this.queue.queueUrl,
      FERRY_DELAY_QUEUE_URL: this.delayQueue.queueUrl,
      ...(props.vpcId ? { FERRY_VPC_ID: props.vpcId } : {}),
      NODE_OPTIONS: '--enable-source-maps',
    };
    const clusterSide = {
      FERRY_KUBECONFIG_SECRET_ARN: this.kubeconfigSecret.secretArn,
      FERRY_AWS_CONCURRENCY: String(settings.awsConcurrency),
    };
    const placement = props.vpc
      ? {
          vpc: props.vpc,
          vpcSubnets: props.vpcSubnets,
          // One group for both functions (Lambda would otherwise make one each).
          securityGroups: props.securityGroups ?? [
            new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
              vpc: props.vpc,
              description: `ferry (${props.clusterName}): reconciler and resync; egress to the API server and AWS APIs`,
              allowAllOutbound: true,
            }),
          ],
        }
      : {};

    this.webhookFunction = this.fn('webhook', settings.logRetention, {
      description: `ferry (${props.clusterName}): admission webhook, validates and enqueues`,
      memorySize: 256,
      timeout: WEBHOOK_TIMEOUT,
      reservedConcurrentExecutions: settings.webhookConcurrency,
      environment: { ...common, FERRY_WEBHOOK_TOKEN_SECRET_ARN: this.webhookTokenSecret.secretArn },
    });
    this.reconcilerFunction = this.fn('reconciler', settings.logRetention, {
      description: `ferry (${props.clusterName}): reconciles Services into Network Load Balancers`,
      memorySize: 512,
      timeout: RECONCILER_TIMEOUT,
      environment: { ...common, ...clusterSide },
      ...placement,
    });
    this.resyncFunction = this.fn('resync', settings.logRetention, {
      description: `ferry (${props.clusterName}): periodic full resync and orphan collection`,
      memorySize: 512,
      timeout: RESYNC_TIMEOUT,
      // The next scheduled run is the retry; Lambda's async retries would only overlap it.
      retryAttempts: 0,
      // The resync deduplicates its messages per interval; it needs to know the interval.
      environment: {
        ...common,
        ...clusterSide,
        FERRY_RESYNC_INTERVAL_SECONDS: String(settings.resyncInterval.toSeconds()),
        FERRY_READ_BUDGET: String(settings.readBudget),
      },
      ...placement,
    });

    // --- the flow: URL → queue → reconciler; schedule → resync → queue -------------------
    this.webhookUrl = this.webhookFunction.addFunctionUrl({
      // The cluster's API server cannot sign requests with SigV4: the function checks the
      // token itself (constant-time) before reading the body. No CORS: no browser calls it.
      authType: lambda.FunctionUrlAuthType.NONE,
    });
    this.reconcilerFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: settings.reconcileConcurrency,
      }),
    );
    this.resyncFunction.addEventSource(new SqsEventSource(this.delayQueue, { batchSize: BATCH_SIZE, reportBatchItemFailures: false }));
    this.resyncRule = new events.Rule(this, 'ResyncSchedule', {
      description: `ferry (${props.clusterName}): run the resync every ${settings.resyncMinutes} minute(s)`,
      schedule: events.Schedule.rate(settings.resyncInterval),
      targets: [new targets.LambdaFunction(this.resyncFunction, { retryAttempts: 0 })],
    });

    // --- permissions ---------------------------------------------------------------------
    this.queue.grantSendMessages(this.webhookFunction);
    this.queue.grantSendMessages(this.reconcilerFunction); // fan-out of Node changes
    this.queue.grantSendMessages(this.resyncFunction);
    // Paced deep checks (resync) and deferred reconciles (reconciler) wait in the delay queue.
    this.delayQueue.grantSendMessages(this.resyncFunction);
    this.delayQueue.grantSendMessages(this.reconcilerFunction);
    grantGetSecretValue(this.webhookTokenSecret, this.webhookFunction);
    grantGetSecretValue(this.kubeconfigSecret, this.reconcilerFunction);
    grantGetSecretValue(this.kubeconfigSecret, this.resyncFunction);
    const policies = loadBalancerControllerPolicies(this, {
      clusterName: props.clusterName,
      vpcId: props.vpcId,
      ...(props.loadBalancerSubnetIds ? { subnetIds: props.loadBalancerSubnetIds } : {}),
      ...(props.allowInternetFacing === false ? { internetFacing: false } : {}),
    });
    // The resync's orphan collection applies the reconciler's own delete plan, so both need them.
    const roles = [this.reconcilerFunction.role!, this.resyncFunction.role!];
    const managed = (id: string, what: string, statements: iam.PolicyStatement[]) =>
      new iam.ManagedPolicy(this, id, { description: `ferry (${props.clusterName}): ${what}`, statements, roles });
    this.policies = [
      managed('LoadBalancerCreatePolicy', `create NLBs, listeners and target groups tagged ferry.io/cluster=${props.clusterName}`, policies.create),
      managed('LoadBalancerChangePolicy', `change and delete NLBs, listeners and target groups tagged ferry.io/cluster=${props.clusterName}`, policies.change),
      managed('NetworkPolicy', `security groups tagged ferry.io/cluster=${props.clusterName}, and the nodes' rules for them`, policies.network),
      ...(props.adoptLoadBalancerArns && props.adoptLoadBalancerArns.length > 0
        ? [managed('AdoptionPolicy', 'one-time: tag the NLBs to adopt as this cluster\'s (remove once adopted)', [adoptionStatement(this, { clusterName: props.clusterName, loadBalancerArns: props.adoptLoadBalancerArns })])]
        : []),
    ];

    this.addAlarms(props.clusterName);
    this.addOutputs(props.kubeconfigSecret === undefined);
  }

  private fn(name: FunctionName, retention: logs.RetentionDays, props: NodejsFunctionProps): NodejsFunction {
    const id = name.charAt(0).toUpperCase() + name.slice(1);
    // An explicit log group (not the deprecated logRetention custom resource): retention is
    // plain CloudFormation, and the group goes away with the stack.
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY });
    return new NodejsFunction(this, id, { ...functionDefaults(name), ...props, logGroup });
  }

  private resolveKubeconfigSecret(secret: secretsmanager.ISecret | string | undefined): secretsmanager.ISecret {
    if (secret === undefined) {
      return new secretsmanager.Secret(this, 'Kubeconfig', {
        description: 'ferry: kubeconfig for the reconciler (placeholder until you put-secret-value the real one)',
        // Not a secret: a marker that makes a forgotten step fail loudly in the reconciler.
        secretStringValue: SecretValue.unsafePlainText('# ferry: replace this with a kubeconfig (see infra/README.md)'),
      });
    }
    if (typeof secret !== 'string') return secret;
    if (!secret.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(this, 'Kubeconfig', secret);
    // A complete ARN ends in Secrets Manager's 6-character suffix; a partial one (as typed by
    // hand) does not, and is granted with the `-??????` wildcard instead.
    return /-[A-Za-z0-9]{6}$/.test(secret)
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'Kubeconfig', secret)
      : secretsmanager.Secret.fromSecretPartialArn(this, 'Kubeconfig', secret);
  }

  private addAlarms(cluster: string): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        alarmDescription: `ferry (${cluster}): messages in the dead-letter queue: reconciles that failed every retry`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    // Errors are crashes and timeouts only: a reconcile that fails one Service reports a batch
    // item failure, which is retried and ends in the dead-letter alarm above.
    for (const [name, fn] of [
      ['Webhook', this.webhookFunction],
      ['Reconciler', this.reconcilerFunction],
      ['Resync', this.resyncFunction],
    ] as const) {
      this.alarms.push(
        new cloudwatch.Alarm(this, `${name}ErrorsAlarm`, {
          alarmDescription: `ferry (${cluster}): the ${name.toLowerCase()} function failed (error or timeout)`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }

  private addOutputs(placeholderKubeconfig: boolean): void {
    // Stable output names (`<id>WebhookUrl`) instead of CDK's hashed ones: users copy these.
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description }).overrideLogicalId(`${this.node.id.replace(/[^A-Za-z0-9]/g, '')}${name}`);
    const tokenCommand = `aws secretsmanager get-secret-value --secret-id ${this.webhookTokenSecret.secretArn} --query SecretString --output text`;

    output('WebhookUrl', this.webhookUrl.url, 'Admission webhook URL (the cluster calls <url>admit/<token>)');
    output('WebhookTokenSecretArn', this.webhookTokenSecret.secretArn, 'Secret holding the webhook token');
    output('KubeconfigSecretArn', this.kubeconfigSecret.secretArn, 'Secret holding the kubeconfig the reconciler uses');
    output(
      'ManifestsCommand',
      `ferry manifests --webhook-url ${this.webhookUrl.url} --token "$(${tokenCommand})"`,
      'Prints the cluster-side YAML (webhook configuration, RBAC); pipe it to kubectl apply -f -',
    );
    if (placeholderKubeconfig) {
      output(
        'KubeconfigFillCommand',
        `aws secretsmanager put-secret-value --secret-id ${this.kubeconfigSecret.secretArn} --secret-string file://kubeconfig`,
        'Stores the kubeconfig (for the ferry ServiceAccount) in the placeholder secret',
      );
    }
  }
}

/**
 * GetSecretValue only (grantRead would add DescribeSecret), on the exact secret: a partial
 * ARN or a name gets Secrets Manager's `-??????` suffix wildcard, as CDK's own grants do.
 */
function grantGetSecretValue(secret: secretsmanager.ISecret, fn: lambda.IFunction): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    }),
  );
  // A customer-managed key (when the secret says so) must also let the function decrypt.
  secret.encryptionKey?.grantDecrypt(fn);
}

interface Settings {
  resyncInterval: Duration;
  resyncMinutes: number;
  reconcileConcurrency: number;
  awsConcurrency: number;
  maxReceiveCount: number;
  readBudget: number;
  webhookConcurrency: number;
  logRetention: logs.RetentionDays;
}

/** Fails at synth with the prop, its value and what is accepted, rather than at deploy. */
function validate(props: FerryControllerProps): Settings {
  const problems: string[] = [];
  const numberIn = (name: string, value: number, min: number, max: number) => {
    if (!Number.isFinite(value) || value < min || value > max) problems.push(`${name}=${value} is invalid; accepted: a number from ${min} to ${max}`);
    return value;
  };
  const intIn = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name}=${value} is invalid; accepted: a whole number from ${min} to ${max}`);
    return value;
  };
  if (!Token.isUnresolved(props.clusterName) && !CLUSTER_NAME.test(props.clusterName)) {
    problems.push(`clusterName=${JSON.stringify(props.clusterName)} is invalid; accepted: 1–63 letters, digits, "-", "_" or ".", starting with a letter or digit`);
  }
  if (props.vpcId !== undefined && !Token.isUnresolved(props.vpcId) && !VPC_ID.test(props.vpcId)) {
    problems.push(`vpcId=${JSON.stringify(props.vpcId)} is invalid; accepted: a VPC ID such as vpc-0123456789abcdef0`);
  }
  if (!props.vpc && (props.vpcSubnets || props.securityGroups)) problems.push('vpcSubnets and securityGroups need vpc');

  const resyncInterval = props.resyncInterval ?? Duration.minutes(5);
  const resyncMinutes = resyncInterval.toMinutes({ integral: false });
  // An EventBridge rate is whole minutes, at least one.
  if (!Number.isInteger(resyncMinutes) || resyncMinutes < 1) problems.push(`resyncInterval=${resyncInterval.toHumanString()} is invalid; accepted: whole minutes, at least 1`);

  const settings: Settings = {
    resyncInterval,
    resyncMinutes,
    // The SQS event source accepts maxConcurrency from 2 to 1000.
    reconcileConcurrency: intIn('reconcileConcurrency', props.reconcileConcurrency ?? 5, 2, 1000),
    awsConcurrency: intIn('awsConcurrency', props.awsConcurrency ?? 4, 1, 32),
    maxReceiveCount: intIn('maxReceiveCount', props.maxReceiveCount ?? 5, 1, 1000),
    readBudget: numberIn('readBudget', props.readBudget ?? DEFAULT_READ_BUDGET, 0.01, 10),
    webhookConcurrency: intIn('webhookConcurrency', props.webhookConcurrency ?? 20, 1, 1000),
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
  };
  if (problems.length > 0) throw new Error(`FerryController: invalid props:\n  ${problems.join('\n  ')}`);
  return settings;
}
