/**
 * What the playground's pods run: a small server that says who answered and whom it saw.
 * HTTP on TCP (so `curl` works) and a datagram echo on UDP, both answering
 *
 *     <pod> on <node> saw <address>:<port>
 *
 * where the address is the connection's source as the pod sees it (the node's under
 * externalTrafficPolicy Cluster, the client's under Local). A connection or datagram that
 * starts with a proxy protocol v2 header has it parsed and shown on a second line, bytes
 * included, so the NLB's `proxy_protocol_v2.enabled` can be checked from outside.
 * `/` and `/healthz` answer 200, any other path 404 (a health check on a path the pods do
 * not serve fails as it would on AWS).
 *
 * In-process for the loopback nodes; run as a script (`pod-server.ts NAME NODE ADDRESS
 * TCP_PORT UDP_PORT`) inside a pod's network namespace for `ferry local --kernel`, where it
 * reports each connection as a JSON line on stdout.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface PodServerOptions {
  name: string;
  node: string;
  /** The pod's IP: both servers bind here. */
  address: string;
  tcpPort: number;
  udpPort: number;
}

/** A proxy protocol v2 header as received. */
export interface ProxyHeader {
  command: 'LOCAL' | 'PROXY';
  /** `TCP4`, `UDP4` or `UNSPEC`. */
  family: string;
  source: string | undefined;
  destination: string | undefined;
  /** The whole header, hex. */
  bytes: string;
}

/** One connection (TCP) or datagram (UDP) that reached the pod. */
export interface Visit {
  transport: 'tcp' | 'udp';
  /** `address:port` of the source the pod saw. */
  from: string;
  proxy: ProxyHeader | undefined;
  at: number;
}

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const FAMILIES: Record<number, string> = { 0x00: 'UNSPEC', 0x11: 'TCP4', 0x12: 'UDP4' };

/**
 * Splits a proxy protocol v2 header off the front of `data`: `incomplete` while more
 * bytes could still make one, else the header (if any) and the rest.
 */
export function splitProxyHeader(data: Buffer): 'incomplete' | { header: ProxyHeader | undefined; rest: Buffer } {
  const compared = Math.min(data.length, SIGNATURE.length);
  if (!data.subarray(0, compared).equals(SIGNATURE.subarray(0, compared))) return { header: undefined, rest: data };
  if (data.length < 16) return 'incomplete';
  const length = 16 + data.readUInt16BE(14);
  if (data.length < length) return 'incomplete';
  const command = (data[12]! & 0x0f) === 1 ? 'PROXY' : 'LOCAL';
  const family = FAMILIES[data[13]!] ?? `0x${data[13]!.toString(16)}`;
  const ipv4 = (family === 'TCP4' || family === 'UDP4') && length >= 28;
  const address = (offset: number, portOffset: number) => `${[...data.subarray(offset, offset + 4)].join('.')}:${data.readUInt16BE(portOffset)}`;
  return {
    header: {
      command,
      family,
      source: ipv4 ? address(16, 24) : undefined,
      destination: ipv4 ? address(20, 26) : undefined,
      bytes: data.subarray(0, length).toString('hex'),
    },
    rest: data.subarray(length),
  };
}

/** The answer's text: who answered, whom it saw, and the proxy header if one came. */
export function answerText(options: Pick<PodServerOptions, 'name' | 'node'>, visit: Visit): string {
  const lines = [`${options.name} on ${options.node} saw ${visit.from}`];
  const p = visit.proxy;
  if (p) lines.push(`proxy protocol v2 ${p.command} ${p.family}${p.source ? ` ${p.source} → ${p.destination}` : ''} header ${p.bytes}`);
  return `${lines.join('\n')}\n`;
}

/** The parts of an answer the tests and the story read back. */
export interface Answer {
  pod: string;
  node: string;
  saw: string;
  proxy: { command: string; family: string; source?: string; destination?: string; bytes: string } | undefined;
}

export function parseAnswer(text: string): Answer | undefined {
  const first = /^(\S+) on (\S+) saw (\S+)$/m.exec(text);
  if (!first) return undefined;
  const proxy = /^proxy protocol v2 (\S+) (\S+)(?: (\S+) → (\S+))? header ([0-9a-f]+)$/m.exec(text);
  return {
    pod: first[1]!,
    node: first[2]!,
    saw: first[3]!,
    proxy: proxy ? { command: proxy[1]!, family: proxy[2]!, ...(proxy[3] ? { source: proxy[3], destination: proxy[4]! } : {}), bytes: proxy[5]! } : undefined,
  };
}

