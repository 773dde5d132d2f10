/**
 * The UDP side of the userspace proxy. UDP has no connections, so as kube-proxy's
 * userspace mode did, a "session" per client address:port gets its own socket connected
 * to the endpoint the balancer picked; the endpoint's replies go back to the client from
 * the service port. A session ends after `idleTimeoutMs` without a datagram either way,
 * when its endpoint is removed (as kube-proxy deletes the conntrack entries of a removed
 * UDP endpoint, so the client's next datagram goes to a live one), or when the endpoint
 * answers with ICMP port unreachable.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Balancer, ConnectionCount, type BalancerConfig } from './balancer';
import type { ListenerContext } from './connections';
import type { SourceChoice } from './sources';

/** Datagrams held per session while its socket connects; more are dropped, as a full queue would. */
const MAX_PENDING = 64;

interface Session {
  readonly socket: dgram.Socket;
  readonly count: ConnectionCount;
  readonly timer: NodeJS.Timeout;
  /** Datagrams waiting for `connect`; undefined once connected. */
  pending: Buffer[] | undefined;
}

export class UdpListener {
  readonly balancer: Balancer;
  private socket: dgram.Socket | undefined;
  private readonly sessions = new Map<string, Session>();

  constructor(
    config: BalancerConfig,
    private readonly context: ListenerContext,
    private readonly idleTimeoutMs: number,
    private source: SourceChoice | undefined = undefined,
  ) {
    this.balancer = new Balancer(config);
  }

  listen(address: string, port: number): Promise<number> {
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    this.socket = socket;
    return new Promise((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close();
        this.socket = undefined;
        reject(err);
      });
      socket.bind({ address, port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        socket.on('error', (err) => this.context.log(`userspace: udp listener error: ${err.message}`));
        socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
        resolve(socket.address().port);
      });
    });
  }

  update(config: BalancerConfig, source?: SourceChoice): void {
    this.balancer.update(config);
    this.source = source;
    for (const [client, session] of this.sessions) {
      if (!this.balancer.has(session.count.backend.id)) this.end(client);
    }
  }

  /** Stops listening; UDP sessions end with it (the client's next datagram finds the new agent). */
  close(): void {
    for (const client of [...this.sessions.keys()]) this.end(client);
    this.socket?.close();
    this.socket = undefined;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const client = `${rinfo.address}|${rinfo.port}`;
    const session = this.sessions.get(client) ?? this.open(client, rinfo);
    if (session === undefined) return;
    session.timer.refresh();
    if (session.pending === undefined) session.socket.send(msg);
    else if (session.pending.length < MAX_PENDING) session.pending.push(msg);
  }

  private open(client: string, rinfo: dgram.RemoteInfo): Session | undefined {
    const now = this.context.now();
    const backend = this.balancer.pick(rinfo.address, now);
    if (backend === undefined) return undefined;
    this.balancer.connected(rinfo.address, backend, now);
    const socket = dgram.createSocket(net.isIPv6(backend.ip) ? 'udp6' : 'udp4');
    const session: Session = {
      socket,
      count: new ConnectionCount(backend),
      timer: setTimeout(() => this.end(client), this.idleTimeoutMs),
      pending: [],
    };
    this.sessions.set(client, session);
    socket.on('error', (err) => {
      this.context.log(`userspace: udp session to ${backend.id} ended: ${err.message}`);
      this.end(client);
    });
    socket.on('message', (reply) => {
      session.timer.refresh();
      this.socket?.send(reply, rinfo.port, rinfo.address);
    });
    const connect = (): void =>
      socket.connect(backend.port, backend.ip, () => {
        if (this.sessions.get(client) !== session) return; // ended while connecting
        const pending = session.pending ?? [];
        session.pending = undefined;
        for (const msg of pending) socket.send(msg);
      });
    const localAddress = this.source?.(rinfo.address, backend.ip);
    // Bound first when the source is chosen: connect alone would let the kernel pick it.
    if (localAddress) {
      socket.bind({ address: localAddress, port: 0, exclusive: true }, () => {
        if (this.sessions.get(client) === session) connect(); // not ended while binding
      });
    } else {
      connect();
    }
    return session;
  }

  private end(client: string): void {
    const session = this.sessions.get(client);
    if (session === undefined) return;
    this.sessions.delete(client);
    clearTimeout(session.timer);
    session.count.release();
    session.socket.removeAllListeners('message');
    try {
      session.socket.close();
    } catch {
      // Already closed after an error: nothing left to release.
    }
  }
}
