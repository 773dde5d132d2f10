import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
  RunInstancesCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
  type CreateTargetGroupCommandInput,
  type TargetHealth,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsEmulator, type DataPlane, type DataPlaneOptions } from '../../src/aws';
import { createNetwork, credentials, region, uniqueName, type Network } from './harness';

/**
 * Shared setup for the data plane's tests: an emulator with the data plane on, the real
 * SDK clients, and small servers on 127.x addresses standing in for nodes. Each run of
 * a file draws its own 127.b.c.0/24 (NLB nodes in .1–.127, nodes from .128, clients
 * from .200), so files running side by side (Jest workers, or other people's runs of the
 * same file on the same machine) never bind the same address and port. Every wait is
 * bounded.
 */
export interface DataPlaneWorld {
  /** `127.b.c`, this run's block. */
  readonly block: string;
  /** The local address of node (instance) number `n` (0–70). */
  host(n: number): string;
  /** A client source address, number `n` (0–50). */
  client(n: number): string;
  readonly emulator: AwsEmulator;
  readonly dataPlane: DataPlane;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly net: Network;
  /** A security group for nodes that lets anything in the VPC (and 127/8) reach TCP and UDP ports. */
  readonly openGroup: string;
  /** Registers something to stop after the file's tests. */
  cleanup(stop: () => unknown): void;
}

export function useDataPlane(options: Omit<DataPlaneOptions, 'addressPool'>): () => DataPlaneWorld {
  let world: DataPlaneWorld | undefined;
  const stops: (() => unknown)[] = [];
  beforeAll(async () => {
    const block = `127.${32 + randomInt(192)}.${randomInt(256)}`;
    const emulator = await AwsEmulator.start({ dataPlane: { ...options, addressPool: `${block}.0/25` } });
    const config = { endpoint: emulator.endpoint, region, credentials, maxAttempts: 1 };
    const ec2 = new EC2Client(config);
    const elbv2 = new ElasticLoadBalancingV2Client(config);
    // Stopped even when the rest of the setup fails.
    stops.push(() => emulator.close(), () => ec2.destroy(), () => elbv2.destroy());
    const net = await createNetwork(ec2);
    const openGroup = await securityGroup(ec2, net.vpcId, [
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '10.0.0.0/16' }, { CidrIp: '127.0.0.0/8' }] },
      { IpProtocol: 'udp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '10.0.0.0/16' }, { CidrIp: '127.0.0.0/8' }] },
    ]);
    world = {
      block,
      host: (n) => `${block}.${128 + n}`,
      client: (n) => `${block}.${200 + n}`,
      emulator,
      dataPlane: emulator.dataPlane!,
      ec2,
      elbv2,
      net,
      openGroup,
      cleanup: (stop) => stops.push(stop),
    };
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  return () => {
    if (!world) throw new Error('useDataPlane() is only available inside tests');
    return world;
  };
}

export async function securityGroup(ec2: EC2Client, vpcId: string, rules: IpPermission[] = []): Promise<string> {
  const group = await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: uniqueName('group'), Description: 'test' }));
  if (rules.length > 0) await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: rules }));
  return group.GroupId!;
}

/** An instance ("node") in a subnet with the given groups, mapped to a local address. */
export async function node(world: DataPlaneWorld, subnetId: string, localAddress: string, groups: string[] = [world.openGroup]): Promise<{ id: string; ip: string; address: string }> {
  const run = await world.ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: subnetId, SecurityGroupIds: groups }));
  const instance = run.Instances![0]!;
  world.dataPlane.mapAddress(instance.PrivateIpAddress!, localAddress);
  return { id: instance.InstanceId!, ip: instance.PrivateIpAddress!, address: localAddress };
}

export interface Nlb {
  readonly arn: string;
  readonly dnsName: string;
  readonly targetGroupArn: string;
  readonly port: number;
}

/** An NLB in the given subnets with one listener forwarding to a new target group (fast health checks). */
export async function nlb(
  world: DataPlaneWorld,
  options: {
    port: number;
    protocol?: 'TCP' | 'UDP' | 'TCP_UDP' | 'TLS';
    subnets?: string[];
    securityGroups?: string[];
    scheme?: 'internet-facing' | 'internal';
    targetGroup?: Partial<CreateTargetGroupCommandInput>;
    attributes?: Record<string, string>;
  },
): Promise<Nlb> {
  const { elbv2, net } = world;
  const protocol = options.protocol ?? 'TCP';
  const tg = await elbv2.send(
    new CreateTargetGroupCommand({
      Name: uniqueName('tg'),
      Protocol: protocol === 'TLS' ? 'TCP' : protocol,
      Port: 31000,
      VpcId: net.vpcId,
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      ...options.targetGroup,
    }),
  );
  const targetGroupArn = tg.TargetGroups![0]!.TargetGroupArn!;
  if (options.attributes) {
    await elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn, Attributes: Object.entries(options.attributes).map(([Key, Value]) => ({ Key, Value })) }));
  }
  const lb = await elbv2.send(
    new CreateLoadBalancerCommand({
      Name: uniqueName('lb'),
      Type: 'network',
      Scheme: options.scheme,
      Subnets: options.subnets ?? [...net.subnetIds],
      ...(options.securityGroups ? { SecurityGroups: options.securityGroups } : {}),
    }),
  );
  const { LoadBalancerArn: arn, DNSName: dnsName } = lb.LoadBalancers![0]!;
  await elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: arn,
      Port: options.port,
      Protocol: protocol,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
      ...(protocol === 'TLS' ? { Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/test' }] } : {}),
    }),
  );
  await world.dataPlane.settled();
  return { arn: arn!, dnsName: dnsName!, targetGroupArn, port: options.port };
}

