import { createServer, type Socket } from 'node:net';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { embeddedOnly } from './harness';
import { echo, greet, health, httpHealth, nlb, node, sleep, spread, useDataPlane, waitForHealth, type DataPlaneWorld, type Nlb } from './dataplane-support';

/**
 * Health checks and the states DescribeTargetHealth reports, fail-open, draining and
 * unhealthy-target connection termination. At time scale 0.02 a 10 s interval is
 * 200 ms.
 */
// Real sockets and timers on a shared, loaded machine: each wait below is bounded on its own, and a
// test may take a few of them.
jest.setTimeout(30_000);

const world = useDataPlane({ timeScale: 0.02 });

function zoneA(w: DataPlaneWorld, lb: Nlb): string {
  return w.dataPlane.nodes(lb.arn)[0]!.address;
}

async function register(w: DataPlaneWorld, lb: Nlb, ...ids: string[]): Promise<void> {
  await w.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: lb.targetGroupArn, Targets: ids.map((Id) => ({ Id })) }));
}

/** Reads one echo of `text` on an open connection, or `closed` when it ends first. */
function roundTrip(socket: Socket, text: string, withinMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve('closed');
    const timer = setTimeout(() => finish('timeout'), withinMs);
    const onData = (chunk: string): void => {
      if (chunk.includes(text)) finish(text);
    };
    const onClose = (): void => finish('closed');
    function finish(result: string): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(result);
    }
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => {});
    socket.write(text);
  });
}

embeddedOnly('target states', () => {
  it('walks a target from registration through initial checks, healthy, unhealthy and back, then draining and gone', async () => {
    const w = world();
    const lb = await nlb(w, {
      port: 7101,
      subnets: [w.net.subnetIds[0]],
      targetGroup: { HealthCheckIntervalSeconds: 20, UnhealthyThresholdCount: 3 },
      attributes: { 'deregistration_delay.timeout_seconds': '20' },
    });
    const target = await node(w, w.net.subnetIds[0], w.host(1));
    await register(w, lb, target.id);
    // Registration takes one interval (400 ms here) before the first check.
    expect((await health(w.elbv2, lb.targetGroupArn)).get(target.id)).toEqual({
      State: 'initial',
      Reason: 'Elb.RegistrationInProgress',
      Description: 'Target registration is in progress',
    });
    // Nothing listens yet: checks fail, but fewer than the unhealthy threshold.
    const checking = await (async () => {
      for (const deadline = Date.now() + 3000; Date.now() < deadline; await sleep(20)) {
        const seen = (await health(w.elbv2, lb.targetGroupArn)).get(target.id);
        if (seen?.Reason === 'Elb.InitialHealthChecking') return seen;
      }
      return undefined;
    })();
    expect(checking).toEqual({ State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' });
    // One passed check makes a new target healthy.
    const server = await echo(w, 'a', target.address, 31000);
    expect(await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy')).toEqual({ State: 'healthy' });
    // A refused connection is a failed check; three in a row make it unhealthy.
    await server.close();
    expect(await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'unhealthy')).toEqual({
      State: 'unhealthy',
      Reason: 'Target.FailedHealthChecks',
      Description: 'Health checks failed',
    });
    await echo(w, 'a', target.address, 31000);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    // Deregistered: draining for the whole delay (400 ms), listed with the registered ones, then gone.
    await w.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: lb.targetGroupArn, Targets: [{ Id: target.id }] }));
    const draining = await w.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: lb.targetGroupArn }));
    expect(draining.TargetHealthDescriptions).toEqual([
      {
        Target: { Id: target.id, Port: 31000 },
        HealthCheckPort: '31000',
        TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' },
      },
    ]);
    await sleep(600);
    expect((await health(w.elbv2, lb.targetGroupArn)).size).toBe(0);
    const asked = await w.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: lb.targetGroupArn, Targets: [{ Id: target.id }] }));
    expect(asked.TargetHealthDescriptions![0]!.TargetHealth).toEqual({ State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' });
  });

  it('checks HTTP on the health check port and path, with the node as Host, against the matcher', async () => {
    const w = world();
    let status = 200;
    const target = await node(w, w.net.subnetIds[0], w.host(2));
    const checks = await httpHealth(w, target.address, () => status);
    const lb = await nlb(w, {
      port: 7102,
      subnets: [w.net.subnetIds[0]],
      targetGroup: { HealthCheckProtocol: 'HTTP', HealthCheckPort: String(checks.port), HealthCheckPath: '/healthz', Matcher: { HttpCode: '200-204' } },
    });
    await register(w, lb, target.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    const nodeIp = w.dataPlane.nodes(lb.arn)[0]!.privateIp;
    expect(checks.requests[0]).toEqual({ path: '/healthz', host: `${nodeIp}:7102`, userAgent: 'ELB-HealthChecker/2.0' });
    status = 503;
    expect(await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'unhealthy')).toEqual({
      State: 'unhealthy',
      Reason: 'Target.ResponseCodeMismatch',
      Description: 'Health checks failed with these codes: [503]',
    });
    // Back to healthy only after the healthy threshold (2) of passed checks.
    status = 204;
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
  });

  it('reports a check that gets no answer within the timeout as Target.Timeout', async () => {
    const w = world();
    const target = await node(w, w.net.subnetIds[0], w.host(3));
    // Accepts the connection and never answers the HTTP request.
    const silent = createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => silent.listen(0, target.address, () => resolve()));
    w.cleanup(() => new Promise((resolve) => silent.close(resolve)));
    const port = (silent.address() as { port: number }).port;
    const lb = await nlb(w, { port: 7103, subnets: [w.net.subnetIds[0]], targetGroup: { HealthCheckProtocol: 'HTTP', HealthCheckPort: String(port) } });
    await register(w, lb, target.id);
    expect(await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'unhealthy')).toEqual({ State: 'unhealthy', Reason: 'Target.Timeout', Description: 'Request timed out' });
  });
  it('makes a terminated instance unused / Target.InvalidState and resets its connections', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7104, subnets: [w.net.subnetIds[0]] });
    const target = await node(w, w.net.subnetIds[0], w.host(4));
    await echo(w, 'doomed', target.address, 31000);
    await register(w, lb, target.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    const kept = await greet(zoneA(w, lb), 7104, { keep: true });
    const closed = new Promise((resolve) => kept.socket!.once('close', resolve));
    await w.ec2.send(new TerminateInstancesCommand({ InstanceIds: [target.id] }));
    expect((await health(w.elbv2, lb.targetGroupArn)).get(target.id)).toEqual({ State: 'unused', Reason: 'Target.InvalidState', Description: 'Target is in the stopped or terminated state' });
    await closed;
  });
});

