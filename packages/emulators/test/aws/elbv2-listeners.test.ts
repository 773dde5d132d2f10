import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  type CreateListenerCommandInput,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { createNetwork, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;
const certificate = 'arn:aws:acm:us-east-1:000000000000:certificate/0b7a1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d';

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function nlb(): Promise<LoadBalancer> {
  const out = await aws().elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]] }));
  return out.LoadBalancers![0]!;
}

async function tg(protocol = 'TCP', vpcId = net.vpcId): Promise<TargetGroup> {
  const out = await aws().elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: protocol as 'TCP', Port: 30000, VpcId: vpcId }));
  return out.TargetGroups![0]!;
}

function listener(lb: LoadBalancer, target: TargetGroup, extra: Partial<CreateListenerCommandInput> = {}) {
  return aws().elbv2.send(
    new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Port: 80, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: target.TargetGroupArn }], ...extra }),
  );
}

describe('CreateListener', () => {
  it('creates a TCP listener forwarding to one target group', async () => {
    const lb = await nlb();
    const target = await tg();
    const out = (await listener(lb, target)).Listeners![0]!;
    expect(out.ListenerArn).toMatch(new RegExp(`^arn:aws:elasticloadbalancing:us-east-1:\\d{12}:listener/net/${lb.LoadBalancerName}/[0-9a-f]{16}/[0-9a-f]{16}$`));
    expect(out.ListenerArn).toContain(lb.LoadBalancerArn!.split('/').pop());
    expect(out).toMatchObject({ LoadBalancerArn: lb.LoadBalancerArn, Port: 80, Protocol: 'TCP' });
    expect(out.DefaultActions?.[0]).toMatchObject({ Type: 'forward', TargetGroupArn: target.TargetGroupArn });
    expect(out.SslPolicy).toBeUndefined();
  });

  it('is idempotent for the same port and settings, and refuses a different listener on the port', async () => {
    const lb = await nlb();
    const [a, b] = [await tg(), await tg()];
    const first = (await listener(lb, a)).Listeners![0]!;
    expect((await listener(lb, a)).Listeners![0]!.ListenerArn).toBe(first.ListenerArn);
    expect(await failure(listener(lb, b))).toEqual({
      name: 'DuplicateListenerException',
      message: `A listener already exists on this port for this load balancer '${lb.LoadBalancerArn}'`,
      status: 400,
    });
    // NLBs cannot have a UDP listener next to a TCP one on the same port either (TCP_UDP exists for that).
    expect((await failure(listener(lb, await tg('UDP'), { Protocol: 'UDP' }))).name).toBe('DuplicateListenerException');
  });

  it('lets one target group serve several listeners of one load balancer, but not of two', async () => {
    const [lb1, lb2] = [await nlb(), await nlb()];
    const shared = await tg();
    await listener(lb1, shared);
    await listener(lb1, shared, { Port: 8080 });
    expect(await failure(listener(lb2, shared))).toEqual({
      name: 'TargetGroupAssociationLimitException',
      message: `The following target groups cannot be associated with more than one load balancer: ${shared.TargetGroupArn}`,
      status: 400,
    });
  });

  it.each([
    ['TCP', 'TCP', true],
    ['TCP', 'UDP', false],
    ['TLS', 'TCP', true],
    ['TLS', 'TLS', true],
    ['TLS', 'UDP', false],
    ['UDP', 'UDP', true],
    ['UDP', 'TCP', false],
    ['TCP_UDP', 'TCP_UDP', true],
    ['TCP_UDP', 'TCP', false],
  ])('a %s listener forwarding to a %s target group: allowed=%s', async (listenerProtocol, targetProtocol, allowed) => {
    const lb = await nlb();
    const target = await tg(targetProtocol);
    const tls = listenerProtocol === 'TLS' ? { Certificates: [{ CertificateArn: certificate }] } : {};
    const call = listener(lb, target, { Protocol: listenerProtocol as 'TCP', ...tls });
    if (allowed) await expect(call).resolves.toBeDefined();
    else
      expect(await failure(call)).toMatchObject({
        name: 'IncompatibleProtocolsException',
        message: `Listener protocol '${listenerProtocol}' is not supported with a target group with the protocol '${targetProtocol}'`,
      });
  });

  it('needs a certificate for TLS and defaults the SSL policy to ELBSecurityPolicy-2016-08', async () => {
    const lb = await nlb();
    const target = await tg();
    expect((await failure(listener(lb, target, { Protocol: 'TLS', Port: 443 }))).name).toBe('ValidationError');
    const out = (await listener(lb, target, { Protocol: 'TLS', Port: 443, Certificates: [{ CertificateArn: certificate }] })).Listeners![0]!;
    expect(out).toMatchObject({ Protocol: 'TLS', SslPolicy: 'ELBSecurityPolicy-2016-08', Certificates: [{ CertificateArn: certificate }] });
    expect((await failure(listener(lb, target, { Protocol: 'TLS', Port: 8443, Certificates: [{ CertificateArn: certificate }], SslPolicy: 'NoSuchPolicy' }))).name).toBe(
      'SSLPolicyNotFoundException',
    );
  });

  it('refuses target groups that are missing or in another VPC', async () => {
    const { ec2, elbv2 } = aws();
    const lb = await nlb();
    const gone = await tg();
    await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: gone.TargetGroupArn }));
    expect((await failure(listener(lb, gone))).name).toBe('TargetGroupNotFoundException');
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }));
    await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.3.1.0/24' }));
    const elsewhere = await tg('TCP', vpc.Vpc!.VpcId!);
    expect((await failure(listener(lb, elsewhere))).name).toBe('InvalidConfigurationRequestException');
  });

  it('fails for a missing load balancer', async () => {
    const lb = await nlb();
    const target = await tg();
    await aws().elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    expect((await failure(listener(lb, target))).name).toBe('LoadBalancerNotFoundException');
  });
});

