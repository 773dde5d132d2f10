import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type CreateTargetGroupCommandInput,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createNetwork, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function createTg(name: string, extra: Partial<CreateTargetGroupCommandInput> = {}): Promise<TargetGroup> {
  const out = await aws().elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 30080, VpcId: net.vpcId, ...extra }));
  return out.TargetGroups![0]!;
}

async function attributes(arn: string | undefined): Promise<Record<string, string | undefined>> {
  const out = await aws().elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
  return Object.fromEntries(out.Attributes!.map((a) => [a.Key!, a.Value]));
}

describe('CreateTargetGroup', () => {
  it('creates a TCP target group with the NLB health check defaults', async () => {
    const name = uniqueName('tg');
    const tg = await createTg(name);
    expect(tg.TargetGroupArn).toMatch(new RegExp(`^arn:aws:elasticloadbalancing:us-east-1:\\d{12}:targetgroup/${name}/[0-9a-f]{16}$`));
    expect(tg).toMatchObject({
      TargetGroupName: name,
      Protocol: 'TCP',
      Port: 30080,
      VpcId: net.vpcId,
      TargetType: 'instance',
      IpAddressType: 'ipv4',
      HealthCheckProtocol: 'TCP',
      HealthCheckPort: 'traffic-port',
      HealthCheckEnabled: true,
      HealthCheckIntervalSeconds: 30,
      HealthCheckTimeoutSeconds: 10,
      HealthyThresholdCount: 5,
      UnhealthyThresholdCount: 2,
      LoadBalancerArns: [],
    });
    expect(tg.HealthCheckPath).toBeUndefined();
    expect(tg.Matcher).toBeUndefined();
  });

  it('defaults HTTP health checks to path "/", matcher 200-399 and a 6 second timeout', async () => {
    const tg = await createTg(uniqueName('http'), { HealthCheckProtocol: 'HTTP', HealthCheckPort: '10256' });
    expect(tg).toMatchObject({ HealthCheckProtocol: 'HTTP', HealthCheckPort: '10256', HealthCheckPath: '/', Matcher: { HttpCode: '200-399' }, HealthCheckTimeoutSeconds: 6 });
  });

  it.each([
    ['a'.repeat(33), `Target group name '${'a'.repeat(33)}' cannot be longer than '32' characters`],
    ['tg_1', "Target group name 'tg_1' can only contain characters that are alphanumeric characters or hyphens(-)"],
    ['-tg', "Target group name '-tg' cannot begin or end with '-'"],
    ['tg-', "Target group name 'tg-' cannot begin or end with '-'"],
  ])('rejects the name %j', async (name, message) => {
    expect(await failure(createTg(name))).toMatchObject({ name: 'ValidationError', message });
  });

  it.each<[string, Partial<CreateTargetGroupCommandInput>]>([
    ['an unknown VPC', { VpcId: 'vpc-0000000000000000f' }],
    ['port 0', { Port: 0 }],
    ['port 65536', { Port: 65536 }],
    ['an interval below 5', { HealthCheckIntervalSeconds: 4 }],
    ['an interval above 300', { HealthCheckIntervalSeconds: 301 }],
    ['a timeout below 2', { HealthCheckTimeoutSeconds: 1 }],
    ['a timeout above 120', { HealthCheckTimeoutSeconds: 121 }],
    ['a timeout not below the interval', { HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 10 }],
    ['a healthy threshold of 1', { HealthyThresholdCount: 1 }],
    ['an unhealthy threshold of 11', { UnhealthyThresholdCount: 11 }],
    ['a path on a TCP health check', { HealthCheckPath: '/healthz' }],
    ['a matcher out of range', { HealthCheckProtocol: 'HTTP', Matcher: { HttpCode: '100-199' } }],
    ['a UDP health check', { HealthCheckProtocol: 'UDP' }],
    ['an HTTP target group', { Protocol: 'HTTP' }],
  ])('rejects %s with a ValidationError', async (_what, extra) => {
    expect(await failure(createTg(uniqueName('bad'), extra))).toMatchObject({ name: 'ValidationError', status: 400 });
  });

  it('is idempotent for identical settings and refuses different ones', async () => {
    const name = uniqueName('idem');
    const first = await createTg(name);
    expect((await createTg(name)).TargetGroupArn).toBe(first.TargetGroupArn);
    expect(await failure(createTg(name, { Port: 30081 }))).toMatchObject({
      name: 'DuplicateTargetGroupNameException',
      message: `A target group with the same name '${name}' exists, but with different settings`,
    });
  });
});

describe('DescribeTargetGroups', () => {
  it('finds by name, by ARN and by load balancer, and reports the load balancer', async () => {
    const { elbv2 } = aws();
    const tg = await createTg(uniqueName('find'));
    const lb = (await elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]] }))).LoadBalancers![0]!;
    await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Port: 80, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
    const byName = await elbv2.send(new DescribeTargetGroupsCommand({ Names: [tg.TargetGroupName!] }));
    expect(byName.TargetGroups?.[0]?.LoadBalancerArns).toEqual([lb.LoadBalancerArn]);
    const byArn = await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn!] }));
    expect(byArn.TargetGroups?.map((t) => t.TargetGroupName)).toEqual([tg.TargetGroupName]);
    const byLb = await elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    expect(byLb.TargetGroups?.map((t) => t.TargetGroupArn)).toEqual([tg.TargetGroupArn]);
  });

  it('fails with TargetGroupNotFound when any is missing', async () => {
    const { elbv2 } = aws();
    const tg = await createTg(uniqueName('nf'));
    expect(await failure(elbv2.send(new DescribeTargetGroupsCommand({ Names: [tg.TargetGroupName!, 'no-such-tg'] })))).toEqual({
      name: 'TargetGroupNotFoundException',
      message: 'One or more target groups not found',
      status: 400,
    });
    const ghost = tg.TargetGroupArn!.replace(/[0-9a-f]{16}$/, '0000000000000000');
    expect((await failure(elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [ghost] })))).name).toBe('TargetGroupNotFoundException');
  });

  it('pages through every target group', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createTg(uniqueName('page'))).TargetGroupArn!);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await aws().elbv2.send(new DescribeTargetGroupsCommand({ PageSize: 2, Marker: marker }));
      seen.push(...page.TargetGroups!.map((t) => t.TargetGroupArn!));
      marker = page.NextMarker;
    } while (marker);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(created));
  });
});

