import {
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import { toTags } from '../../src/aws/convert';
import { handleWebhook, newWebhookStats } from '../../src/hosts/webhook';
import type { QueuedMessage } from '../../src/queue/messages';
import { review } from '../support/admission';
import { startWorld, type World } from '../support/world';

const B = 'service.beta.kubernetes.io/';
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';

/**
 * Moving from the AWS Load Balancer Controller (LBC) or the cloud provider (CPA): a Service
 * written for either, given ferry's class, gets the NLB that controller documents it would
 * build; a Service either one serves is left alone.
 */
describe('migration from LBC and CPA', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
  }, 30_000);
  afterAll(() => world.close());

  const elb = () => world.aws.elbv2;
  const publicSubnets = () => world.seeded.subnets.filter((s) => s.role === 'public').map((s) => s.id).sort();
  const privateSubnets = () => world.seeded.subnets.filter((s) => s.role === 'private').map((s) => s.id).sort();
  const instances = () => world.seeded.instances.map((i) => i.id).sort();

  /** Everything AWS holds for the Service's NLB, as LBC's and CPA's docs describe an NLB. */
  async function built(name: string) {
    const report = await world.reconcile(name);
    expect(report.outcome).toBe('ensured');
    const service = await world.core.readNamespacedService({ namespace: 'default', name });
    const hostname = service.status!.loadBalancer!.ingress![0]!.hostname!;
    const lb: LoadBalancer = (await elb().send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.find((l) => l.DNSName === hostname)!;
    const arn = lb.LoadBalancerArn!;
    const [attributes, tags, listeners, groups] = await Promise.all([
      elb().send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })),
      elb().send(new DescribeTagsCommand({ ResourceArns: [arn] })),
      elb().send(new DescribeListenersCommand({ LoadBalancerArn: arn })),
      elb().send(new DescribeTargetGroupsCommand({ LoadBalancerArn: arn })),
    ]);
    const targetGroups = await Promise.all(
      groups.TargetGroups!.map(async (g) => ({
        arn: g.TargetGroupArn!,
        protocol: g.Protocol,
        port: g.Port,
        targetType: g.TargetType,
        healthCheck: {
          protocol: g.HealthCheckProtocol,
          port: g.HealthCheckPort,
          path: g.HealthCheckPath,
          intervalSeconds: g.HealthCheckIntervalSeconds,
          timeoutSeconds: g.HealthCheckTimeoutSeconds,
          healthyThreshold: g.HealthyThresholdCount,
          unhealthyThreshold: g.UnhealthyThresholdCount,
          matcher: g.Matcher?.HttpCode,
        },
        attributes: toTags((await elb().send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: g.TargetGroupArn }))).Attributes),
        targets: (await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }))).TargetHealthDescriptions!.map((t) => t.Target!.Id!).sort(),
      })),
    );
    const byArn = new Map(targetGroups.map((g) => [g.arn, g]));
    return {
      lb,
      subnets: lb.AvailabilityZones!.map((z) => z.SubnetId!).sort(),
      attributes: toTags(attributes.Attributes),
      tags: toTags(tags.TagDescriptions![0]!.Tags),
      listeners: listeners
        .Listeners!.map((l) => ({
          port: l.Port,
          protocol: l.Protocol,
          sslPolicy: l.SslPolicy,
          certificates: (l.Certificates ?? []).map((c) => c.CertificateArn),
          targetGroup: byArn.get(l.DefaultActions![0]!.TargetGroupArn!)!,
        }))
        .sort((a, b) => a.port! - b.port!),
    };
  }

  test('a Service with LBC annotations gets the same NLB that LBC would build', async () => {
    // A Service as written for LBC (docs/guide/service/annotations.md), created with ferry's class.
    await world.createService('lbc-web', { loadBalancerClass: 'ferry.io/nlb' }, {
      [`${B}aws-load-balancer-type`]: 'external',
      [`${B}aws-load-balancer-nlb-target-type`]: 'instance',
      [`${B}aws-load-balancer-scheme`]: 'internet-facing',
      [`${B}aws-load-balancer-healthcheck-protocol`]: 'http',
      [`${B}aws-load-balancer-healthcheck-path`]: '/ready',
      [`${B}aws-load-balancer-healthcheck-port`]: 'traffic-port',
      [`${B}aws-load-balancer-attributes`]: 'load_balancing.cross_zone.enabled=true,access_logs.s3.enabled=true,access_logs.s3.bucket=my-logs,access_logs.s3.prefix=web',
      [`${B}aws-load-balancer-additional-resource-tags`]: 'team=web,env=prod',
      [`${B}aws-load-balancer-proxy-protocol`]: '*',
      [`${B}aws-load-balancer-ssl-cert`]: CERT,
      [`${B}aws-load-balancer-ssl-ports`]: 'https',
      [`${B}aws-load-balancer-target-group-attributes`]: 'deregistration_delay.timeout_seconds=30,preserve_client_ip.enabled=true',
    });
    const nlb = await built('lbc-web');

    expect(nlb.lb).toMatchObject({ Type: 'network', Scheme: 'internet-facing', IpAddressType: 'ipv4' });
    expect(nlb.subnets).toEqual(publicSubnets());
    expect(nlb.attributes).toMatchObject({
      'load_balancing.cross_zone.enabled': 'true',
      'access_logs.s3.enabled': 'true',
      'access_logs.s3.bucket': 'my-logs',
      'access_logs.s3.prefix': 'web',
    });
    expect(nlb.tags).toMatchObject({ team: 'web', env: 'prod' });
    // LBC: TLS listeners on the ssl-ports only, with the certificate and its default policy
    // (--default-ssl-policy ELBSecurityPolicy-2016-08); TCP to the targets unless backend-protocol is ssl.
    expect(nlb.listeners.map((l) => [l.port, l.protocol, l.sslPolicy, l.certificates])).toEqual([
      [80, 'TCP', undefined, []],
      [443, 'TLS', 'ELBSecurityPolicy-2016-08', [CERT]],
    ]);
    for (const listener of nlb.listeners) {
      const tg = listener.targetGroup;
      expect(tg).toMatchObject({ protocol: 'TCP', targetType: 'instance', targets: instances() });
      // LBC's documented defaults where the Service is silent: interval 10, thresholds 3, success
      // codes 200-399. Its 10 s timeout cannot equal the interval here ("Health check interval must
      // be greater than the timeout"), so ferry sends 9.
      expect(tg.healthCheck).toEqual({ protocol: 'HTTP', port: 'traffic-port', path: '/ready', intervalSeconds: 10, timeoutSeconds: 9, healthyThreshold: 3, unhealthyThreshold: 3, matcher: '200-399' });
      expect(tg.attributes).toMatchObject({
        'deregistration_delay.timeout_seconds': '30',
        'preserve_client_ip.enabled': 'true',
        'proxy_protocol_v2.enabled': 'true',
        'stickiness.enabled': 'false',
      });
    }
    expect(nlb.listeners.map((l) => l.targetGroup.port)).toEqual((await world.core.readNamespacedService({ namespace: 'default', name: 'lbc-web' })).spec!.ports!.map((p) => p.nodePort));
    // Converged: a full check finds nothing to do.
    expect((await world.reconcile('lbc-web', true)).outcome).toBe('in-sync');
  });

  test("a Service with CPA's annotations gets the NLB CPA builds: internet-facing, CPA's health check", async () => {
    await world.createService('cpa-web', { loadBalancerClass: 'ferry.io/nlb' }, {
      [`${B}aws-load-balancer-type`]: 'nlb',
      [`${B}aws-load-balancer-cross-zone-load-balancing-enabled`]: 'true',
      [`${B}aws-load-balancer-additional-resource-tags`]: 'team=legacy',
    });
    const nlb = await built('cpa-web');
    expect(nlb.lb).toMatchObject({ Type: 'network', Scheme: 'internet-facing' });
    expect(nlb.subnets).toEqual(publicSubnets());
    expect(nlb.attributes).toMatchObject({ 'load_balancing.cross_zone.enabled': 'true', 'access_logs.s3.enabled': 'false' });
    expect(nlb.tags).toMatchObject({ team: 'legacy' });
    expect(nlb.listeners.map((l) => [l.port, l.protocol])).toEqual([
      [80, 'TCP'],
      [443, 'TCP'],
    ]);
    for (const { targetGroup: tg } of nlb.listeners) {
      expect(tg).toMatchObject({ protocol: 'TCP', targetType: 'instance', targets: instances() });
      // CPA's buildNLBHealthCheckConfiguration: TCP on the traffic port every 30 s, thresholds 3;
      // it sends no timeout, so AWS's 10 s for TCP applies.
      expect(tg.healthCheck).toEqual({ protocol: 'TCP', port: 'traffic-port', path: undefined, intervalSeconds: 30, timeoutSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 3, matcher: undefined });
      expect(tg.attributes['proxy_protocol_v2.enabled']).toBe('false');
    }
  });

  test('CPA reads aws-load-balancer-internal: an internal NLB in the internal subnets', async () => {
    await world.createService('cpa-internal', { loadBalancerClass: 'ferry.io/nlb' }, { [`${B}aws-load-balancer-type`]: 'nlb', [`${B}aws-load-balancer-internal`]: 'true' });
    const nlb = await built('cpa-internal');
    expect(nlb.lb.Scheme).toBe('internal');
    expect(nlb.subnets).toEqual(privateSubnets());
  });

  test('an LBC annotation ferry cannot honour is named in a Warning Event when ferry acts on the Service', async () => {
    await world.createService('unsupported', { loadBalancerClass: 'ferry.io/nlb' }, { [`${B}aws-load-balancer-multi-cluster-target-group`]: 'true' });
    expect((await world.reconcile('unsupported')).outcome).toBe('ensured');
    const events = await world.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=unsupported' });
    const warning = events.items.find((e) => e.reason === 'UnsupportedAnnotation');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toMatch(/^Annotations ferry does not honour as written: service\.beta\.kubernetes\.io\/aws-load-balancer-multi-cluster-target-group: not honoured/);
  });

  describe('a Service already served by another controller is left alone', () => {
    const served = async (name: string, annotations: Record<string, string>, hostname?: string): Promise<V1Service> => {
      await world.createService(name, {}, annotations);
      if (hostname) {
        const current = await world.core.readNamespacedService({ namespace: 'default', name });
        await world.core.replaceNamespacedServiceStatus({ namespace: 'default', name, body: { ...current, status: { loadBalancer: { ingress: [{ hostname }] } } } });
      }
      return world.core.readNamespacedService({ namespace: 'default', name });
    };

    test.each([
      ["LBC's type annotation", 'lbc-owned', { [`${B}aws-load-balancer-type`]: 'external', [`${B}aws-load-balancer-nlb-target-type`]: 'ip' }, undefined],
      ["CPA's type annotation and its address", 'cpa-owned', { [`${B}aws-load-balancer-type`]: 'nlb' }, 'a0123456789abcdef0123456789abcde-0123456789abcdef.elb.us-east-1.amazonaws.com'],
      ['an address another controller wrote', 'clb-owned', {}, 'a0123456789abcdef0123456789abcdf-1234567890.us-east-1.elb.amazonaws.com'],
    ])('%s: no AWS call, status and metadata untouched, the webhook allows it and queues nothing', async (_, name, annotations, hostname) => {
      const before = await served(name, annotations, hostname);
      world.aws.calls.reset();
      const report = await world.reconcile(name);
      expect(report.outcome).toBe('ignored');
      expect(world.aws.calls.total()).toBe(0);
      const after = await world.core.readNamespacedService({ namespace: 'default', name });
      expect(after.status).toEqual(before.status);
      expect(after.metadata?.finalizers).toEqual(before.metadata?.finalizers);
      expect(after.metadata?.annotations).toEqual(before.metadata?.annotations);
      // It says so on the Service, once looked at.
      const events = await world.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
      expect(events.items.map((e) => [e.type, e.reason])).toContainEqual(['Normal', 'ServedByAnotherController']);

      // The webhook sees the Service as the API server sends it on the next change.
      const sent: QueuedMessage[] = [];
      const body = review('Service', 'UPDATE', JSON.parse(JSON.stringify(after)), JSON.parse(JSON.stringify(after)));
      const answer = await handleWebhook(
        { method: 'POST', path: '/admit/token-of-sixteen-chars', headers: {}, body: Buffer.from(JSON.stringify(body)) },
        { token: 'token-of-sixteen-chars', queue: { send: async (m) => void sent.push(...m) }, config: world.options, controllerUsernames: [], enqueueTimeoutMs: 1000, stats: newWebhookStats() },
      );
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).response).toEqual({ uid: expect.any(String), allowed: true });
      expect(sent).toEqual([]);
    });

    test('ferry.io/adopt-load-balancer is the opt-in: ferry takes the Service up', async () => {
      const before = await served('opt-in', { [`${B}aws-load-balancer-type`]: 'nlb' }, 'a0123456789abcdef0123456789abcd0-0123456789abcdef.elb.us-east-1.amazonaws.com');
      expect(before.metadata?.finalizers).toBeUndefined();
      const sent: QueuedMessage[] = [];
      const changed = { ...before, metadata: { ...before.metadata, annotations: { ...before.metadata?.annotations, 'ferry.io/adopt-load-balancer': 'a0123456789abcdef0123456789abcd0' } } };
      const body = review('Service', 'UPDATE', JSON.parse(JSON.stringify(changed)), JSON.parse(JSON.stringify(before)));
      await handleWebhook(
        { method: 'POST', path: '/admit/token-of-sixteen-chars', headers: {}, body: Buffer.from(JSON.stringify(body)) },
        { token: 'token-of-sixteen-chars', queue: { send: async (m) => void sent.push(...m) }, config: world.options, controllerUsernames: [], enqueueTimeoutMs: 1000, stats: newWebhookStats() },
      );
      expect(sent.map((m) => m.group)).toEqual(['default/opt-in']);
    });
  });
});
