/**
 * Loopback helpers for the userspace proxy tests (no root). Each test picks its own
 * 127.x.y.z address, so suites running in parallel Jest workers never share a port.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export function loopbackAddress(): string {
  const r = (n: number): number => Math.floor(Math.random() * n);
  return `127.${150 + r(50)}.${r(256)}.${1 + r(254)}`;
}

export interface EchoServer {
  name: string;
  address: string;
  port: number;
  /** Client addresses of the connections accepted so far. */
  peers: string[];
  close(): Promise<void>;
}

/** Answers each chunk with `<name>:<chunk>`; on the client's FIN it sends `<name>:bye` and ends. */
export async function tcpEcho(name: string, address = '127.0.0.1'): Promise<EchoServer> {
  const peers: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    peers.push(socket.remoteAddress ?? '');
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (d) => socket.write(`${name}:${d.toString()}`));
    socket.on('end', () => socket.end(`${name}:bye`));
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return {
    name,
    address,
    port: (server.address() as net.AddressInfo).port,
    peers,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers each datagram with `<name>:<datagram>`. */
export async function udpEcho(name: string, address = '127.0.0.1'): Promise<EchoServer> {
  const peers: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    peers.push(`${rinfo.address}:${rinfo.port}`);
    socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return {
    name,
    address,
    port: socket.address().port,
    peers,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A port on `address` that nothing listens on (connects are refused). */
export async function closedPort(address = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One request over a fresh connection: resolves the first reply, or rejects (ECONNREFUSED, reset, 2 s timeout). */
export function tcpRequest(address: string, port: number, payload: string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout'));
    }, 2_000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => socket.write(payload));
    socket.once('data', (d) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(d.toString());
    });
  });
}

/** A kept-open connection for drain and restart tests. */
export async function openConnection(address: string, port: number): Promise<{
  ask(payload: string): Promise<string>;
  socket: net.Socket;
}> {
  const socket = net.connect({ host: address, port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    ask: (payload) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout')), 2_000);
        socket.once('data', (d) => {
          clearTimeout(timer);
          resolve(d.toString());
        });
        socket.once('close', () => reject(new Error('closed')));
        socket.write(payload);
      }),
  };
}

/** One datagram from a socket bound to `from` (a fixed client port keeps one UDP session). */
export async function udpClient(localAddress = '127.0.0.1'): Promise<{
  ask(address: string, port: number, payload: string, timeoutMs?: number): Promise<string>;
  close(): void;
}> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, localAddress, resolve));
  return {
    ask: (address, port, payload, timeoutMs = 1_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          socket.removeListener('message', onMessage);
          reject(new Error('timeout'));
        }, timeoutMs);
        const onMessage = (msg: Buffer): void => {
          clearTimeout(timer);
          resolve(msg.toString());
        };
        socket.once('message', onMessage);
        socket.send(payload, port, address);
      }),
    close: () => socket.close(),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
