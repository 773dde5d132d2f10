/**
 * A TCP proxy between a client and the API server that fails the ways networks do:
 * - `refuse`: every new connection is reset as its request arrives, as a closed port refuses
 *   it, but counted and with the request line recorded (so a test sees who retried when);
 * - `blackhole`: connections are accepted and never answered;
 * - `sever()`: the open connections stop carrying anything either way, the API server's side
 *   is closed, and the client's socket stays open: the client sees neither FIN nor RST, as
 *   after a NAT or load balancer dropped its state.
 * Each connection's first request line is recorded, so a test sees what was asked for.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'blackhole';

export interface ProxiedConnection {
  at: number;
  mode: ProxyMode;
  /** `GET /api/v1/services?watch=true&… HTTP/1.1`, once the client has sent it. */
  requestLine?: string;
}

export class TcpProxy {
  mode: ProxyMode = 'forward';
  /** In `forward` mode, requests whose request line matches are reset all the same (e.g. only watches). */
  refusing: RegExp | undefined;
  readonly connections: ProxiedConnection[] = [];
  private readonly pairs = new Set<{ client: Socket; upstream?: Socket }>();
  private readonly held = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.accept(client));
    proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections accepted since `since` (ms since the epoch) whose request line matches. */
  requests(pattern: RegExp, since = 0): ProxiedConnection[] {
    return this.connections.filter((c) => c.at >= since && c.requestLine !== undefined && pattern.test(c.requestLine));
  }

  /** Silently cuts every open connection: nothing more flows, the client's socket stays open. */
  sever(): void {
    for (const pair of this.pairs) {
      pair.client.unpipe();
      pair.upstream?.unpipe();
      pair.upstream?.destroy();
      pair.client.removeAllListeners('data');
      pair.client.pause();
      this.held.add(pair.client);
    }
    this.pairs.clear();
  }

  /** Resets every open connection (the API server restarting): the client notices at once. */
  reset(): void {
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.upstream?.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    for (const socket of this.held) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const record: ProxiedConnection = { at: Date.now(), mode: this.mode };
    this.connections.push(record);
    client.on('error', () => {});
    const refuse = this.mode === 'refuse';
    const refusing = this.mode === 'forward' ? this.refusing : undefined;
    client.once('data', (chunk: Buffer) => {
      record.requestLine = chunk.toString('latin1').split('\r\n')[0];
      if (refuse || refusing?.test(record.requestLine!)) {
        record.mode = 'refuse';
        client.resetAndDestroy();
      }
    });
    if (refuse) {
      // A client that sends nothing is refused all the same.
      setTimeout(() => client.destroyed || client.resetAndDestroy(), 200).unref();
      return;
    }
    if (this.mode === 'blackhole') {
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    upstream.on('error', () => client.destroy());
    const forget = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A severed pair is no longer in `pairs`: the upstream closing then leaves the client be.
    upstream.on('close', () => this.pairs.has(pair) && forget());
    client.on('close', () => this.pairs.has(pair) && forget());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