embeddedOnly('routing by health', () => {
  it('fails open: with no healthy target, every registered target gets traffic', async () => {
    const w = world();
    // Health checks go to a port nothing listens on; traffic to one that answers.
    const lb = await nlb(w, { port: 7110, subnets: [w.net.subnetIds[0]], targetGroup: { HealthCheckPort: '9' } });
    const one = await node(w, w.net.subnetIds[0], w.host(11));
    const two = await node(w, w.net.subnetIds[0], w.host(12));
    await echo(w, 'one', one.address, 31000);
    await echo(w, 'two', two.address, 31000);
    await register(w, lb, one.id, two.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, one.id, 'unhealthy');
    await waitForHealth(w.elbv2, lb.targetGroupArn, two.id, 'unhealthy');
    expect([...(await spread(zoneA(w, lb), 7110, 24)).keys()].sort()).toEqual(['one', 'two']);
  });

  it('resets connections to a target that turns unhealthy while another is healthy', async () => {
    const w = world();
    const one = await node(w, w.net.subnetIds[0], w.host(13));
    const two = await node(w, w.net.subnetIds[0], w.host(14));
    const status = new Map([
      [one.address, 200],
      [two.address, 200],
    ]);
    // Both targets answer health checks on the same port number, each on its own address.
    const checkOne = await httpHealth(w, one.address, () => status.get(one.address)!);
    const lb = await nlb(w, { port: 7111, subnets: [w.net.subnetIds[0]], targetGroup: { HealthCheckProtocol: 'HTTP', HealthCheckPort: String(checkOne.port) } });
    await echo(w, 'one', one.address, 31000);
    await echo(w, 'two', two.address, 31000);
    await httpHealth(w, two.address, () => status.get(two.address)!, checkOne.port);
    await register(w, lb, one.id, two.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, one.id, 'healthy');
    await waitForHealth(w.elbv2, lb.targetGroupArn, two.id, 'healthy');
    const kept = await greet(zoneA(w, lb), 7111, { keep: true });
    const victim = kept.line.startsWith('one') ? one : two;
    status.set(victim.address, 500);
    await waitForHealth(w.elbv2, lb.targetGroupArn, victim.id, 'unhealthy');
    expect(await roundTrip(kept.socket!, 'still there?')).toBe('closed');
  });
});

