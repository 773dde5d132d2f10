import { AllocateAddressCommand } from '@aws-sdk/client-ec2';
import {
  DescribeListenerAttributesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyListenerAttributesCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { toTags } from '../../src/aws/convert';
import { embeddedTest, startWorld, type World } from '../support/world';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Every setting a Service can ask for reaches AWS, and a change made behind ferry's back is
 * drift that the next full check puts back with one in-place call.
 */
describe('NLB settings', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
  }, 30_000);
  afterAll(() => world.close());

  const elb = () => world.aws.elbv2;
  const loadBalancerOf = async (name: string): Promise<LoadBalancer> => {
    const report = await world.reconcile(name);
    expect(report.outcome).toMatch(/ensured|in-sync|unchanged/);
    const service = await world.core.readNamespacedService({ namespace: 'default', name });
    const hostname = service.status!.loadBalancer!.ingress![0]!.hostname!;
    const all = (await elb().send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
    return all.find((lb) => lb.DNSName === hostname)!;
  };
  const writesOf = async (name: string) => {
    world.aws.calls.reset();
    const report = await world.reconcile(name, true);
    return report.actions.map((a) => a.op);
  };

  test('load balancer attributes (access logs, DNS client routing) reach AWS; a hand-made change is put back', async () => {
    await world.createService('lb-attrs', {}, {
      'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true,access_logs.s3.bucket=my-logs,dns_record.client_routing_policy=availability_zone_affinity',
    });
    const lb = await loadBalancerOf('lb-attrs');
    const attributes = async () => toTags((await elb().send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Attributes);
    expect(await attributes()).toMatchObject({ 'access_logs.s3.enabled': 'true', 'access_logs.s3.bucket': 'my-logs', 'dns_record.client_routing_policy': 'availability_zone_affinity' });
    await elb().send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn, Attributes: [{ Key: 'zonal_shift.config.enabled', Value: 'true' }] }));
    expect(await writesOf('lb-attrs')).toEqual(['ModifyLoadBalancerAttributes']);
    expect((await attributes())['zonal_shift.config.enabled']).toBe('false');
  });

  test('target group attributes (client IP preservation, connection termination) reach every target group; drift is put back', async () => {
    await world.createService('tg-attrs', {}, { 'ferry.io/target-group-attributes': 'preserve_client_ip.enabled=false,deregistration_delay.connection_termination.enabled=true' });
    const lb = await loadBalancerOf('tg-attrs');
    const groups = (await elb().send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!;
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      const attributes = toTags((await elb().send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: g.TargetGroupArn }))).Attributes);
      expect(attributes).toMatchObject({ 'preserve_client_ip.enabled': 'false', 'deregistration_delay.connection_termination.enabled': 'true' });
    }
    await elb().send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: groups[0]!.TargetGroupArn, Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'true' }] }));
    expect(await writesOf('tg-attrs')).toEqual(['ModifyTargetGroupAttributes']);
  });

  test('the TCP idle timeout reaches the TCP listeners; drift is put back', async () => {
    await world.createService('idle', {}, { 'ferry.io/listener-attributes': 'tcp.idle_timeout.seconds=900' });
    const lb = await loadBalancerOf('idle');
    const listeners = (await elb().send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners!;
    const idle = async (arn: string) => toTags((await elb().send(new DescribeListenerAttributesCommand({ ListenerArn: arn }))).Attributes)['tcp.idle_timeout.seconds'];
    for (const l of listeners) expect(await idle(l.ListenerArn!)).toBe('900');
    await elb().send(new ModifyListenerAttributesCommand({ ListenerArn: listeners[0]!.ListenerArn, Attributes: [{ Key: 'tcp.idle_timeout.seconds', Value: '60' }] }));
    expect(await writesOf('idle')).toEqual(['ModifyListenerAttributes']);
    expect(await idle(listeners[0]!.ListenerArn!)).toBe('900');
  });

  test('the ALPN policy reaches the TLS listeners; TLS to the targets makes TLS target groups; drift is put back', async () => {
    await world.createService('alpn', {}, { 'ferry.io/ssl-cert': CERT, 'ferry.io/alpn-policy': 'HTTP2Preferred', 'ferry.io/backend-protocol': 'tls' });
    const lb = await loadBalancerOf('alpn');
    const listeners = (await elb().send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners!;
    expect(listeners.map((l) => [l.Protocol, l.AlpnPolicy])).toEqual([
      ['TLS', ['HTTP2Preferred']],
      ['TLS', ['HTTP2Preferred']],
    ]);
    const groups = (await elb().send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups!;
    expect(groups.map((g) => g.Protocol)).toEqual(['TLS', 'TLS']);
    await elb().send(new ModifyListenerCommand({ ListenerArn: listeners[0]!.ListenerArn, AlpnPolicy: ['HTTP1Only'] }));
    expect(await writesOf('alpn')).toEqual(['ModifyListener']);
  });

  embeddedTest('Elastic IPs become the internet-facing NLB\'s addresses; other ones replace it, new one first', async () => {
    const allocate = async () => (await world.aws.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
    const first = [await allocate(), await allocate(), await allocate()];
    await world.createService('eip', {}, { 'ferry.io/scheme': 'internet-facing', 'ferry.io/eip-allocations': first.join(',') });
    const lb = await loadBalancerOf('eip');
    const allocations = (l: LoadBalancer) => l.AvailabilityZones!.flatMap((z) => z.LoadBalancerAddresses ?? []).map((a) => a.AllocationId).filter(Boolean).sort();
    expect(allocations(lb)).toEqual([...first].sort());
    const second = [await allocate(), await allocate(), await allocate()];
    await world.core.patchNamespacedService({ namespace: 'default', name: 'eip', body: { metadata: { annotations: { 'ferry.io/eip-allocations': second.join(',') } } } }, mergePatch);
    const report = await world.reconcile('eip');
    const ops = report.actions.map((a) => a.op);
    expect(ops.indexOf('CreateLoadBalancer')).toBeLessThan(ops.indexOf('DeleteLoadBalancer'));
    expect(allocations(await loadBalancerOf('eip'))).toEqual([...second].sort());
  });

  embeddedTest('private IPv4 addresses go to the subnets that hold them', async () => {
    const subnets = world.seeded.subnets.filter((s) => s.role === 'private');
    // The seed gives private subnets 10.<base>.<zone>.0/24; .50 is inside each and not reserved.
    const addresses = world.seeded.instances.length > 0 ? subnets.map((_, i) => `10.${world.seeded.instances[0]!.privateIp.split('.')[1]}.${i}.50`) : [];
    await world.createService('pinned', {}, { 'ferry.io/private-ipv4-addresses': addresses.join(',') });
    const lb = await loadBalancerOf('pinned');
    const pinned = lb.AvailabilityZones!.flatMap((z) => (z.LoadBalancerAddresses ?? []).map((a) => a.PrivateIPv4Address)).filter(Boolean).sort();
    expect(pinned).toEqual([...addresses].sort());
  });
});

describe.each(['sparse', 'moto'] as const)('the full check against an AWS that reports like %s', (fidelity) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2, emulator: { fidelity } });
  }, 30_000);
  afterAll(() => world.close());

  embeddedTest('makes no write on a Service it just created', async () => {
    await world.createService('web', {}, { 'ferry.io/healthcheck-path': '/ready', 'ferry.io/deregistration-delay': '30' });
    expect((await world.reconcile('web')).outcome).toBe('ensured');
    world.aws.calls.reset();
    const report = await world.reconcile('web', true);
    expect(report.actions).toEqual([]);
    expect(report.outcome).toBe('in-sync');
  });
});
