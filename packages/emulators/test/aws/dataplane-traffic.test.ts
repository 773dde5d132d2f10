import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { generate } from 'selfsigned';
import {
  CreateLoadBalancerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ModifyListenerAttributesCommand,
  SetSubnetsCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { embeddedOnly, uniqueName } from './harness';
import { echo, greet, nlb, node, spread, udpAsk, useDataPlane, waitForHealth, type DataPlaneWorld, type Nlb } from './dataplane-support';

/**
 * Real traffic through the emulated NLB: addresses and DNS, TCP, UDP, TLS termination,
 * proxy protocol v2, zones and stickiness.
 */
// Real sockets and timers on a shared, loaded machine: each wait below is bounded on its own, and a
// test may take a few of them (the first TLS listener also makes an RSA key).
jest.setTimeout(30_000);

const world = useDataPlane({ timeScale: 0.02 });

async function register(w: DataPlaneWorld, lb: Nlb, ...ids: string[]): Promise<void> {
  await w.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: lb.targetGroupArn, Targets: ids.map((Id) => ({ Id })) }));
  for (const id of ids) await waitForHealth(w.elbv2, lb.targetGroupArn, id, 'healthy');
}

/** The node address of `lb` in the zone of subnet `index` (0 = a, 1 = b). */
function zoneAddress(w: DataPlaneWorld, lb: Nlb, index: number): string {
  return w.dataPlane.nodes(lb.arn).find((n) => n.subnetId === w.net.subnetIds[index])!.address;
}

embeddedOnly('addresses and DNS', () => {
  it('reports one listening address per zone: IpAddress when internet-facing, PrivateIPv4Address when internal', async () => {
    const w = world();
    const outside = await nlb(w, { port: 7001 });
    const inside = await nlb(w, { port: 7001, scheme: 'internal', subnets: [w.net.subnetIds[0]] });
    const pool = new RegExp(`^${w.block.replace(/\./g, '\\.')}\\.`);
    const described = await w.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [outside.arn, inside.arn] }));
    const [public_, internal] = described.LoadBalancers!;
    const publicAddresses = public_!.AvailabilityZones!.map((z) => z.LoadBalancerAddresses);
    expect(publicAddresses).toEqual([[{ IpAddress: expect.stringMatching(pool) }], [{ IpAddress: expect.stringMatching(pool) }], [{ IpAddress: expect.stringMatching(pool) }]]);
    expect(new Set(publicAddresses.map((a) => a![0]!.IpAddress)).size).toBe(3);
    expect(internal!.AvailabilityZones!.map((z) => z.LoadBalancerAddresses)).toEqual([[{ PrivateIPv4Address: expect.stringMatching(pool) }]]);
    // Each node also holds a VPC address in its subnet (10.0.<n>.x), apart from any instance's.
    expect(w.dataPlane.nodes(outside.arn).map((n) => n.privateIp)).toEqual([expect.stringMatching(/^10\.0\.1\./), expect.stringMatching(/^10\.0\.2\./), expect.stringMatching(/^10\.0\.3\./)]);
    // Every reported address accepts connections on the listener port (reset: no target yet).
    for (const address of publicAddresses.map((a) => a![0]!.IpAddress!)) expect((await greet(address, 7001)).line).toBe('reset');
  });

  it("reports a subnet mapping's static address as it is, and listens where that address is mapped", async () => {
    const w = world();
    w.dataPlane.mapAddress('10.0.1.100', w.host(30));
    const created = await w.elbv2.send(
      new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Scheme: 'internal', SubnetMappings: [{ SubnetId: w.net.subnetIds[0], PrivateIPv4Address: '10.0.1.100' }] }),
    );
    const lb = created.LoadBalancers![0]!;
    expect(lb.AvailabilityZones![0]!.LoadBalancerAddresses).toEqual([{ PrivateIPv4Address: '10.0.1.100' }]);
    expect(w.dataPlane.nodes(lb.LoadBalancerArn!)).toEqual([{ availabilityZone: 'us-east-1a', subnetId: w.net.subnetIds[0], privateIp: '10.0.1.100', address: w.host(30) }]);
    // SetSubnets keeping the subnet keeps its address (the node's own address is no conflict).
    await w.elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SubnetMappings: [{ SubnetId: w.net.subnetIds[0], PrivateIPv4Address: '10.0.1.100' }] }));
  });

  it('resolves the DNS name to the zones that have a healthy target, or to every zone when none has', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7002, subnets: [w.net.subnetIds[0], w.net.subnetIds[1]] });
    const [a, b] = [zoneAddress(w, lb, 0), zoneAddress(w, lb, 1)];
    expect(w.dataPlane.lookup(lb.dnsName)).toEqual([a, b]);
    const target = await node(w, w.net.subnetIds[1], w.host(20));
    await echo(w, 'b', target.address, 31000);
    await register(w, lb, target.id);
    expect(w.dataPlane.lookup(lb.dnsName.toUpperCase())).toEqual([b]);
    expect(w.dataPlane.lookup('nothing.example.com')).toEqual([]);
    // The same answer through the lookup function net, tls and http accept.
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: lb.dnsName, port: 7002, lookup: w.dataPlane.dnsLookup }, () => resolve(s));
      s.on('error', reject);
    });
    expect(socket.remoteAddress).toBe(b);
    socket.destroy();
  });
});