describe('DescribeListeners, ModifyListener, DeleteListener', () => {
  it('describes by load balancer (paged) and by ARN', async () => {
    const lb = await nlb();
    const target = await tg();
    const arns: string[] = [];
    for (const port of [80, 81, 82]) arns.push((await listener(lb, target, { Port: port })).Listeners![0]!.ListenerArn!);
    const { elbv2 } = aws();
    const first = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn, PageSize: 2 }));
    const second = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn, PageSize: 2, Marker: first.NextMarker }));
    expect([...first.Listeners!, ...second.Listeners!].map((l) => l.Port)).toEqual([80, 81, 82]);
    expect(second.NextMarker).toBeUndefined();
    const byArn = await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns[1]!] }));
    expect(byArn.Listeners?.map((l) => l.Port)).toEqual([81]);
    expect(await failure(elbv2.send(new DescribeListenersCommand({ ListenerArns: [arns[1]!.replace(/[0-9a-f]{16}$/, '0000000000000000')] })))).toEqual({
      name: 'ListenerNotFoundException',
      message: 'One or more listeners not found',
      status: 400,
    });
  });

  it('repoints a listener to another target group and changes its port', async () => {
    const lb = await nlb();
    const [a, b] = [await tg(), await tg()];
    const created = (await listener(lb, a)).Listeners![0]!;
    const { elbv2 } = aws();
    const out = await elbv2.send(new ModifyListenerCommand({ ListenerArn: created.ListenerArn, Port: 8080, DefaultActions: [{ Type: 'forward', TargetGroupArn: b.TargetGroupArn }] }));
    expect(out.Listeners?.[0]).toMatchObject({ Port: 8080, Protocol: 'TCP', DefaultActions: [expect.objectContaining({ TargetGroupArn: b.TargetGroupArn })] });
    // The old target group is free again and can be deleted.
    await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: a.TargetGroupArn }));
  });

  it('deletes listeners, fails for missing ones, and removes them with their load balancer', async () => {
    const lb = await nlb();
    const target = await tg();
    const created = (await listener(lb, target)).Listeners![0]!;
    const { elbv2 } = aws();
    await elbv2.send(new DeleteListenerCommand({ ListenerArn: created.ListenerArn }));
    expect((await failure(elbv2.send(new DeleteListenerCommand({ ListenerArn: created.ListenerArn })))).name).toBe('ListenerNotFoundException');

    const again = (await listener(lb, target)).Listeners![0]!;
    await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    expect((await failure(elbv2.send(new DescribeListenersCommand({ ListenerArns: [again.ListenerArn!] })))).name).toBe('ListenerNotFoundException');
    // With its listener gone, the target group is no longer in use.
    await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: target.TargetGroupArn }));
  });
});
