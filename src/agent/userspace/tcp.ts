/**
 * The TCP side of the userspace proxy: a listener per service address whose accepted
 * connections are spliced to an endpoint the balancer picks, retrying the next endpoint
 * when a connect fails.
 */
import net from 'node:net';
import { Balancer, ConnectionCount, type BalancerConfig } from './balancer';
import type { ListenerContext } from './connections';
import type { SourceChoice } from './sources';

/**
 * Connect attempts and their timeouts, as kube-proxy's userspace mode
 * (`EndpointDialTimeouts`): a dead endpoint costs the client 250 ms before the next one is
 * tried, and a connection gives up after about 4 s.
 */
export const CONNECT_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

export class TcpListener {
  readonly balancer: Balancer;
  private readonly server: net.Server;

  constructor(
    config: BalancerConfig,
    private readonly context: ListenerContext,
    private source: SourceChoice | undefined = undefined,
  ) {
    this.balancer = new Balancer(config);
    // pauseOnConnect: the client's bytes wait in the kernel until an endpoint is connected.
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
      this.accept(client),
    );
    this.server.on('error', (err) => context.log(`userspace: tcp listener error: ${err.message}`));
  }

  /** Binds and resolves the bound port; rejects (EADDRINUSE, …) without leaving a socket. */
  listen(address: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve((this.server.address() as net.AddressInfo).port);
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host: address, port, exclusive: true });
    });
  }

  update(config: BalancerConfig, source?: SourceChoice): void {
    this.balancer.update(config);
    this.source = source;
  }

  /**
   * Stops listening: the port is released now (the kernel answers new SYNs with RST, or a
   * new agent binds it) while accepted connections carry on to their endpoints.
   */
  close(): void {
    this.server.close();
  }

  private accept(client: net.Socket): void {
    const source = client.remoteAddress ?? '';
    const tried = new Set<string>();
    const { connections } = this.context;
    let upstream: net.Socket | undefined;
    let count: ConnectionCount | undefined;
    let spliced = false;
    let open = 1; // sockets not closed yet: the client, and the upstream once spliced
    const entry = {
      abort: (): void => {
        upstream?.destroy();
        client.resetAndDestroy();
      },
    };
    const closed = (): void => {
      if (--open > 0) return;
      count?.release();
      connections.delete(entry);
    };
    connections.add(entry);
    // A reset or error on one side resets the other, so each peer sees what the other did.
    client.on('error', () => {
      if (spliced && !upstream!.destroyed) upstream!.resetAndDestroy();
    });
    client.once('close', () => {
      if (!spliced) upstream?.destroy();
      closed();
    });

    const attempt = (index: number): void => {
      if (client.destroyed) return;
      const backend = index < CONNECT_TIMEOUTS_MS.length ? this.balancer.pick(source, this.context.now(), tried) : undefined;
      if (backend === undefined) {
        client.resetAndDestroy();
        return;
      }
      // Once every endpoint has failed the balancer starts over; so does `tried`.
      if (tried.size >= this.balancer.endpoints.length) tried.clear();
      tried.add(backend.id);
      const attemptCount = new ConnectionCount(backend);
      count = attemptCount;
      const localAddress = this.source?.(source, backend.ip);
      const socket = net.connect({ host: backend.ip, port: backend.port, noDelay: true, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}) });
      upstream = socket;
      socket.setTimeout(CONNECT_TIMEOUTS_MS[index]!, () => socket.destroy(new Error('connect timeout')));
      socket.on('error', (err) => {
        if (spliced) {
          if (!client.destroyed) client.resetAndDestroy();
          return;
        }
        this.context.log(`userspace: connect to ${backend.id} failed: ${err.message}`);
        attemptCount.release();
        attempt(index + 1);
      });
      socket.once('connect', () => {
        socket.setTimeout(0);
        spliced = true;
        open++;
        socket.once('close', closed);
        attemptCount.established();
        this.balancer.connected(source, backend, this.context.now());
        splice(client, socket, attemptCount);
      });
    };
    attempt(0);
  }
}

/** Pipes both ways with backpressure and half-close (each side's FIN is passed on). */
function splice(client: net.Socket, upstream: net.Socket, count: ConnectionCount): void {
  const halfClosed = (): void => count.halfClosed();
  client.once('end', halfClosed);
  upstream.once('end', halfClosed);
  client.pipe(upstream);
  upstream.pipe(client);
}
