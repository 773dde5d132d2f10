/**
 * The TCP and UDP listeners of the userspace mode over loopback (no root): retry on a
 * refused connect, half-close and reset passing, draining, UDP sessions.
 */
import { backendId, type BalancerConfig } from '../../../src/agent/userspace/balancer';
import { LiveConnections, type ListenerContext } from '../../../src/agent/userspace/connections';
import { TcpListener } from '../../../src/agent/userspace/tcp';
import { UdpListener } from '../../../src/agent/userspace/udp';
import net from 'node:net';
import {
  closedPort,
  loopbackAddress,
  openConnection,
  sleep,
  tcpEcho,
  tcpRequest,
  udpClient,
  udpEcho,
  waitFor,
  type EchoServer,
} from './userspace-support';

const servers: EchoServer[] = [];
const listeners: { close(): void }[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) l.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function context(): ListenerContext & { lines: string[] } {
  const lines: string[] = [];
  return { now: Date.now, log: (l) => lines.push(l), connections: new LiveConnections(), lines };
}

const balancer = (endpoints: { ip: string; port: number }[], over: Partial<BalancerConfig> = {}): BalancerConfig => ({
  scheduler: 'rr',
  affinityTimeoutMs: undefined,
  virtualAddress: '10.96.0.1',
  endpoints,
  ...over,
});

async function echoes(n: number, kind: 'tcp' | 'udp' = 'tcp'): Promise<EchoServer[]> {
  const made = await Promise.all(Array.from({ length: n }, (_, i) => (kind === 'tcp' ? tcpEcho : udpEcho)(`ep${i}`)));
  servers.push(...made);
  return made;
}
const ep = (s: EchoServer) => ({ ip: s.address, port: s.port });

async function tcpListener(config: BalancerConfig, ctx = context()): Promise<{ l: TcpListener; address: string; port: number }> {
  const l = new TcpListener(config, ctx);
  listeners.push(l);
  const address = loopbackAddress();
  const port = await l.listen(address, 0);
  return { l, address, port };
}

describe('TCP listener', () => {
  it('spreads connections round-robin over the endpoints', async () => {
    const eps = await echoes(3);
    const { address, port } = await tcpListener(balancer(eps.map(ep)));
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push((await tcpRequest(address, port, 'hi')).split(':')[0]);
    expect(replies).toEqual(['ep0', 'ep1', 'ep2', 'ep0', 'ep1', 'ep2']);
  });

  it('tries the next endpoint when a connect is refused', async () => {
    const [live] = await echoes(1);
    const dead = { ip: '127.0.0.1', port: await closedPort() };
    const ctx = context();
    const { address, port } = await tcpListener(balancer([dead, ep(live!)]), ctx);
    for (let i = 0; i < 4; i++) expect(await tcpRequest(address, port, 'x')).toBe('ep0:x');
    expect(ctx.lines.some((l) => l.includes(`connect to ${backendId(dead)} failed`))).toBe(true);
  });

  it('resets the client when every endpoint refuses', async () => {
    const dead = [{ ip: '127.0.0.1', port: await closedPort() }];
    const { address, port } = await tcpListener(balancer(dead));
    await expect(tcpRequest(address, port, 'x')).rejects.toThrow(/ECONNRESET/);
  });

  it('passes a half-close on and keeps reading the reply', async () => {
    const [e] = await echoes(1);
    const { address, port } = await tcpListener(balancer([ep(e!)]));
    const socket = net.connect({ host: address, port, allowHalfOpen: true });
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end('last words');
    await new Promise((resolve) => socket.once('end', resolve));
    expect(received).toBe('ep0:last wordsep0:bye');
    socket.destroy();
  });

  it('passes a reset from the endpoint to the client', async () => {
    const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { address, port } = await tcpListener(balancer([{ ip: '127.0.0.1', port: (server.address() as net.AddressInfo).port }]));
    await expect(tcpRequest(address, port, 'x')).rejects.toThrow(/ECONNRESET/);
    server.close();
  });

  it('drains a removed endpoint: its connection carries on, new ones go elsewhere', async () => {
    const [a, b] = await echoes(2);
    const ctx = context();
    const { l, address, port } = await tcpListener(balancer([ep(a!), ep(b!)]), ctx);
    const kept = await openConnection(address, port);
    expect(await kept.ask('one')).toBe('ep0:one');
    l.update(balancer([ep(b!)]));
    for (let i = 0; i < 4; i++) expect(await tcpRequest(address, port, 'new')).toBe('ep1:new');
    expect(await kept.ask('two')).toBe('ep0:two');
    expect(ctx.connections.size).toBe(1);
    kept.socket.destroy();
    await waitFor(() => ctx.connections.size === 0);
  });

  it('after close() the port refuses new connections while established ones continue', async () => {
    const [a] = await echoes(1);
    const { l, address, port } = await tcpListener(balancer([ep(a!)]));
    const kept = await openConnection(address, port);
    l.close();
    await expect(tcpRequest(address, port, 'x')).rejects.toThrow(/ECONNREFUSED/);
    expect(await kept.ask('still')).toBe('ep0:still');
    kept.socket.destroy();
  });
});

describe('UDP listener', () => {
  async function udpListener(config: BalancerConfig, idleMs = 10_000) {
    const ctx = context();
    const l = new UdpListener(config, ctx, idleMs);
    listeners.push(l);
    const address = loopbackAddress();
    const port = await l.listen(address, 0);
    return { l, address, port };
  }

  it('keeps one session per client address:port and spreads clients', async () => {
    const eps = await echoes(2, 'udp');
    const { l, address, port } = await udpListener(balancer(eps.map(ep)));
    const c1 = await udpClient();
    const c2 = await udpClient();
    expect(await c1.ask(address, port, 'a')).toBe('ep0:a');
    expect(await c1.ask(address, port, 'b')).toBe('ep0:b'); // same session
    expect(await c2.ask(address, port, 'c')).toBe('ep1:c'); // new session, rr moves on
    expect(l.sessionCount).toBe(2);
    c1.close();
    c2.close();
  });

  it('ends a session after the idle timeout', async () => {
    const eps = await echoes(2, 'udp');
    const { l, address, port } = await udpListener(balancer(eps.map(ep)), 200);
    const c = await udpClient();
    expect(await c.ask(address, port, 'a')).toBe('ep0:a');
    await sleep(100);
    expect(await c.ask(address, port, 'b')).toBe('ep0:b'); // activity keeps it open
    expect(l.sessionCount).toBe(1);
    await waitFor(() => l.sessionCount === 0, 1_000);
    expect(await c.ask(address, port, 'c')).toBe('ep1:c'); // a new session, picked anew
    c.close();
  });

  it('ends the sessions of a removed endpoint so the client moves on', async () => {
    const [a, b] = await echoes(2, 'udp');
    const { l, address, port } = await udpListener(balancer([ep(a!), ep(b!)]));
    const c = await udpClient();
    expect(await c.ask(address, port, 'a')).toBe('ep0:a');
    l.update(balancer([ep(b!)]));
    expect(l.sessionCount).toBe(0);
    expect(await c.ask(address, port, 'b')).toBe('ep1:b');
    c.close();
  });

  it('ends a session when the endpoint answers port unreachable', async () => {
    const dead = { ip: '127.0.0.1', port: await closedPort() };
    const { l, address, port } = await udpListener(balancer([dead]));
    const c = await udpClient();
    await expect(c.ask(address, port, 'a', 300)).rejects.toThrow('timeout');
    await waitFor(() => l.sessionCount === 0);
    c.close();
  });
});
