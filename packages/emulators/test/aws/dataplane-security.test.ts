import { AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { ModifyTargetGroupAttributesCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { DropEvent } from '../../src/aws';
import { embeddedOnly } from './harness';
import { echo, greet, httpHealth, nlb, node, securityGroup, udpAsk, useDataPlane, waitForHealth, type DataPlaneWorld, type Nlb } from './dataplane-support';

/**
 * Security groups on both sides of the NLB: the load balancer's own groups filter
 * clients; the targets' groups must let the load balancer (its group or its addresses)
 * in on the traffic and health check ports. A dropped connection is black-holed: the
 * client hears nothing and no byte reaches a target.
 */
// Real sockets and timers on a shared, loaded machine: each wait below is bounded on its own, and a
// test may take a few of them.
jest.setTimeout(30_000);

const world = useDataPlane({ timeScale: 0.02 });

async function register(w: DataPlaneWorld, lb: Nlb, id: string): Promise<void> {
  await w.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: lb.targetGroupArn, Targets: [{ Id: id }] }));
}

function zoneA(w: DataPlaneWorld, lb: Nlb): string {
  return w.dataPlane.nodes(lb.arn)[0]!.address;
}

function dropsOf(w: DataPlaneWorld): DropEvent[] {
  const drops: DropEvent[] = [];
  w.dataPlane.on('drop', (event: DropEvent) => drops.push(event));
  return drops;
}

