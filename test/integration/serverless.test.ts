import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import type { LambdaFunctionURLEvent, SQSEvent, SQSRecord, ScheduledEvent } from 'aws-lambda';
import { inventory } from '../../src/aws/inventory';
import { handler as reconcilerHandler } from '../../src/hosts/lambda/reconciler';
import { handler as resyncHandler } from '../../src/hosts/lambda/resync';
import { handler as webhookHandler } from '../../src/hosts/lambda/webhook';
import type { ResyncReport } from '../../src/reconcile/resync';
import { startSandbox, type Sandbox } from '../../src/local/sandbox';
import { nodeFor, launchInstance } from '../../src/local/seed';
import { review } from '../support/admission';
import { EMBEDDED } from '../support/world';

const TOKEN = 'serverless-test-token-00112233445566';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The production path end to end, with the real event shapes: an AdmissionReview arrives at
 * the webhook as a Lambda Function URL event, the webhook queues on SQS FIFO (the emulator,
 * spoken to over SQS's real protocol), the reconciler consumes SQS events as Lambda's event
 * source would deliver them, reconciles against "AWS" and writes the Service's status.
 */
describe('webhook → SQS FIFO → reconciler → AWS → status', () => {
  let sandbox: Sandbox;
  let core: CoreV1Api;
  let sqs: SQSClient;
  let queueUrl: string;
  let queueArn: string;
  let delayQueueUrl: string;
  const env = process.env;
  let reconciled: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({
      cluster: `sls-${process.pid}`,
      ...(EMBEDDED ? {} : { awsEndpoint: process.env.AWS_ENDPOINT_URL! }),
      seed: { instances: 2 },
    });
    core = sandbox.kc.makeApiClient(CoreV1Api);
    const endpoint = sandbox.awsEmulator?.endpoint ?? process.env.AWS_ENDPOINT_URL!;
    const clientConfig = { endpoint, region: sandbox.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    sqs = new SQSClient(clientConfig);
    const secrets = new SecretsManagerClient(clientConfig);
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${sandbox.cluster}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    queueUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `${sandbox.cluster}.fifo`,
          Attributes: { FifoQueue: 'true', VisibilityTimeout: '30', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
        }),
      )
    ).QueueUrl!;
    queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    delayQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${sandbox.cluster}-delay` }))).QueueUrl!;
    const token = await secrets.send(new CreateSecretCommand({ Name: `${sandbox.cluster}/webhook-token`, SecretString: TOKEN }));
    const kubeconfig = await secrets.send(new CreateSecretCommand({ Name: `${sandbox.cluster}/kubeconfig`, SecretString: sandbox.kubeEmulator!.kubeconfigYaml() }));
    secrets.destroy();
    // What the CDK construct sets on the functions; the SDK clients in the handlers read
    // AWS_ENDPOINT_URL themselves.
    process.env = {
      ...env,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: sandbox.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      FERRY_CLUSTER_NAME: sandbox.cluster,
      FERRY_QUEUE_URL: queueUrl,
      FERRY_DELAY_QUEUE_URL: delayQueueUrl,
      // Ten reads a second (the most allowed), so that the paced deep checks come due in seconds.
      FERRY_READ_BUDGET: '10',
      FERRY_KUBECONFIG_SECRET_ARN: kubeconfig.ARN!,
      FERRY_WEBHOOK_TOKEN_SECRET_ARN: token.ARN!,
      FERRY_VPC_ID: sandbox.seeded.vpcId,
    };
  }, 30_000);
  afterAll(async () => {
    process.env = env;
    sqs.destroy();
    await sandbox.close();
  });
  beforeEach(() => {
    reconciled = [];
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  /** The Function URL's event for an AdmissionReview the API server POSTs. */
  function urlEvent(body: unknown, path = `/admit/${TOKEN}`): LambdaFunctionURLEvent {
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: { 'content-type': 'application/json', accept: 'application/json, */*', host: 'abcdefghij.lambda-url.us-east-1.on.aws', 'user-agent': 'kube-apiserver-admission' },
      requestContext: {
        accountId: 'anonymous',
        apiId: 'abcdefghij',
        domainName: 'abcdefghij.lambda-url.us-east-1.on.aws',
        domainPrefix: 'abcdefghij',
        http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'kube-apiserver-admission' },
        requestId: 'c1b0e6a6-1111-4222-8333-444455556666',
        routeKey: '$default',
        stage: '$default',
        time: '26/Nov/2026:16:00:00 +0000',
        timeEpoch: 1795708800000,
      },
      body: Buffer.from(JSON.stringify(body)).toString('base64'),
      isBase64Encoded: true,
    };
  }

  async function admitViaWebhook(body: unknown): Promise<{ allowed: boolean; message?: string }> {
    const res = await webhookHandler(urlEvent(body));
    expect(res.statusCode).toBe(200);
    const response = JSON.parse(res.body!).response;
    return { allowed: response.allowed, message: response.status?.message };
  }

  /** Lambda's SQS event source: receive batches, invoke, delete what succeeded. */
  async function drain(maxBatches = 20): Promise<void> {
    for (let i = 0; i < maxBatches; i++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return;
      const event: SQSEvent = {
        Records: messages.map(
          (m): SQSRecord => ({
            messageId: m.MessageId!,
            receiptHandle: m.ReceiptHandle!,
            body: m.Body!,
            attributes: m.Attributes as unknown as SQSRecord['attributes'],
            messageAttributes: {},
            md5OfBody: m.MD5OfBody!,
            eventSource: 'aws:sqs',
            eventSourceARN: queueArn,
            awsRegion: sandbox.region,
          }),
        ),
      };
      for (const r of event.Records) reconciled.push(JSON.parse(r.body).name ?? 'fanout');
      const { batchItemFailures } = await reconcilerHandler(event);
      expect(batchItemFailures).toEqual([]);
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })) }));
    }
    throw new Error('the queue did not drain');
  }

  const hostname = async (name: string) =>
    (await core.readNamespacedService({ namespace: 'default', name })).status?.loadBalancer?.ingress?.[0]?.hostname;

  async function createService(name: string): Promise<V1Service> {
    return core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } },
    });
  }

  test('a Service admitted through the webhook gets its load balancer and status', async () => {
    const created = await createService('web');
    expect(await admitViaWebhook(review('Service', 'CREATE', created))).toEqual({ allowed: true });
    await drain();
    expect(reconciled).toEqual(['web']);
    expect(await hostname('web')).toMatch(/\.elb\./);
    const owned = await inventory(sandbox.aws, sandbox.cluster);
    expect(owned.loadBalancers).toHaveLength(1);
  });

  test('the webhook denies invalid ferry annotations and queues nothing', async () => {
    const bad = { ...(await core.readNamespacedService({ namespace: 'default', name: 'web' })) };
    bad.metadata = { ...bad.metadata, annotations: { 'ferry.io/scheme': 'public' } };
    expect(await admitViaWebhook(review('Service', 'UPDATE', bad, bad))).toEqual({
      allowed: false,
      message: 'ferry: annotation ferry.io/scheme="public" is invalid: expected `internal` or `internet-facing`',
    });
    await drain();
    expect(reconciled).toEqual([]);
  });

  test('a wrong token is refused before anything else', async () => {
    const res = await webhookHandler(urlEvent(review('Service', 'CREATE', await createService('sneaky')), '/admit/wrong'));
    expect(res.statusCode).toBe(401);
    await drain();
    expect(reconciled).toEqual([]);
  });

  test('a Node added fans out to every load balancer Service', async () => {
    const instance = await launchInstance(sandbox.aws, sandbox.seeded.subnets.find((s) => s.role === 'private')!, 'node-9', sandbox.seeded.nodeSecurityGroupId);
    const node = await core.createNode({ body: nodeFor(instance, 9) });
    expect(await admitViaWebhook(review('Node', 'CREATE', node))).toEqual({ allowed: true });
    await drain();
    expect(reconciled[0]).toBe('fanout');
    expect(reconciled.slice(1).sort()).toEqual(['sneaky', 'web']);
    const owned = await inventory(sandbox.aws, sandbox.cluster, true);
    const web = owned.targetGroups.filter((g) => g.tags['ferry.io/service'] === 'default/web');
    for (const g of web) expect(g.targets!.map((t) => t.id)).toContain(instance.id);
  });

  test('out-of-order and duplicated admissions reach the same end state as in-order ones', async () => {
    // Two identical Services go through the same three changes; one Service's admissions
    // arrive in order, the other's reversed and each twice.
    const steps = [{ 'ferry.io/healthcheck-interval': '30' }, { 'ferry.io/healthcheck-interval': '30', 'ferry.io/cross-zone': 'true' }];
    const reviewsFor = async (name: string) => {
      const bodies = [review('Service', 'CREATE', await createService(name))];
      for (const annotations of steps) {
        const before = await core.readNamespacedService({ namespace: 'default', name });
        const after = await core.patchNamespacedService({ namespace: 'default', name, body: { metadata: { annotations } } }, mergePatch);
        bodies.push(review('Service', 'UPDATE', after, before));
      }
      return bodies;
    };
    for (const body of await reviewsFor('ordered')) await admitViaWebhook(body);
    await drain();
    const shuffled = (await reviewsFor('shuffled')).reverse();
    for (const body of [...shuffled, ...shuffled]) await admitViaWebhook(body);
    await drain();
    // SQS FIFO dropped the duplicates by their deduplication ids.
    expect(reconciled.filter((n) => n === 'shuffled')).toHaveLength(3);

    const owned = await inventory(sandbox.aws, sandbox.cluster, true);
    const shape = (service: string) => {
      const lb = owned.loadBalancers.find((l) => l.tags['ferry.io/service'] === `default/${service}`)!;
      const groups = owned.targetGroups.filter((g) => g.tags['ferry.io/service'] === `default/${service}`);
      return {
        lb: { scheme: lb.scheme, attributes: lb.attributes, listeners: lb.listeners.map((l) => [l.port, l.protocol]) },
        groups: groups.map((g) => ({ protocol: g.protocol, healthCheck: g.healthCheck, targets: g.targets!.map((t) => t.id).sort() })).sort((a, b) => a.healthCheck.port.toString().localeCompare(b.healthCheck.port.toString())),
      };
    };
    expect(shape('shuffled')).toEqual(shape('ordered'));
    expect(shape('shuffled').lb.attributes?.['load_balancing.cross_zone.enabled']).toBe('true');
  });

  test('the scheduled resync spends no call on unchanged Services, paces their deep checks through the delay queue, and they find nothing to do', async () => {
    const event: ScheduledEvent = {
      version: '0',
      id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2026-11-26T16:05:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/ferry-resync'],
      detail: {},
    };
    sandbox.awsEmulator?.clearCalls();
    const t0 = Date.now();
    const out = (await resyncHandler(event)) as ResyncReport;
    if (sandbox.awsEmulator) {
      // The sweep's batched reads (and gc's look at the nodes' groups), nothing per Service;
      // the first sweep also records on the backend group what the nodes admit (one write).
      const counts = sandbox.awsEmulator.countCalls({ includeFailed: true });
      const ops = Object.keys(counts).filter((op) => !['DescribeLoadBalancers', 'DescribeTargetGroups', 'DescribeSecurityGroups', 'GetResources', 'DescribeTags', 'SendMessageBatch'].includes(op));
      expect(ops.filter((op) => op !== 'CreateTags')).toEqual([]);
      expect(counts.CreateTags ?? 0).toBeLessThanOrEqual(1);
    }
    // Four converged Services of 9 reads each fit one interval at 10 reads/s: all are due now.
    expect(out).toMatchObject({ services: 4, inSync: 4, changed: [], drifted: [], deep: { queued: 4, reads: 36, windowSeconds: 300 } });
    // The first checks are due at once; the rest wait in the delay queue, a read's worth apart.
    await drain();
    const immediate = reconciled.length;
    expect(immediate).toBeGreaterThan(0);
    expect(immediate).toBeLessThan(4);

    const started = Date.now();
    const forwarded: number[] = [];
    while (immediate + forwarded.reduce((a, b) => a + b, 0) < 4 && Date.now() - started < 20_000) {
      const due = await sqs.send(new ReceiveMessageCommand({ QueueUrl: delayQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      if (!due.Messages?.length) continue;
      const records = due.Messages.map((m) => ({ body: m.Body! }) as SQSRecord);
      forwarded.push(((await resyncHandler({ Records: records })) as { forwarded: number }).forwarded);
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: delayQueueUrl, Entries: due.Messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })) }));
    }
    // 36 reads at 10 a second: the last check is held back 2 s (SQS delays are whole seconds).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    await drain();
    expect(reconciled.sort()).toEqual(['ordered', 'shuffled', 'sneaky', 'web']);
  }, 30_000);
});
