import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsEmulator, type DataPlaneOptions } from '../../src/aws';
import { createNetwork, credentials, embeddedOnly, launch, region, uniqueName } from './harness';
import { echo, greet, health, waitForHealth, type DataPlaneWorld } from './dataplane-support';

// Real sockets and timers on a shared, loaded machine: each wait below is bounded on its own, and a
// test may take a few of them.
jest.setTimeout(30_000);

/**
 * The data plane's life: off unless asked for, following listeners as they come and
 * go, finding another address when one is taken, and leaving nothing behind on close.
 * Each test starts its own emulator in its own random 127.b.c.0/24.
 */
interface Started {
  readonly emulator: AwsEmulator;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly block: string;
  stop(): Promise<void>;
}

async function start(options: DataPlaneOptions | undefined): Promise<Started> {
  const block = `127.${32 + randomInt(192)}.${randomInt(256)}`;
  const emulator = await AwsEmulator.start(options ? { dataPlane: { addressPool: `${block}.0/25`, ...options } } : {});
  const config = { endpoint: emulator.endpoint, region, credentials, maxAttempts: 1 };
  const ec2 = new EC2Client(config);
  const elbv2 = new ElasticLoadBalancingV2Client(config);
  return {
    emulator,
    ec2,
    elbv2,
    block,
    stop: async () => {
      ec2.destroy();
      elbv2.destroy();
      await emulator.close();
    },
  };
}

/** An NLB in zone a with one TCP listener, and a target group behind it; returns their ARNs. */
async function loadBalancer(s: Started, port: number, targetType: 'instance' | 'ip' = 'instance'): Promise<{ lbArn: string; listenerArn: string; tgArn: string; subnetId: string; vpcId: string }> {
  const net = await createNetwork(s.ec2);
  const tg = await s.elbv2.send(
    new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: 'TCP', Port: 31000, VpcId: net.vpcId, TargetType: targetType, HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 5 }),
  );
  const lb = await s.elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]] }));
  const listener = await s.elbv2.send(
    new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancers![0]!.LoadBalancerArn, Port: port, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroups![0]!.TargetGroupArn }] }),
  );
  await s.emulator.dataPlane?.settled();
  return { lbArn: lb.LoadBalancers![0]!.LoadBalancerArn!, listenerArn: listener.Listeners![0]!.ListenerArn!, tgArn: tg.TargetGroups![0]!.TargetGroupArn!, subnetId: net.subnetIds[0], vpcId: net.vpcId };
}

embeddedOnly('the data plane', () => {
  it('is off unless asked for: no address, no socket, and instant target health', async () => {
    const s = await start(undefined);
    try {
      expect(s.emulator.dataPlane).toBeUndefined();
      const { lbArn, tgArn, subnetId } = await loadBalancer(s, 7301);
      const described = await s.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] }));
      expect(described.LoadBalancers![0]!.AvailabilityZones![0]!.LoadBalancerAddresses).toEqual([]);
      const instance = await launch(s.ec2, subnetId, uniqueName('node'));
      await s.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.id }] }));
      expect((await health(s.elbv2, tgArn)).get(instance.id)).toEqual({ State: 'healthy' });
    } finally {
      await s.stop();
    }
  });

  it('opens and closes listener sockets as listeners come and go', async () => {
    const s = await start({ timeScale: 0.02 });
    try {
      const { lbArn, listenerArn } = await loadBalancer(s, 7302);
      const [node] = s.emulator.dataPlane!.nodes(lbArn);
      expect((await greet(node!.address, 7302)).line).toBe('reset');
      await s.elbv2.send(new DeleteListenerCommand({ ListenerArn: listenerArn }));
      await s.emulator.dataPlane!.settled();
      expect((await greet(node!.address, 7302)).line).toBe('refused');
    } finally {
      await s.stop();
    }
  });

  it('moves a node to the next pool address when its port is taken there, and binds ports through listenPort', async () => {
    const s = await start({ timeScale: 0.02, listenPort: (port) => port + 10000 });
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(17303, `${s.block}.1`, () => resolve()));
    try {
      const { lbArn } = await loadBalancer(s, 7303);
      const [node] = s.emulator.dataPlane!.nodes(lbArn);
      expect(node!.address).toBe(`${s.block}.2`);
      expect(s.emulator.dataPlane!.listenerPorts(lbArn)).toEqual([{ protocol: 'TCP', port: 7303, localPort: 17303 }]);
      expect(s.emulator.dataPlane!.problems).toEqual([expect.stringContaining(`${s.block}.1:17303/tcp is taken by another process`)]);
      const described = await s.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] }));
      expect(described.LoadBalancers![0]!.AvailabilityZones![0]!.LoadBalancerAddresses).toEqual([{ IpAddress: `${s.block}.2` }]);
      expect((await greet(node!.address, 17303)).line).toBe('reset');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      await s.stop();
    }
  });

  it('leaves no listener, connection, check or timer behind on close', async () => {
    const s = await start({ timeScale: 0.02 });
    const stops: (() => unknown)[] = [];
    try {
      // An ip target no instance holds: no security group stands in the way.
      const { lbArn, tgArn } = await loadBalancer(s, 7304, 'ip');
      s.emulator.dataPlane!.mapAddress('10.0.1.50', `${s.block}.200`);
      const fake = { cleanup: (stop: () => unknown) => stops.push(stop) } as unknown as DataPlaneWorld;
      await echo(fake, 'n', `${s.block}.200`, 31000);
      await s.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: '10.0.1.50' }] }));
      await waitForHealth(s.elbv2, tgArn, '10.0.1.50', 'healthy');
      const [node] = s.emulator.dataPlane!.nodes(lbArn);
      const kept = await greet(node!.address, 7304, { keep: true });
      expect(kept.line).toBe(`n ${node!.address}`);
      expect(s.emulator.dataPlane!.stats()).toEqual({ flows: 1, blackholed: 0, timers: expect.any(Number) });
      const closed = new Promise((resolve) => kept.socket!.once('close', resolve));
      await s.stop();
      expect(s.emulator.dataPlane!.stats()).toEqual({ flows: 0, blackholed: 0, timers: 0 });
      await closed;
      expect((await greet(node!.address, 7304)).line).toBe('refused');
    } finally {
      for (const stop of stops) await stop();
      await s.stop();
    }
  });
});