embeddedOnly('draining', () => {
  async function drainingSetup(w: DataPlaneWorld, port: number, termination: boolean, addresses: [string, string]) {
    const lb = await nlb(w, {
      port,
      subnets: [w.net.subnetIds[0]],
      attributes: { 'deregistration_delay.timeout_seconds': '25', 'deregistration_delay.connection_termination.enabled': String(termination) },
    });
    const one = await node(w, w.net.subnetIds[0], addresses[0]);
    const two = await node(w, w.net.subnetIds[0], addresses[1]);
    await echo(w, 'one', one.address, 31000);
    await echo(w, 'two', two.address, 31000);
    await register(w, lb, one.id, two.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, one.id, 'healthy');
    await waitForHealth(w.elbv2, lb.targetGroupArn, two.id, 'healthy');
    const kept = await greet(zoneA(w, lb), port, { keep: true });
    const [leaving, staying] = kept.line.startsWith('one') ? [one, two] : [two, one];
    await w.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: lb.targetGroupArn, Targets: [{ Id: leaving.id }] }));
    return { lb, socket: kept.socket!, leaving, staying };
  }

  it('keeps an open connection for the deregistration delay, sends new ones elsewhere, and cuts it at the end with connection termination', async () => {
    const w = world();
    const { lb, socket, leaving } = await drainingSetup(w, 7120, true, [w.host(21), w.host(22)]);
    const started = Date.now();
    expect((await health(w.elbv2, lb.targetGroupArn)).get(leaving.id)?.State).toBe('draining');
    expect(await roundTrip(socket, 'during')).toBe('during');
    const names = [...(await spread(zoneA(w, lb), 7120, 6)).keys()];
    expect(names).toHaveLength(1);
    expect(socket.destroyed).toBe(false);
    // The delay is 25 s × 0.02 = 500 ms; the connection is reset when it ends.
    const closedAt = await new Promise<number>((resolve) => (socket.destroyed ? resolve(Date.now()) : socket.once('close', () => resolve(Date.now()))));
    expect(closedAt - started).toBeGreaterThanOrEqual(300);
    expect(closedAt - started).toBeLessThan(3000);
    expect((await health(w.elbv2, lb.targetGroupArn)).has(leaving.id)).toBe(false);
  });

  it('leaves an open connection alone after the delay when connection termination is off', async () => {
    const w = world();
    const { lb, socket, leaving } = await drainingSetup(w, 7121, false, [w.host(23), w.host(24)]);
    await sleep(800);
    expect((await health(w.elbv2, lb.targetGroupArn)).has(leaving.id)).toBe(false);
    expect(await roundTrip(socket, 'after')).toBe('after');
    socket.destroy();
  });

  it('reads the delay from the target group when the target is deregistered', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7122, subnets: [w.net.subnetIds[0]] });
    await w.elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: lb.targetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '0' }] }));
    const target = await node(w, w.net.subnetIds[0], w.host(25));
    await echo(w, 'gone', target.address, 31000);
    await register(w, lb, target.id);
    await waitForHealth(w.elbv2, lb.targetGroupArn, target.id, 'healthy');
    await w.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: lb.targetGroupArn, Targets: [{ Id: target.id }] }));
    expect((await health(w.elbv2, lb.targetGroupArn)).size).toBe(0);
  });
});