embeddedOnly("the load balancer's security groups", () => {
  it('let in only the clients a rule allows, on the listener protocol and port; the rest are black-holed', async () => {
    const w = world();
    const drops = dropsOf(w);
    const lbGroup = await securityGroup(w.ec2, w.net.vpcId, [{ IpProtocol: 'tcp', FromPort: 7201, ToPort: 7201, IpRanges: [{ CidrIp: `${w.client(1)}/32` }] }]);
    const lb = await nlb(w, { port: 7201, protocol: 'TCP_UDP', subnets: [w.net.subnetIds[0]], securityGroups: [lbGroup] });
    const target = await node(w, w.net.subnetIds[0], w.host(1));
    const server = await echo(w, 'in', target.address, 31000, { udp: true });
    await register(w, lb, target.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');

    expect((await greet(zoneA(w, lb), 7201, { localAddress: w.client(1) })).line).toBe(`in ${w.client(1)}`);
    const started = Date.now();
    const refused = greet(zoneA(w, lb), 7201, { localAddress: w.client(2), withinMs: 6000 });
    expect(await udpAsk(zoneA(w, lb), 7201, 'udp?', { localAddress: w.client(1), withinMs: 300 })).toBe('timeout');
    // Held without an answer, then reset after the SYN retry time (127 s × 0.02 ≈ 2.5 s).
    expect((await refused).line).toBe('reset');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(server.connections.filter((s) => s.remoteAddress === w.client(2))).toHaveLength(0);
    expect(server.datagrams).toHaveLength(0);
    expect(drops.map((d) => [d.transport, d.client.address, d.reason])).toEqual([
      ['tcp', w.client(2), 'load-balancer-security-group'],
      ['udp', w.client(1), 'load-balancer-security-group'],
    ]);

    await w.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: lbGroup, IpPermissions: [{ IpProtocol: 'udp', FromPort: 7201, ToPort: 7201, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    expect(await udpAsk(zoneA(w, lb), 7201, 'udp!', { localAddress: w.client(1) })).toBe(`in ${w.client(1)} udp!`);
  });
});

embeddedOnly("the targets' security groups", () => {
  it('make a target that does not allow the load balancer unhealthy with Target.Timeout, and keep traffic from it, until a rule names the load balancer group', async () => {
    const w = world();
    const lbGroup = await securityGroup(w.ec2, w.net.vpcId, [{ IpProtocol: 'tcp', FromPort: 7210, ToPort: 7210, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);
    const closed = await securityGroup(w.ec2, w.net.vpcId);
    const lb = await nlb(w, { port: 7210, subnets: [w.net.subnetIds[0]], securityGroups: [lbGroup] });
    const target = await node(w, w.net.subnetIds[0], w.host(10), [closed]);
    const server = await echo(w, 'guarded', target.address, 31000);
    await register(w, lb, target.id);
    expect(await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'unhealthy')).toEqual({ State: 'unhealthy', Reason: 'Target.Timeout', Description: 'Request timed out' });
    // Failing open sends the connection to the target anyway, where its group drops it.
    expect((await greet(zoneA(w, lb), 7210, { localAddress: w.client(3), withinMs: 400 })).line).toBe('timeout');
    expect(server.connections).toHaveLength(0);

    await w.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: closed, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 31000, ToPort: 31000, UserIdGroupPairs: [{ GroupId: lbGroup }] }] }));
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    // The group rule lets the client's preserved address through too.
    expect((await greet(zoneA(w, lb), 7210, { localAddress: w.client(3) })).line).toBe(`guarded ${w.client(3)}`);
  });

  it('with a VPC CIDR rule, admit health checks and the node address, but not preserved client addresses', async () => {
    const w = world();
    const vpcOnly = await securityGroup(w.ec2, w.net.vpcId, [{ IpProtocol: 'tcp', FromPort: 31000, ToPort: 31000, IpRanges: [{ CidrIp: '10.0.0.0/16' }] }]);
    const lb = await nlb(w, { port: 7211, subnets: [w.net.subnetIds[0]] });
    const target = await node(w, w.net.subnetIds[0], w.host(11), [vpcOnly]);
    await echo(w, 'vpc', target.address, 31000);
    await register(w, lb, target.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    // An NLB without security groups admits every client; the target's group drops the client's address.
    expect((await greet(zoneA(w, lb), 7211, { localAddress: w.client(4), withinMs: 400 })).line).toBe('timeout');
    await w.elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: lb.targetGroupArn, Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'false' }] }));
    expect((await greet(zoneA(w, lb), 7211, { localAddress: w.client(4) })).line).toBe(`vpc ${zoneA(w, lb)}`);
  });

  it('judge health on the health check port alone: open there but closed on the traffic port, a target is healthy and its connections are dropped', async () => {
    const w = world();
    const checkOnly = await securityGroup(w.ec2, w.net.vpcId);
    const guarded = await node(w, w.net.subnetIds[0], w.host(13), [checkOnly]);
    const server = await echo(w, 'half', guarded.address, 31000);
    const checks = await httpHealth(w, guarded.address, () => 200);
    await w.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: checkOnly, IpPermissions: [{ IpProtocol: 'tcp', FromPort: checks.port, ToPort: checks.port, IpRanges: [{ CidrIp: '10.0.0.0/16' }] }] }));
    const lb = await nlb(w, { port: 7212, subnets: [w.net.subnetIds[0]], targetGroup: { HealthCheckProtocol: 'HTTP', HealthCheckPort: String(checks.port) } });
    await register(w, lb, guarded.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, guarded.id, 'healthy');
    expect((await greet(zoneA(w, lb), 7212, { localAddress: w.client(5), withinMs: 400 })).line).toBe('timeout');
    expect(server.connections).toHaveLength(0);
  });

  it('drop a target reaching itself through the load balancer while client IP preservation is on', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7213, subnets: [w.net.subnetIds[0]] });
    const target = await node(w, w.net.subnetIds[0], w.host(14));
    await echo(w, 'self', target.address, 31000);
    await register(w, lb, target.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    // From the node's own address, which maps to the instance: NLB does not hairpin.
    expect((await greet(zoneA(w, lb), 7213, { localAddress: target.address, withinMs: 400 })).line).toBe('timeout');
    await w.elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: lb.targetGroupArn, Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'false' }] }));
    expect((await greet(zoneA(w, lb), 7213, { localAddress: target.address })).line).toBe(`self ${zoneA(w, lb)}`);
  });
});
