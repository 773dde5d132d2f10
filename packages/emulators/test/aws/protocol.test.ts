import { CreateSubnetCommand, CreateTagsCommand, CreateVpcCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand, CreateTargetGroupCommand, DescribeTagsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsEmulator } from '../../src/aws';
import { createNetwork, embeddedOnly, failure, useAws } from './harness';

/** The wire protocol itself: envelopes, routing by Version, errors, escaping. */

const aws = useAws();

async function post(endpoint: string, form: Record<string, string>): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

embeddedOnly('query protocol envelopes', () => {
  it('wraps ELBv2 results in XResponse/XResult with ResponseMetadata', async () => {
    const { status, body, headers } = await post(aws().endpoint, { Action: 'DescribeLoadBalancers', Version: '2015-12-01' });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('text/xml');
    expect(body).toMatch(
      /^<DescribeLoadBalancersResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><DescribeLoadBalancersResult>.*<\/DescribeLoadBalancersResult><ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/DescribeLoadBalancersResponse>$/,
    );
  });

  it('puts EC2 results directly under XResponse after requestId', async () => {
    const { status, body } = await post(aws().endpoint, { Action: 'DescribeVpcs', Version: '2016-11-15' });
    expect(status).toBe(200);
    expect(body).toMatch(/<DescribeVpcsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId>/);
  });

  it('answers an unknown action with each service’s InvalidAction error', async () => {
    const elb = await post(aws().endpoint, { Action: 'FlyToTheMoon', Version: '2015-12-01' });
    expect(elb.status).toBe(400);
    expect(elb.body).toMatch(
      /^<ErrorResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code><Message>Could not find operation FlyToTheMoon for version 2015-12-01<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
    const ec2 = await post(aws().endpoint, { Action: 'FlyToTheMoon', Version: '2016-11-15' });
    expect(ec2.status).toBe(400);
    expect(ec2.body).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>The action FlyToTheMoon is not valid for this web service\.<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });

  it('routes by Version: DescribeTags means ELBv2 only under 2015-12-01', async () => {
    const elb = await post(aws().endpoint, { Action: 'DescribeTags', Version: '2015-12-01' });
    expect(elb.body).toContain('<Code>ValidationError</Code>');
    const ec2 = await post(aws().endpoint, { Action: 'DescribeTags', Version: '2016-11-15' });
    expect(ec2.body).toContain('<Code>InvalidAction</Code>');
    const unknown = await post(aws().endpoint, { Action: 'DescribeTags', Version: '1999-01-01' });
    expect(unknown.status).toBe(400);
  });

  it('answers EC2 DryRun with DryRunOperation (412)', async () => {
    const err = await failure(aws().ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', DryRun: true })));
    expect(err).toMatchObject({ name: 'DryRunOperation', status: 412 });
  });
});

describe('encoding', () => {
  it('round-trips XML-special and non-ASCII characters in tags', async () => {
    const { ec2, elbv2 } = aws();
    const net = await createNetwork(ec2);
    const nasty = `<a href="x">&amp; 'quoted' ünïcødé ✓ + spaces</a>`;
    await ec2.send(new CreateTagsCommand({ Resources: [net.vpcId], Tags: [{ Key: 'note', Value: nasty }] }));
    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [net.vpcId] }))).Vpcs![0]!;
    expect(vpc.Tags?.find((t) => t.Key === 'note')?.Value).toBe(nasty);
    const tg = await elbv2.send(new CreateTargetGroupCommand({ Name: 'enc-tg', Protocol: 'TCP', Port: 1, VpcId: net.vpcId, Tags: [{ Key: 'k&<>', Value: nasty }] }));
    const tags = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [tg.TargetGroups![0]!.TargetGroupArn!] }));
    expect(tags.TagDescriptions?.[0]?.Tags).toEqual([{ Key: 'k&<>', Value: nasty }]);
  });

  it('accepts any region and any credentials', async () => {
    const endpoint = aws().endpoint;
    const client = new EC2Client({ endpoint, region: 'ap-south-2', credentials: { accessKeyId: 'AKIAWHATEVER', secretAccessKey: 'nope', sessionToken: 'tok' }, maxAttempts: 1 });
    await expect(client.send(new DescribeVpcsCommand({}))).resolves.toBeDefined();
    client.destroy();
  });
});

embeddedOnly('emulator options', () => {
  it('uses the configured region and account in ARNs, zones and DNS names', async () => {
    const emu = await AwsEmulator.start({ region: 'eu-west-1', accountId: '123456789012' });
    const config = { endpoint: emu.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 };
    const ec2 = new EC2Client(config);
    const elbv2 = new ElasticLoadBalancingV2Client(config);
    try {
      expect(emu.region).toBe('eu-west-1');
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      expect(vpc.Vpc?.OwnerId).toBe('123456789012');
      const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.0.1.0/24' }));
      expect(subnet.Subnet?.AvailabilityZone).toBe('eu-west-1a');
      const lb = await elbv2.send(new CreateLoadBalancerCommand({ Name: 'eu', Type: 'network', Subnets: [subnet.Subnet!.SubnetId!] }));
      const created = lb.LoadBalancers![0]!;
      expect(created.LoadBalancerArn).toMatch(/^arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer\/net\/eu\//);
      expect(created.DNSName).toMatch(/\.elb\.eu-west-1\.amazonaws\.com$/);
      expect(created.AvailabilityZones?.[0]?.ZoneName).toBe('eu-west-1a');
    } finally {
      ec2.destroy();
      elbv2.destroy();
      await emu.close();
    }
  });
});