describe('ModifyTargetGroup', () => {
  it('changes health check settings and keeps the others', async () => {
    const tg = await createTg(uniqueName('mod'));
    const out = await aws().elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, HealthCheckProtocol: 'HTTP', HealthCheckPath: '/healthz', HealthCheckPort: '10256', HealthyThresholdCount: 3 }),
    );
    expect(out.TargetGroups?.[0]).toMatchObject({
      Protocol: 'TCP',
      Port: 30080,
      HealthCheckProtocol: 'HTTP',
      HealthCheckPath: '/healthz',
      HealthCheckPort: '10256',
      HealthyThresholdCount: 3,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200-399' },
    });
  });

  it('fails for a missing target group', async () => {
    const tg = await createTg(uniqueName('gone'));
    await aws().elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    expect((await failure(aws().elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, HealthyThresholdCount: 3 })))).name).toBe(
      'TargetGroupNotFoundException',
    );
  });
});

describe('DeleteTargetGroup', () => {
  it('deletes, and succeeds again for a target group that is already gone', async () => {
    const { elbv2 } = aws();
    const tg = await createTg(uniqueName('del'));
    await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    // ResourceInUse is DeleteTargetGroup's only documented error: a repeated delete succeeds.
    await expect(elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }))).resolves.toBeDefined();
    expect((await failure(elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn!] })))).name).toBe('TargetGroupNotFoundException');
  });

  it('rejects a malformed ARN with a ValidationError', async () => {
    const err = await failure(aws().elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: 'not-an-arn' })));
    expect(err).toMatchObject({ name: 'ValidationError', message: "'not-an-arn' is not a valid target group ARN" });
  });

  it('refuses while a listener uses the target group', async () => {
    const { elbv2 } = aws();
    const tg = await createTg(uniqueName('used'));
    const lb = (await elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]] }))).LoadBalancers![0]!;
    await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Port: 443, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }] }));
    expect(await failure(elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn })))).toEqual({
      name: 'ResourceInUseException',
      message: `Target group '${tg.TargetGroupArn}' is currently in use by a listener or a rule`,
      status: 400,
    });
  });
});

describe('target group attributes', () => {
  it('reports the NLB keys and defaults, which depend on protocol and target type', async () => {
    const instanceTcp = await attributes((await createTg(uniqueName('a'))).TargetGroupArn);
    expect(instanceTcp).toEqual({
      'deregistration_delay.timeout_seconds': '300',
      'deregistration_delay.connection_termination.enabled': 'false',
      'stickiness.enabled': 'false',
      'stickiness.type': 'source_ip',
      'proxy_protocol_v2.enabled': 'false',
      'preserve_client_ip.enabled': 'true',
      'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
      'target_group_health.dns_failover.minimum_healthy_targets.count': '1',
      'target_group_health.dns_failover.minimum_healthy_targets.percentage': 'off',
      'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count': '1',
      'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage': 'off',
      'target_health_state.unhealthy.connection_termination.enabled': 'true',
      'target_health_state.unhealthy.draining_interval_seconds': '0',
    });
    const ipTcp = await attributes((await createTg(uniqueName('b'), { TargetType: 'ip' })).TargetGroupArn);
    expect(ipTcp['preserve_client_ip.enabled']).toBe('false');
    const ipUdp = await attributes((await createTg(uniqueName('c'), { TargetType: 'ip', Protocol: 'UDP' })).TargetGroupArn);
    expect(ipUdp['preserve_client_ip.enabled']).toBe('true');
    expect(ipUdp['deregistration_delay.connection_termination.enabled']).toBe('true');
  });

  it('modifies known keys and rejects unknown keys and out-of-range values', async () => {
    const tg = await createTg(uniqueName('mod'));
    const { elbv2 } = aws();
    const modify = (Key: string, Value: string) => elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key, Value }] }));
    await modify('deregistration_delay.timeout_seconds', '0');
    await modify('proxy_protocol_v2.enabled', 'true');
    const now = await attributes(tg.TargetGroupArn);
    expect(now['deregistration_delay.timeout_seconds']).toBe('0');
    expect(now['proxy_protocol_v2.enabled']).toBe('true');
    expect(await failure(modify('slow_start.duration_seconds', '30'))).toMatchObject({
      name: 'ValidationError',
      message: "Target group attribute key 'slow_start.duration_seconds' is not recognized",
    });
    expect((await failure(modify('deregistration_delay.timeout_seconds', '3601'))).name).toBe('ValidationError');
    expect((await failure(modify('stickiness.type', 'lb_cookie'))).name).toBe('ValidationError');
  });

  it('keeps client IP preservation on for UDP target groups', async () => {
    const tg = await createTg(uniqueName('udp'), { Protocol: 'UDP' });
    const err = await failure(
      aws().elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'false' }] })),
    );
    expect(err.name).toBe('InvalidConfigurationRequestException');
  });
});
