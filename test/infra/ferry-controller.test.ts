import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FerryController } from '../../infra/ferry-controller';
import { ACCOUNT, REGION, allStatements, asArray, fastApp, idOf, synthController } from './synth';

// One synth of the default configuration, shared by the assertions that only read it.
const { template, controller } = synthController();
const ref = (construct: Parameters<typeof idOf>[0]) => ({ Ref: idOf(construct) });
const arnOf = (construct: Parameters<typeof idOf>[0]) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const functionProps = (fn: Parameters<typeof idOf>[0]) => template.toJSON().Resources[idOf(fn)].Properties;

describe('FerryController functions', () => {
  it.each(['webhookFunction', 'reconcilerFunction', 'resyncFunction'] as const)('%s runs nodejs22.x on arm64 with a log group that expires', (name) => {
    const props = functionProps(controller[name]);
    expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(props.Environment.Variables).toMatchObject({
      FERRY_CLUSTER_NAME: 'prod-eu',
      FERRY_QUEUE_URL: ref(controller.queue),
      NODE_OPTIONS: '--enable-source-maps',
    });
    const logGroup = template.toJSON().Resources[props.LoggingConfig.LogGroup.Ref as string];
    expect(logGroup).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' });
  });

  it('gives each function only the environment it reads', () => {
    const webhook = functionProps(controller.webhookFunction).Environment.Variables;
    expect(webhook.FERRY_WEBHOOK_TOKEN_SECRET_ARN).toEqual(ref(controller.webhookTokenSecret));
    expect(webhook.FERRY_KUBECONFIG_SECRET_ARN).toBeUndefined();
    expect(webhook.FERRY_VPC_ID).toBeUndefined();
    for (const fn of [controller.reconcilerFunction, controller.resyncFunction]) {
      const env = functionProps(fn).Environment.Variables;
      expect(env).toMatchObject({ FERRY_KUBECONFIG_SECRET_ARN: ref(controller.kubeconfigSecret), FERRY_AWS_CONCURRENCY: '4' });
      expect(env.FERRY_WEBHOOK_TOKEN_SECRET_ARN).toBeUndefined();
    }
  });

  it('exposes the webhook through a Function URL without IAM auth or CORS', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: arnOf(controller.webhookFunction),
      Cors: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*' });
  });

  it('generates a URL-safe webhook token', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { ExcludePunctuation: true, IncludeSpace: false, PasswordLength: 48 },
    });
  });
});

describe('FerryController queue', () => {
  const queue = () => template.toJSON().Resources[idOf(controller.queue)].Properties;

  it('is FIFO, encrypted, deduplicated by the sender, with a dead-letter FIFO queue', () => {
    expect(queue()).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: arnOf(controller.deadLetterQueue), maxReceiveCount: 5 },
    });
    expect(template.toJSON().Resources[idOf(controller.deadLetterQueue)].Properties).toEqual({
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('hides a message for six times the reconciler timeout', () => {
    expect(queue().VisibilityTimeout).toBe(6 * functionProps(controller.reconcilerFunction).Timeout);
  });

  it('refuses non-TLS access to both queues', () => {
    for (const q of [controller.queue, controller.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(q)],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('feeds the reconciler in batches with partial failures and a concurrency cap', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(controller.queue),
      FunctionName: ref(controller.reconcilerFunction),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('holds paced and deferred work in a standard delay queue that the resync forwards into the work queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(controller.delayQueue),
      FunctionName: ref(controller.resyncFunction),
      BatchSize: 10,
    });
    const env = (fn: lambda.IFunction) => functionProps(fn).Environment.Variables;
    for (const fn of [controller.reconcilerFunction, controller.resyncFunction]) expect(env(fn).FERRY_DELAY_QUEUE_URL).toEqual(ref(controller.delayQueue));
    expect(env(controller.resyncFunction).FERRY_READ_BUDGET).toBe('1');
    const halved = synthController({ readBudget: 0.5 });
    expect(halved.template.toJSON().Resources[idOf(halved.controller.resyncFunction)].Properties.Environment.Variables.FERRY_READ_BUDGET).toBe('0.5');
    expect(() => synthController({ readBudget: 20 })).toThrow('readBudget=20 is invalid; accepted: a number from 0.01 to 10');
  });
});

describe('FerryController schedule', () => {
  it('adds the one-time adoption grant only while NLBs to adopt are named', () => {
    const arn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/legacy/50dc6c495c0c9188';
    const adopting = synthController({ adoptLoadBalancerArns: [arn] }).template;
    adopting.resourceCountIs('AWS::IAM::ManagedPolicy', 4);
    adopting.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Sid: 'AdoptTheseLoadBalancersOnce', Resource: Match.arrayWith([arn]) })] },
    });
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 3);
  });

  it('caps the public webhook with reserved concurrency (20 by default)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Description: Match.stringLikeRegexp('admission webhook'),
      ReservedConcurrentExecutions: 20,
    });
    synthController({ webhookConcurrency: 50 }).template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('admission webhook'),
      ReservedConcurrentExecutions: 50,
    });
  });

  it('runs the resync every 5 minutes by default, without retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: arnOf(controller.resyncFunction), RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
  });

  it.each([
    [Duration.minutes(1), 'rate(1 minute)'],
    [Duration.minutes(15), 'rate(15 minutes)'],
    [Duration.hours(1), 'rate(1 hour)'],
  ])('takes resyncInterval %s', (resyncInterval, expression) => {
    synthController({ resyncInterval }).template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: expression });
  });
});