const strip = (address: string | undefined) => (address ?? '').replace(/^::ffff:/i, '');

/** The pod's servers. Emits `visit` ({@link Visit}) for every connection and datagram. */
export class PodServer extends EventEmitter {
  readonly visits: Visit[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly options: PodServerOptions,
    private readonly tcp: Server,
    private readonly http: HttpServer,
    private readonly udp: UdpSocket,
  ) {
    super();
  }

  static async start(options: PodServerOptions): Promise<PodServer> {
    const http = createHttpServer();
    // An idle keep-alive connection stays open: draining tests hold one across a deregistration.
    http.keepAliveTimeout = 0;
    const tcp = createServer({ pauseOnConnect: true });
    const udp = createSocket('udp4');
    const pod = new PodServer(options, tcp, http, udp);
    const proxyOf = new WeakMap<Socket, ProxyHeader | undefined>();
    http.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const visit: Visit = { transport: 'tcp', from: `${strip(req.socket.remoteAddress)}:${req.socket.remotePort}`, proxy: proxyOf.get(req.socket), at: Date.now() };
      const body = answerText(options, visit);
      res.writeHead(path === '/' || path === '/healthz' ? 200 : 404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    tcp.on('connection', (socket) => {
      pod.sockets.add(socket);
      socket.once('close', () => pod.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let buffered = Buffer.alloc(0);
      const onReadable = (): void => {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) buffered = Buffer.concat([buffered, chunk]);
        const split = splitProxyHeader(buffered);
        if (split === 'incomplete') return;
        socket.off('readable', onReadable);
        socket.off('end', onEnd);
        proxyOf.set(socket, split.header);
        pod.record({ transport: 'tcp', from: `${strip(socket.remoteAddress)}:${socket.remotePort}`, proxy: split.header, at: Date.now() });
        if (split.rest.length > 0) socket.unshift(split.rest);
        http.emit('connection', socket);
      };
      // A connection closed before saying anything (a TCP health check) still reached the pod.
      const onEnd = (): void => {
        pod.record({ transport: 'tcp', from: `${strip(socket.remoteAddress)}:${socket.remotePort}`, proxy: undefined, at: Date.now() });
        socket.destroy();
      };
      socket.on('readable', onReadable);
      socket.once('end', onEnd);
    });
    udp.on('message', (message, rinfo) => {
      const split = splitProxyHeader(message);
      const { header, rest } = split === 'incomplete' ? { header: undefined, rest: message } : split;
      const visit: Visit = { transport: 'udp', from: `${strip(rinfo.address)}:${rinfo.port}`, proxy: header, at: Date.now() };
      pod.record(visit);
      udp.send(`${answerText(options, visit)}you sent: ${rest.toString('utf8').trim()}\n`, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: options.address, port: options.tcpPort, exclusive: true }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (err) => {
        tcp.close();
        reject(err);
      });
      udp.bind({ address: options.address, port: options.udpPort, exclusive: true }, () => {
        udp.removeAllListeners('error');
        udp.on('error', () => undefined);
        resolve();
      });
    });
    return pod;
  }

  get tcpPort(): number {
    return (this.tcp.address() as AddressInfo).port;
  }

  /** Stops taking connections now; open ones may finish for `graceMs` (a terminating pod's grace period), then are cut. */
  async close(graceMs = 0): Promise<void> {
    this.tcp.close();
    try {
      this.udp.close();
    } catch {
      // already closed
    }
    if (graceMs > 0 && this.sockets.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        const check = (): void => {
          if (this.sockets.size > 0) return;
          clearTimeout(timer);
          resolve();
        };
        for (const socket of this.sockets) socket.once('close', () => setImmediate(check));
      });
    }
    for (const socket of this.sockets) socket.destroy();
    this.http.closeAllConnections();
  }

  private record(visit: Visit): void {
    this.visits.push(visit);
    this.emit('visit', visit);
  }
}

/** `pod-server.ts NAME NODE ADDRESS TCP_PORT UDP_PORT`: runs until SIGTERM, one JSON line per visit. */
async function main(argv: string[]): Promise<void> {
  const [name, node, address, tcpPort, udpPort] = argv;
  const pod = await PodServer.start({ name: name!, node: node!, address: address!, tcpPort: Number(tcpPort), udpPort: Number(udpPort) });
  pod.on('visit', (visit: Visit) => process.stdout.write(`${JSON.stringify(visit)}\n`));
  process.stdout.write('{"ready":true}\n');
  const stop = (): void => void pod.close(1000).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`pod-server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