embeddedOnly('carrying traffic', () => {
  it('carries TCP to a healthy instance at its mapped address; the target sees the client address', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7010, subnets: [w.net.subnetIds[0]] });
    const target = await node(w, w.net.subnetIds[0], w.host(1));
    const server = await echo(w, 'a', target.address, 31000);
    await register(w, lb, target.id);
    const { line, socket } = await greet(zoneAddress(w, lb, 0), 7010, { localAddress: w.client(7), keep: true });
    expect(line).toBe(`a ${w.client(7)}`);
    // Both directions carry data, and a half-close travels through.
    socket!.write('ping');
    const echoed = await new Promise<string>((resolve) => {
      let text = '';
      socket!.on('data', (chunk: string) => (text += chunk));
      socket!.on('end', () => resolve(text));
      socket!.end();
    });
    expect(echoed).toBe('ping');
    expect(server.connections.at(-1)!.remoteAddress).toBe(w.client(7));
  });

  it("resets a connection idle for the listener's TCP idle timeout", async () => {
    const w = world();
    const lb = await nlb(w, { port: 7016, subnets: [w.net.subnetIds[0]] });
    const listener = (await w.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.arn }))).Listeners![0]!;
    await w.elbv2.send(new ModifyListenerAttributesCommand({ ListenerArn: listener.ListenerArn, Attributes: [{ Key: 'tcp.idle_timeout.seconds', Value: '60' }] }));
    const target = await node(w, w.net.subnetIds[0], w.host(7));
    await echo(w, 'idle', target.address, 31000);
    await register(w, lb, target.id);
    const started = Date.now();
    const { socket } = await greet(zoneAddress(w, lb, 0), 7016, { keep: true });
    const error = await new Promise<string>((resolve) => socket!.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')));
    // 60 s × 0.02 = 1.2 s of silence, then a reset.
    expect(error).toBe('ECONNRESET');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
  });

  it('shows the node address to the target when client IP preservation is off (ip targets over TCP)', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7011, subnets: [w.net.subnetIds[0]], targetGroup: { TargetType: 'ip' } });
    const target = await node(w, w.net.subnetIds[0], w.host(2));
    await echo(w, 'ip', target.address, 31000);
    await register(w, lb, target.ip);
    expect((await greet(zoneAddress(w, lb, 0), 7011, { localAddress: w.client(7) })).line).toBe(`ip ${zoneAddress(w, lb, 0)}`);
  });

  it('carries TCP and UDP on a TCP_UDP listener; replies come back from the listener', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7012, protocol: 'TCP_UDP', subnets: [w.net.subnetIds[0]] });
    const target = await node(w, w.net.subnetIds[0], w.host(3));
    await echo(w, 'both', target.address, 31000, { udp: true });
    await register(w, lb, target.id);
    const address = zoneAddress(w, lb, 0);
    expect((await greet(address, 7012, { localAddress: w.client(8) })).line).toBe(`both ${w.client(8)}`);
    // UDP always preserves the client address.
    expect(await udpAsk(address, 7012, 'ping', { localAddress: w.client(8) })).toBe(`both ${w.client(8)} ping`);
  });

  it('terminates TLS with a certificate for the DNS name and forwards plain TCP to the target', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7013, protocol: 'TLS', subnets: [w.net.subnetIds[0]] });
    const target = await node(w, w.net.subnetIds[0], w.host(4));
    const server = await echo(w, 'tls', target.address, 31000);
    await register(w, lb, target.id);
    const ca = await w.dataPlane.certificate();
    const answer = await new Promise<{ authorized: boolean; greeting: string; echoed: string }>((resolve, reject) => {
      // From a chosen client address: tls.connect takes it through the TCP socket it runs over.
      const tcp = connect({ host: zoneAddress(w, lb, 0), port: 7013, localAddress: w.client(9) });
      const socket = tlsConnect({ socket: tcp, servername: lb.dnsName, ca }, () => {
        socket.setEncoding('utf8');
        let text = '';
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (!text.endsWith('plain')) return;
          const [greeting = '', echoed = ''] = text.split('\n');
          resolve({ authorized: socket.authorized, greeting, echoed });
          socket.destroy();
        });
        socket.write('plain');
      });
      socket.on('error', reject);
    });
    expect(answer).toEqual({ authorized: true, greeting: `tls ${w.client(9)}`, echoed: 'plain' });
    // The target got the bytes in the clear, not a TLS record.
    expect(server.firstBytes.map((bytes) => bytes.toString())).toContain('plain');
  });

  it('opens TLS to a TLS target group without verifying the target certificate', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7015, protocol: 'TLS', subnets: [w.net.subnetIds[0]], targetGroup: { Protocol: 'TLS' } });
    const target = await node(w, w.net.subnetIds[0], w.host(6));
    // A throwaway self-signed certificate nobody trusts (1024-bit: quick to make).
    const pems = generate([{ name: 'commonName', value: 'target' }], { keySize: 1024, algorithm: 'sha256' });
    const server = createTlsServer({ key: pems.private, cert: pems.cert }, (socket) => {
      socket.on('error', () => {});
      socket.end(`tls-target ${socket.remoteAddress}\n`);
    });
    await new Promise<void>((resolve) => server.listen(31000, target.address, () => resolve()));
    w.cleanup(() => new Promise((resolve) => server.close(resolve)));
    await register(w, lb, target.id);
    const ca = await w.dataPlane.certificate();
    const line = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: zoneAddress(w, lb, 0), port: 7015, servername: lb.dnsName, ca }, () => {
        socket.setEncoding('utf8');
        socket.once('data', (text: string) => resolve(text.trim()));
      });
      socket.on('error', reject);
    });
    expect(line).toMatch(/^tls-target 127\./);
  });

  it('sends a proxy protocol v2 header: client address and port, node address and listener port', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7014, subnets: [w.net.subnetIds[0]], attributes: { 'proxy_protocol_v2.enabled': 'true' } });
    const target = await node(w, w.net.subnetIds[0], w.host(5));
    const server = await echo(w, 'pp', target.address, 31000, { greet: false });
    await register(w, lb, target.id);
    const address = zoneAddress(w, lb, 0);
    const client = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: address, port: 7014, localAddress: w.client(10) }, () => resolve(s));
      s.on('error', reject);
    });
    client.write('hello');
    // The echo server sends back everything it got: the header, then the payload.
    await new Promise<void>((resolve) => {
      let got = '';
      client.on('data', (chunk: Buffer) => {
        got += chunk.toString('latin1');
        if (got.endsWith('hello')) resolve();
      });
    });
    const signature = '0d0a0d0a000d0a515549540a';
    const proxied = server.firstBytes.find((bytes) => bytes.subarray(0, 13).toString('hex') === `${signature}21`);
    const ip = (text: string): string => Buffer.from(text.split('.').map(Number)).toString('hex');
    const port = (n: number): string => n.toString(16).padStart(4, '0');
    expect(proxied!.subarray(0, 28).toString('hex')).toBe(`${signature}21` + '11' + '000c' + ip(w.client(10)) + ip(address) + port(client.localPort!) + port(7014));
    // Health check connections carry a LOCAL header without addresses.
    expect(server.firstBytes.some((bytes) => bytes.toString('hex') === `${signature}20000000`)).toBe(true);
    client.destroy();
  });
});