describe('FerryController permissions', () => {
  /** Statements of every policy (inline or managed) attached to the function's role. */
  const statementsOf = (fn: lambda.IFunction) => {
    const role = idOf(fn.role!);
    const out: any[] = [];
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const r of Object.values(template.findResources(type))) {
        const roles = asArray<any>(r.Properties.Roles);
        if (roles.some((x) => x.Ref === role)) out.push(...asArray<any>(r.Properties.PolicyDocument.Statement));
      }
    }
    return out;
  };
  const actionsOf = (fn: lambda.IFunction) => statementsOf(fn).flatMap((s) => asArray<string>(s.Action));

  it('uses no wildcard action anywhere in the stack', () => {
    for (const s of allStatements(template)) for (const a of asArray<string>(s.Action)) expect(a).not.toContain('*');
  });

  it('lets the webhook send to the queue and read its token, nothing else', () => {
    expect(new Set(actionsOf(controller.webhookFunction))).toEqual(
      new Set(['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'secretsmanager:GetSecretValue']),
    );
    const secretStatement = statementsOf(controller.webhookFunction).find((s) => s.Action === 'secretsmanager:GetSecretValue');
    expect(secretStatement.Resource).toEqual(ref(controller.webhookTokenSecret));
  });

  it('lets the reconciler consume and send, read the kubeconfig, and manage load balancers', () => {
    const actions = actionsOf(controller.reconcilerFunction);
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:SendMessage']));
    expect(actions).toContain('elasticloadbalancing:CreateLoadBalancer');
    const secret = statementsOf(controller.reconcilerFunction).filter((s) => asArray(s.Action).some((a) => String(a).startsWith('secretsmanager:')));
    expect(secret).toEqual([expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: ref(controller.kubeconfigSecret) })]);
  });

  it('lets the resync send to the work queue (consuming only the delay queue), read the kubeconfig, and manage load balancers for orphan collection', () => {
    const actions = actionsOf(controller.resyncFunction);
    expect(actions).toContain('sqs:SendMessage');
    const receive = statementsOf(controller.resyncFunction).filter((s) => asArray(s.Action).includes('sqs:ReceiveMessage'));
    expect(receive.map((s) => s.Resource)).toEqual([arnOf(controller.delayQueue)]);
    expect(actions).toContain('elasticloadbalancing:DeleteLoadBalancer');
    expect(actions).toContain('tag:GetResources');
  });

  it('attaches the three load-balancer and network policies to the reconciler and resync only', () => {
    const managed = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(managed).toHaveLength(3);
    for (const policy of managed) {
      expect(policy.Properties.Roles).toEqual([ref(controller.reconcilerFunction.role!), ref(controller.resyncFunction.role!)]);
    }
    expect(actionsOf(controller.webhookFunction).some((a) => a.startsWith('elasticloadbalancing:') || a.startsWith('ec2:'))).toBe(false);
  });
});

describe('FerryController alarms and outputs', () => {
  it('alarms on any dead letter and on each function\'s errors', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(controller.deadLetterQueue), 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    for (const fn of [controller.webhookFunction, controller.reconcilerFunction, controller.resyncFunction]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
        Threshold: 1,
      });
    }
    expect(controller.alarms).toHaveLength(4);
  });

  it('outputs the webhook URL, the secret ARNs and the manifests command', () => {
    const outputs = template.toJSON().Outputs;
    expect(outputs.FerryWebhookUrl.Value).toEqual({ 'Fn::GetAtt': [idOf(controller.webhookUrl), 'FunctionUrl'] });
    expect(outputs.FerryWebhookTokenSecretArn.Value).toEqual(ref(controller.webhookTokenSecret));
    expect(outputs.FerryKubeconfigSecretArn.Value).toEqual(ref(controller.kubeconfigSecret));
    const command = (outputs.FerryManifestsCommand.Value['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
    expect(command).toBe(
      'ferry manifests --webhook-url <token> --token "$(aws secretsmanager get-secret-value --secret-id <token> --query SecretString --output text)"',
    );
    expect(outputs.FerryKubeconfigFillCommand).toBeDefined();
  });
});

