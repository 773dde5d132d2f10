import {
  AllocateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeAddressesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenerAttributesCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  SetIpAddressTypeCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsEmulator, type Fidelity } from '../../src/aws';
import { createNetwork, credentials, embeddedOnly, failure, launch, region, uniqueName, type Network } from './harness';

/**
 * `AwsEmulator.start({ fidelity: 'moto' })` reproduces what moto (LocalStack's EC2 and
 * ELBv2 engine) reports or refuses differently from AWS; each case below names the
 * difference the README table lists. The same calls in `aws` mode show AWS's answer.
 */
interface World {
  readonly emu: AwsEmulator;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly net: Network;
}

function useWorld(fidelity: Fidelity): () => World {
  let world: World | undefined;
  beforeAll(async () => {
    const emu = await AwsEmulator.start({ fidelity });
    const ec2 = new EC2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
    const elbv2 = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
    world = { emu, ec2, elbv2, net: await createNetwork(ec2) };
  });
  afterAll(async () => {
    world?.ec2.destroy();
    world?.elbv2.destroy();
    await world?.emu.close();
  });
  return () => world!;
}

async function targetGroup(w: World, extra: Partial<ConstructorParameters<typeof CreateTargetGroupCommand>[0]> = {}): Promise<TargetGroup> {
  const out = await w.elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: 'TCP', Port: 30080, VpcId: w.net.vpcId, ...extra }));
  return out.TargetGroups![0]!;
}

async function nlb(w: World, extra: Partial<ConstructorParameters<typeof CreateLoadBalancerCommand>[0]> = {}) {
  const out = await w.elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('nlb'), Type: 'network', Subnets: [w.net.subnetIds[0]], ...extra }));
  return out.LoadBalancers![0]!;
}

const keys = (attributes: { Key?: string }[] | undefined): string[] => (attributes ?? []).map((a) => a.Key!).sort();