export async function health(elbv2: ElasticLoadBalancingV2Client, targetGroupArn: string): Promise<Map<string, TargetHealth>> {
  const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return new Map(out.TargetHealthDescriptions!.map((d) => [d.Target!.Id!, d.TargetHealth!]));
}

/** Polls DescribeTargetHealth until the target is in `state`; fails with the last answer after `withinMs`. */
export async function waitForHealth(elbv2: ElasticLoadBalancingV2Client, targetGroupArn: string, id: string, state: string, withinMs = 5000): Promise<TargetHealth> {
  const deadline = Date.now() + withinMs;
  let last: TargetHealth | undefined;
  for (;;) {
    last = (await health(elbv2, targetGroupArn)).get(id);
    if (last?.State === state) return last;
    if (Date.now() > deadline) throw new Error(`target ${id} did not become ${state} within ${withinMs} ms; last ${JSON.stringify(last ?? 'not listed')}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A node's workload: a TCP server that greets every connection with
 * `<name> <remote address>\n` and echoes what it receives, optionally a UDP server on
 * the same port answering `<name> <remote address> <datagram>`. It keeps the first bytes
 * of every TCP connection (proxy protocol headers arrive there).
 */
export interface Echo {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly connections: Socket[];
  readonly firstBytes: Buffer[];
  readonly datagrams: Buffer[];
  close(): Promise<void>;
}

export async function echo(world: DataPlaneWorld, name: string, address: string, port = 0, options: { udp?: boolean; greet?: boolean } = {}): Promise<Echo> {
  const connections: Socket[] = [];
  const firstBytes: Buffer[] = [];
  const datagrams: Buffer[] = [];
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    connections.push(socket);
    socket.on('error', () => {});
    socket.once('data', (chunk) => firstBytes.push(chunk));
    if (options.greet !== false) socket.write(`${name} ${socket.remoteAddress}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  let udp: UdpSocket | undefined;
  if (options.udp) {
    const socket = createSocket('udp4');
    udp = socket;
    socket.on('message', (message, rinfo) => {
      datagrams.push(message);
      socket.send(`${name} ${rinfo.address} ${message.toString()}`, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(bound, address, () => resolve());
    });
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    udp?.close();
    for (const socket of connections) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  world.cleanup(close);
  return { name, address, port: bound, connections, firstBytes, datagrams, close };
}

/** An HTTP server for health checks: answers `status()` and remembers each request's path and Host. */
export async function httpHealth(world: DataPlaneWorld, address: string, status: () => number, port = 0): Promise<{ port: number; requests: { path: string; host: string; userAgent: string }[] }> {
  const requests: { path: string; host: string; userAgent: string }[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    requests.push({ path: req.url ?? '', host: req.headers.host ?? '', userAgent: req.headers['user-agent'] ?? '' });
    res.writeHead(status()).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(port, address, () => resolve()));
  world.cleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  world.cleanup(() => server.closeAllConnections());
  return { port: (server.address() as { port: number }).port, requests };
}

export interface Greeting {
  /** The greeting line: `<target name> <address the target saw>`, or `timeout` / `reset` / `refused`. */
  readonly line: string;
  readonly socket: Socket | undefined;
}

/**
 * Connects to `address:port` (from `localAddress` when given) and reads the target's
 * greeting. A connection that gets nothing within `withinMs` is `timeout` (destroyed),
 * one reset is `reset`, one refused is `refused`. `keep` leaves the socket open.
 */
export function greet(address: string, port: number, options: { localAddress?: string; withinMs?: number; keep?: boolean } = {}): Promise<Greeting> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    let buffered = '';
    let done = false;
    const finish = (line: string, keep = false): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!keep) socket.destroy();
      resolve({ line, socket: keep ? socket : undefined });
    };
    const timer = setTimeout(() => finish('timeout'), options.withinMs ?? 2000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end >= 0) finish(buffered.slice(0, end), options.keep);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNREFUSED' ? 'refused' : 'reset'));
    socket.on('close', () => finish('reset'));
  });
}

/** Sends one datagram from a fresh socket and waits for one answer (or `timeout`). */
export function udpAsk(address: string, port: number, payload: string, options: { localAddress?: string; withinMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const finish = (answer: string): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish('timeout'), options.withinMs ?? 2000);
    socket.on('message', (message) => finish(message.toString()));
    socket.bind({ port: 0, ...(options.localAddress ? { address: options.localAddress } : {}) }, () => socket.send(payload, port, address));
  });
}

/** The target names that answered `count` connections (from `localAddress` when given). */
export async function spread(address: string, port: number, count: number, localAddress?: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const { line } = await greet(address, port, { ...(localAddress ? { localAddress } : {}), withinMs: 2000 });
    const name = line.split(' ')[0]!;
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  return seen;
}