describe('FerryController props', () => {
  it('creates a placeholder kubeconfig secret when none is given', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: Match.stringLikeRegexp('^# ferry: replace') });
  });

  it.each([
    ['a complete ARN', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ferry/kubeconfig-AbC123`, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ferry/kubeconfig-AbC123`],
    ['a partial ARN', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ferry/kubeconfig`, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ferry/kubeconfig-??????`],
  ])('takes the kubeconfig secret as %s and grants exactly it', (_, kubeconfigSecret, granted) => {
    const { template: t, controller: c } = synthController({ kubeconfigSecret });
    t.resourceCountIs('AWS::SecretsManager::Secret', 1); // only the webhook token
    expect(t.toJSON().Outputs.FerryKubeconfigFillCommand).toBeUndefined();
    const env = t.toJSON().Resources[idOf(c.reconcilerFunction)].Properties.Environment.Variables;
    expect(env.FERRY_KUBECONFIG_SECRET_ARN).toBe(kubeconfigSecret);
    const grants = allStatements(t).filter((s) => s.Action === 'secretsmanager:GetSecretValue').map((s) => s.Resource);
    expect(grants.filter((r) => r === granted)).toHaveLength(2); // reconciler and resync
  });

  it('takes the kubeconfig secret by name', () => {
    const { template: t } = synthController({ kubeconfigSecret: 'ferry/kubeconfig' });
    const grants = allStatements(t).filter((s) => s.Action === 'secretsmanager:GetSecretValue').map((s) => JSON.stringify(s.Resource));
    expect(grants.filter((r) => r.includes(':secret:ferry/kubeconfig-??????'))).toHaveLength(2);
  });

  it('takes an ISecret', () => {
    const stack = new Stack(fastApp(), 'S', { env: { account: ACCOUNT, region: REGION } });
    const kubeconfigSecret = new secretsmanager.Secret(stack, 'Mine');
    const c = new FerryController(stack, 'Ferry', { clusterName: 'prod-eu', kubeconfigSecret });
    expect(c.kubeconfigSecret).toBe(kubeconfigSecret);
  });

  it('passes sizing and scope props through', () => {
    const { template: t, controller: c } = synthController({
      reconcileConcurrency: 20,
      maxReceiveCount: 3,
      awsConcurrency: 8,
      vpcId: 'vpc-0123456789abcdef0',
      logRetention: logs.RetentionDays.ONE_WEEK,
      environment: { FERRY_CLAIM_UNCLASSED: 'false', FERRY_CLUSTER_NAME: 'ignored' },
    });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
    t.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }) });
    const env = t.toJSON().Resources[idOf(c.reconcilerFunction)].Properties.Environment.Variables;
    expect(env).toMatchObject({ FERRY_AWS_CONCURRENCY: '8', FERRY_VPC_ID: 'vpc-0123456789abcdef0', FERRY_CLAIM_UNCLASSED: 'false', FERRY_CLUSTER_NAME: 'prod-eu' });
    t.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('runs the reconciler and resync (not the webhook) in a VPC when given one', () => {
    const stack = new Stack(fastApp(), 'S', { env: { account: ACCOUNT, region: REGION } });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'] });
    const c = new FerryController(stack, 'Ferry', {
      clusterName: 'prod-eu',
      vpc,
      vpcSubnets: { subnets: [ec2.Subnet.fromSubnetId(stack, 'A', 'subnet-0aaa'), ec2.Subnet.fromSubnetId(stack, 'B', 'subnet-0bbb')] },
    });
    const t = Template.fromStack(stack);
    const resources = t.toJSON().Resources;
    // One security group shared by both functions, egress only.
    t.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    const group = Object.keys(t.findResources('AWS::EC2::SecurityGroup'))[0]!;
    for (const fn of [c.reconcilerFunction, c.resyncFunction]) {
      expect(resources[idOf(fn)].Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0aaa', 'subnet-0bbb'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [group, 'GroupId'] }],
      });
    }
    expect(resources[idOf(c.webhookFunction)].Properties.VpcConfig).toBeUndefined();
  });

  it.each([
    [{ clusterName: 'bad name' }, /clusterName="bad name" is invalid/],
    [{ reconcileConcurrency: 1 }, /reconcileConcurrency=1 is invalid; accepted: a whole number from 2 to 1000/],
    [{ maxReceiveCount: 0 }, /maxReceiveCount=0 is invalid/],
    [{ awsConcurrency: 64 }, /awsConcurrency=64 is invalid/],
    [{ resyncInterval: Duration.seconds(90) }, /resyncInterval=1 minute 30 seconds is invalid; accepted: whole minutes, at least 1/],
    [{ vpcId: 'vpc-nope' }, /vpcId="vpc-nope" is invalid/],
  ])('rejects %j at synth with what is accepted', (props, message) => {
    expect(() => synthController(props)).toThrow(message);
  });
});
