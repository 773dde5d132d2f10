import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeListenerAttributesCommand,
  ModifyListenerAttributesCommand,
  ModifyListenerCommand,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createNetwork, embeddedOnly, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;
const certificate = 'arn:aws:acm:us-east-1:000000000000:certificate/listener-attributes';

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

/** A fresh NLB with one listener forwarding to a new target group of `targetProtocol`. */
async function listener(protocol: 'TCP' | 'TLS' | 'UDP', targetProtocol: string = protocol, extra: Record<string, unknown> = {}): Promise<Listener> {
  const lb = (await aws().elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('nlb'), Type: 'network', Subnets: [net.subnetIds[0]] }))).LoadBalancers![0]!;
  const tg = (await aws().elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: targetProtocol as 'TCP', Port: 30443, VpcId: net.vpcId }))).TargetGroups![0]!;
  const tls = protocol === 'TLS' ? { Certificates: [{ CertificateArn: certificate }] } : {};
  const out = await aws().elbv2.send(
    new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: protocol, Port: 443, DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }], ...tls, ...extra }),
  );
  return out.Listeners![0]!;
}

function setIdleTimeout(arn: string | undefined, value: string, key = 'tcp.idle_timeout.seconds') {
  return aws().elbv2.send(new ModifyListenerAttributesCommand({ ListenerArn: arn, Attributes: [{ Key: key, Value: value }] }));
}

describe('listener attributes: tcp.idle_timeout.seconds', () => {
  it('is 350 on a new TCP listener and takes 60 to 6000', async () => {
    const tcp = await listener('TCP');
    expect((await aws().elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: tcp.ListenerArn }))).Attributes).toEqual([
      { Key: 'tcp.idle_timeout.seconds', Value: '350' },
    ]);
    expect((await setIdleTimeout(tcp.ListenerArn, '60')).Attributes).toEqual([{ Key: 'tcp.idle_timeout.seconds', Value: '60' }]);
    await setIdleTimeout(tcp.ListenerArn, '6000');
    expect((await aws().elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: tcp.ListenerArn }))).Attributes).toEqual([
      { Key: 'tcp.idle_timeout.seconds', Value: '6000' },
    ]);
  });

  it.each(['59', '6001', 'soon', '-1'])('refuses %j', async (value) => {
    const tcp = await listener('TCP');
    expect(await failure(setIdleTimeout(tcp.ListenerArn, value))).toMatchObject({ name: 'ValidationError', status: 400 });
  });

  it('refuses unknown keys', async () => {
    const tcp = await listener('TCP');
    expect(await failure(setIdleTimeout(tcp.ListenerArn, '10', 'idle_timeout.timeout_seconds'))).toMatchObject({ name: 'ValidationError' });
  });

  it('exists only on TCP listeners: TLS keeps 350 and UDP has none', async () => {
    const tls = await listener('TLS', 'TCP');
    expect((await aws().elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: tls.ListenerArn }))).Attributes).toEqual([]);
    expect(await failure(setIdleTimeout(tls.ListenerArn, '600'))).toMatchObject({ name: 'InvalidConfigurationRequestException' });
    const udp = await listener('UDP');
    expect(await failure(setIdleTimeout(udp.ListenerArn, '600'))).toMatchObject({ name: 'InvalidConfigurationRequestException' });
  });

  it('fails for a listener that does not exist', async () => {
    const tcp = await listener('TCP');
    const gone = tcp.ListenerArn!.replace(/[0-9a-f]{16}$/, '0000000000000000');
    expect(await failure(aws().elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: gone })))).toMatchObject({ name: 'ListenerNotFoundException' });
  });
});

describe('TLS to the targets and ALPN', () => {
  it('a TLS listener forwards to a TLS target group, whose health check defaults to TCP', async () => {
    const out = await listener('TLS', 'TLS');
    expect(out).toMatchObject({ Protocol: 'TLS', SslPolicy: 'ELBSecurityPolicy-2016-08' });
    const tg = (await aws().elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tls'), Protocol: 'TLS', Port: 8443, VpcId: net.vpcId }))).TargetGroups![0]!;
    expect(tg).toMatchObject({ Protocol: 'TLS', HealthCheckProtocol: 'TCP', HealthCheckPort: 'traffic-port' });
  });

  it.each(['HTTP1Only', 'HTTP2Only', 'HTTP2Optional', 'HTTP2Preferred', 'None'])('takes the ALPN policy %s on a TLS listener', async (policy) => {
    const out = await listener('TLS', 'TCP', { AlpnPolicy: [policy] });
    expect(out.AlpnPolicy).toEqual([policy]);
  });

  it('refuses an unknown or second ALPN policy, and ALPN on TCP listeners', async () => {
    expect(await failure(listener('TLS', 'TCP', { AlpnPolicy: ['HTTP3'] }))).toMatchObject({ name: 'ALPNPolicyNotSupportedException' });
    expect(await failure(listener('TLS', 'TCP', { AlpnPolicy: ['HTTP1Only', 'HTTP2Only'] }))).toMatchObject({ name: 'ALPNPolicyNotSupportedException' });
    expect(await failure(listener('TCP', 'TCP', { AlpnPolicy: ['HTTP1Only'] }))).toMatchObject({ name: 'ValidationError' });
  });

  it('ModifyListener changes the ALPN policy in place', async () => {
    const out = await listener('TLS', 'TLS', { AlpnPolicy: ['HTTP2Preferred'] });
    const modified = await aws().elbv2.send(new ModifyListenerCommand({ ListenerArn: out.ListenerArn, AlpnPolicy: ['HTTP1Only'] }));
    expect(modified.Listeners![0]).toMatchObject({ AlpnPolicy: ['HTTP1Only'], Protocol: 'TLS' });
  });
});

embeddedOnly('listener attributes in the snapshot', () => {
  it('shows the idle timeout', async () => {
    const tcp = await listener('TCP');
    await setIdleTimeout(tcp.ListenerArn, '900');
    const row = aws().emulator!.snapshot().listeners.find((l) => l.attributes['tcp.idle_timeout.seconds'] === '900');
    expect(row).toBeDefined();
  });
});