embeddedOnly('choosing targets', () => {
  it('keeps each zone to its own targets unless cross-zone load balancing is on', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7020, subnets: [w.net.subnetIds[0], w.net.subnetIds[1]] });
    const inA = await node(w, w.net.subnetIds[0], w.host(11));
    const inB = await node(w, w.net.subnetIds[1], w.host(12));
    await echo(w, 'zone-a', inA.address, 31000);
    await echo(w, 'zone-b', inB.address, 31000);
    await register(w, lb, inA.id, inB.id);
    const a = zoneAddress(w, lb, 0);
    expect([...(await spread(a, 7020, 12)).keys()]).toEqual(['zone-a']);
    await w.elbv2.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: lb.arn, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }] }));
    expect([...(await spread(a, 7020, 24)).keys()].sort()).toEqual(['zone-a', 'zone-b']);
    // The target group's own setting wins over the load balancer's.
    await w.elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: lb.targetGroupArn, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }] }));
    expect([...(await spread(a, 7020, 12)).keys()]).toEqual(['zone-a']);
  });

  it('spreads connections over targets, or sticks a client address to one with stickiness on', async () => {
    const w = world();
    const lb = await nlb(w, { port: 7021, subnets: [w.net.subnetIds[0]] });
    const one = await node(w, w.net.subnetIds[0], w.host(13));
    const two = await node(w, w.net.subnetIds[0], w.host(14));
    await echo(w, 'one', one.address, 31000);
    await echo(w, 'two', two.address, 31000);
    await register(w, lb, one.id, two.id);
    const address = zoneAddress(w, lb, 0);
    expect([...(await spread(address, 7021, 24, w.client(11))).keys()].sort()).toEqual(['one', 'two']);
    await w.elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: lb.targetGroupArn, Attributes: [{ Key: 'stickiness.enabled', Value: 'true' }] }));
    for (const client of [w.client(11), w.client(12), w.client(13)]) expect((await spread(address, 7021, 8, client)).size).toBe(1);
  });
});