embeddedOnly('fidelity: moto', () => {
  const moto = useWorld('moto');
  const aws = useWorld('aws');

  it('rejects an unknown fidelity', async () => {
    await expect(AwsEmulator.start({ fidelity: 'localstack' as Fidelity })).rejects.toThrow(/fidelity must be one of aws, sparse, moto/);
  });

  describe('target group attributes (moto FakeTargetGroup.__init__)', () => {
    it('leaves out every NLB key until it has been set, and lists moto’s own defaults', async () => {
      const tg = await targetGroup(moto());
      const before = await moto().elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
      expect(keys(before.Attributes)).toEqual(
        [
          'deregistration_delay.timeout_seconds',
          'load_balancing.algorithm.type',
          'load_balancing.cross_zone.enabled',
          'slow_start.duration_seconds',
          'stickiness.enabled',
          'stickiness.type',
          'waf.fail_open.enabled',
        ].sort(),
      );
      const modified = await moto().elbv2.send(
        new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: 'false' }] }),
      );
      // moto answers with the request's attributes only.
      expect(modified.Attributes).toEqual([{ Key: 'proxy_protocol_v2.enabled', Value: 'false' }]);
      const after = await moto().elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
      expect(after.Attributes).toContainEqual({ Key: 'proxy_protocol_v2.enabled', Value: 'false' });
      expect(keys(after.Attributes)).not.toContain('preserve_client_ip.enabled');
    });

    it('has no stickiness.type for TLS target groups', async () => {
      const tg = await targetGroup(moto(), { Protocol: 'TLS' });
      const out = await moto().elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
      expect(keys(out.Attributes)).not.toContain('stickiness.type');
    });

    it('refuses AWS’s maximum deregistration delay (range(0, 3600))', async () => {
      const tg = await targetGroup(moto());
      const err = await failure(
        moto().elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '3600' }] })),
      );
      expect(err).toMatchObject({ name: 'ValidationError', status: 400 });
      const ok = await targetGroup(aws());
      await aws().elbv2.send(
        new ModifyTargetGroupAttributesCommand({ TargetGroupArn: ok.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '3600' }] }),
      );
    });

    it('in aws mode reports every attribute, and Modify answers all of them', async () => {
      const tg = await targetGroup(aws());
      const out = await aws().elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
      expect(keys(out.Attributes)).toEqual(expect.arrayContaining(['proxy_protocol_v2.enabled', 'preserve_client_ip.enabled']));
      const modified = await aws().elbv2.send(
        new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }] }),
      );
      expect(modified.Attributes!.length).toBe(out.Attributes!.length);
    });
  });

  describe('load balancer attributes (moto FakeLoadBalancer)', () => {
    it('leaves out access_logs.s3.enabled and the NLB keys until set', async () => {
      const lb = await nlb(moto());
      const out = await moto().elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
      expect(keys(out.Attributes)).toEqual(['access_logs.s3.bucket', 'access_logs.s3.prefix', 'deletion_protection.enabled', 'load_balancing.cross_zone.enabled']);
      await moto().elbv2.send(
        new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'dns_record.client_routing_policy', Value: 'availability_zone_affinity' }] }),
      );
      const after = await moto().elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
      expect(after.Attributes).toContainEqual({ Key: 'dns_record.client_routing_policy', Value: 'availability_zone_affinity' });
    });

    it('refuses keys outside moto’s VALID_ATTRS with InvalidConfigurationRequest', async () => {
      const lb = await nlb(moto());
      const err = await failure(
        moto().elbv2.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'secondary_ips.auto_assigned.per_subnet', Value: '1' }] })),
      );
      expect(err).toMatchObject({ name: 'InvalidConfigurationRequestException', message: 'Key secondary_ips.auto_assigned.per_subnet not valid' });
    });
  });

  describe('load balancers', () => {
    it('are provisioning on creation, with moto’s DNS name and hosted zone, ipv4 whatever was asked, and no addresses', async () => {
      const eip = await moto().ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      const name = uniqueName('nlb');
      const lb = await nlb(moto(), {
        Name: name,
        Subnets: undefined,
        SubnetMappings: [{ SubnetId: moto().net.subnetIds[0], AllocationId: eip.AllocationId }],
        IpAddressType: 'dualstack',
      });
      expect(lb.State?.Code).toBe('provisioning');
      expect(lb.DNSName).toBe(`${name}-1.us-east-1.elb.amazonaws.com`);
      expect(lb.CanonicalHostedZoneId).toBe('Z2P70J7EXAMPLE');
      expect(lb.IpAddressType).toBe('ipv4');
      const described = (await moto().elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }))).LoadBalancers![0]!;
      expect(described.State?.Code).toBe('active');
      expect(described.AvailabilityZones?.[0]?.LoadBalancerAddresses).toBeUndefined();
      // moto never associates the Elastic IP with the load balancer.
      const address = (await moto().ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses![0]!;
      expect(address.AssociationId).toBeUndefined();
    });

    it('SetSubnets wants two zones and answers without IpAddressType', async () => {
      const lb = await nlb(moto());
      const one = await failure(moto().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [moto().net.subnetIds[0]] })));
      expect(one).toMatchObject({ name: 'InvalidConfigurationRequestException', message: 'More than 1 availability zone must be specified' });
      const two = await moto().elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [moto().net.subnetIds[0], moto().net.subnetIds[1]] }));
      expect(two.AvailabilityZones).toHaveLength(2);
      expect(two.IpAddressType).toBeUndefined();
    });

    it('SetSecurityGroups answers no SecurityGroupIds', async () => {
      const lb = await nlb(moto(), { SecurityGroups: [moto().net.securityGroupId] });
      const out = await moto().elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: [moto().net.securityGroupId] }));
      expect(out.SecurityGroupIds).toBeUndefined();
      const lbAws = await nlb(aws(), { SecurityGroups: [aws().net.securityGroupId] });
      const outAws = await aws().elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: lbAws.LoadBalancerArn, SecurityGroups: [aws().net.securityGroupId] }));
      expect(outAws.SecurityGroupIds).toEqual([aws().net.securityGroupId]);
    });

    it('SetIpAddressType refuses dualstack for internal load balancers', async () => {
      const lb = await nlb(moto(), { Scheme: 'internal' });
      const err = await failure(moto().elbv2.send(new SetIpAddressTypeCommand({ LoadBalancerArn: lb.LoadBalancerArn, IpAddressType: 'dualstack' })));
      expect(err).toMatchObject({ name: 'InvalidConfigurationRequestException', message: 'Internal load balancers cannot be dualstack' });
    });

    it('AddTags allows 10 tags and calls the error TooManyTagsError', async () => {
      const lb = await nlb(moto());
      const tags = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      const err = await failure(moto().elbv2.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!], Tags: tags })));
      expect(err).toMatchObject({ name: 'TooManyTagsError', status: 400 });
      await moto().elbv2.send(new AddTagsCommand({ ResourceArns: [lb.LoadBalancerArn!], Tags: tags.slice(0, 10) }));
    });
  });

  describe('target groups', () => {
    it('give HTTP health checks no path, matcher 200 and timeout 10', async () => {
      const tg = await targetGroup(moto(), { HealthCheckProtocol: 'HTTP' });
      expect(tg).toMatchObject({ HealthCheckProtocol: 'HTTP', Matcher: { HttpCode: '200' }, HealthCheckTimeoutSeconds: 10 });
      expect(tg.HealthCheckPath).toBeUndefined();
      const awsTg = await targetGroup(aws(), { HealthCheckProtocol: 'HTTP' });
      expect(awsTg).toMatchObject({ HealthCheckPath: '/', Matcher: { HttpCode: '200-399' }, HealthCheckTimeoutSeconds: 6 });
    });

    it('ModifyTargetGroup ignores Matcher on NLB target groups and adds no path when switching to HTTP', async () => {
      const tg = await targetGroup(moto(), { HealthCheckProtocol: 'HTTP' });
      const out = await moto().elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, Matcher: { HttpCode: '200-299' } }));
      expect(out.TargetGroups![0]!.Matcher).toEqual({ HttpCode: '200' });
      const tcp = await targetGroup(moto());
      const switched = await moto().elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: tcp.TargetGroupArn, HealthCheckProtocol: 'HTTP' }));
      expect(switched.TargetGroups![0]!.HealthCheckPath).toBeUndefined();
      expect(switched.TargetGroups![0]!.Matcher).toBeUndefined();
    });

    it('DescribeTargetGroups by a load balancer without any fails, and lists by name without paging', async () => {
      const lb = await nlb(moto());
      const err = await failure(moto().elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn })));
      expect(err).toMatchObject({ name: 'TargetGroupNotFoundException', status: 400 });
      const lbAws = await nlb(aws());
      expect((await aws().elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lbAws.LoadBalancerArn }))).TargetGroups).toEqual([]);

      const b = await targetGroup(moto(), { Name: uniqueName('zz') });
      const a = await targetGroup(moto(), { Name: uniqueName('aa') });
      const page = await moto().elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [b.TargetGroupArn!, a.TargetGroupArn!], PageSize: 1 }));
      expect(page.TargetGroups!.map((t) => t.TargetGroupName)).toEqual([a.TargetGroupName, b.TargetGroupName]);
      expect(page.NextMarker).toBeUndefined();
    });

    it('DeleteTargetGroup fails for one that is gone', async () => {
      const tg = await targetGroup(moto());
      await moto().elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
      const err = await failure(moto().elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn })));
      expect(err).toMatchObject({ name: 'TargetGroupNotFoundException' });
    });

    it('keys targets by id and refuses to deregister one that is not registered', async () => {
      const tg = await targetGroup(moto());
      const node = await launch(moto().ec2, moto().net.subnetIds[0], uniqueName('node'));
      await moto().elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: node.id, Port: 30080 }] }));
      await moto().elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: node.id, Port: 30081 }] }));
      const health = await moto().elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
      expect(health.TargetHealthDescriptions!.map((d) => d.Target?.Port)).toEqual([30081]);
      const other = await launch(moto().ec2, moto().net.subnetIds[0], uniqueName('node'));
      const err = await failure(moto().elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: [{ Id: other.id }] })));
      expect(err).toMatchObject({ name: 'InvalidTargetException' });
    });
  });

  describe('listeners', () => {
    async function tlsListener(w: World) {
      const lb = await nlb(w);
      const tg = await targetGroup(w, { Protocol: 'TLS', Port: 443 });
      const out = await w.elbv2.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Protocol: 'TLS',
          Port: 443,
          Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/one' }],
          AlpnPolicy: ['HTTP2Preferred'],
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      );
      return out.Listeners![0]!;
    }

    it('ModifyListener refuses TLS as a protocol, and ignores AlpnPolicy and Certificates of TLS listeners', async () => {
      const listener = await tlsListener(moto());
      const err = await failure(moto().elbv2.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Protocol: 'TLS' })));
      expect(err).toMatchObject({ name: 'UnsupportedProtocolException', message: 'Protocol TLS is not supported' });
      const out = await moto().elbv2.send(
        new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, AlpnPolicy: ['HTTP1Only'], Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/two' }] }),
      );
      expect(out.Listeners![0]).toMatchObject({ AlpnPolicy: ['HTTP2Preferred'], Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/one' }] });
      const awsListener = await tlsListener(aws());
      const awsOut = await aws().elbv2.send(new ModifyListenerCommand({ ListenerArn: awsListener.ListenerArn, Protocol: 'TLS', AlpnPolicy: ['HTTP1Only'] }));
      expect(awsOut.Listeners![0]!.AlpnPolicy).toEqual(['HTTP1Only']);
    });

    it('report tcp.idle_timeout.seconds on every listener, TLS ones too', async () => {
      const listener = await tlsListener(moto());
      const out = await moto().elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: listener.ListenerArn }));
      expect(out.Attributes).toEqual([{ Key: 'tcp.idle_timeout.seconds', Value: '350' }]);
      const awsListener = await tlsListener(aws());
      expect((await aws().elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: awsListener.ListenerArn }))).Attributes).toEqual([]);
    });
  });

  describe('security groups (moto ec2 models/security_groups.py)', () => {
    async function groupWithRule(w: World) {
      const group = await w.ec2.send(new CreateSecurityGroupCommand({ VpcId: w.net.vpcId, GroupName: uniqueName('node'), Description: 'nodes' }));
      await w.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 30080, ToPort: 30080, UserIdGroupPairs: [{ GroupId: w.net.securityGroupId, Description: 'ferry' }] }],
        }),
      );
      return group.GroupId!;
    }

    it('RevokeSecurityGroupIngress needs the description to match, and answers `return` alone', async () => {
      const groupId = await groupWithRule(moto());
      const bare = { IpProtocol: 'tcp', FromPort: 30080, ToPort: 30080, UserIdGroupPairs: [{ GroupId: moto().net.securityGroupId }] };
      const err = await failure(moto().ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [bare] })));
      expect(err).toMatchObject({ name: 'InvalidPermission.NotFound' });
      const out = await moto().ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ ...bare, UserIdGroupPairs: [{ GroupId: moto().net.securityGroupId, Description: 'ferry' }] }] }),
      );
      expect(out.Return).toBe(true);
      expect(out.RevokedSecurityGroupRules).toBeUndefined();

      const awsGroup = await groupWithRule(aws());
      const awsOut = await aws().ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: awsGroup, IpPermissions: [{ ...bare, UserIdGroupPairs: [{ GroupId: aws().net.securityGroupId }] }] }),
      );
      expect(awsOut.RevokedSecurityGroupRules).toHaveLength(1);
    });

    it('DescribeSecurityGroups does not page', async () => {
      for (let i = 0; i < 5; i++) await moto().ec2.send(new CreateSecurityGroupCommand({ VpcId: moto().net.vpcId, GroupName: uniqueName('many'), Description: 'many' }));
      const out = await moto().ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 5 }));
      expect(out.NextToken).toBeUndefined();
      expect(out.SecurityGroups!.length).toBeGreaterThan(5);
    });
  });
});

embeddedOnly('fidelity: sparse', () => {
  const sparse = useWorld('sparse');

  it('leaves unset attributes out, as moto does, and is AWS otherwise', async () => {
    const tg = await targetGroup(sparse(), { HealthCheckProtocol: 'HTTP' });
    expect(tg).toMatchObject({ HealthCheckPath: '/', Matcher: { HttpCode: '200-399' } });
    const before = await sparse().elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
    expect(keys(before.Attributes)).not.toContain('proxy_protocol_v2.enabled');
    const modified = await sparse().elbv2.send(
      new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn, Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }] }),
    );
    expect(keys(modified.Attributes)).toContain('proxy_protocol_v2.enabled');
    const lb = await nlb(sparse());
    expect(lb.State?.Code).toBe('active');
    const attributes = await sparse().elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    expect(keys(attributes.Attributes)).not.toContain('access_logs.s3.enabled');
  });
});
