import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { AwsState, Listener } from '../state';
import type { AddressBook, NodeSlot } from './addresses';
import type { Certificates } from './certificates';
import type { Flows } from './flows';
import type { Router } from './router';
import { acceptTcp, type TcpEvents, type TcpListenerContext } from './tcp';
import type { Timers } from './timers';
import { UdpListener } from './udp';

/**
 * The listening sockets: one frontend per listener and NLB node (AWS runs a node per
 * enabled zone, each with its own address), bound at the node's local address. TCP and
 * TLS listeners get a TCP server, UDP a UDP socket, TCP_UDP both on the same port.
 * Frontends follow the world: a new listener or zone starts one, a changed port,
 * protocol or TLS policy restarts it, and a deleted listener, zone or load balancer
 * closes it and resets its connections.
 */
interface Spec {
  readonly key: string;
  readonly listenerArn: string;
  readonly slot: NodeSlot;
  readonly protocol: string;
  readonly port: number;
  readonly tls: TcpListenerContext['tls'];
  readonly signature: string;
}

interface Frontend {
  readonly spec: Spec;
  readonly listening: Promise<void>;
  close(): Promise<void>;
}

export interface FrontendDeps {
  readonly state: AwsState;
  readonly addresses: AddressBook;
  readonly router: Router;
  readonly flows: Flows;
  readonly timers: Timers;
  readonly certificates: Certificates;
  readonly events: TcpEvents;
  readonly blackholes: Set<Socket>;
  readonly listenPort: (port: number, protocol: 'tcp' | 'udp') => number;
  readonly problem: (message: string) => void;
}

/** The lowest TLS version of an ELB security policy (ELBSecurityPolicy-TLS13-1-2-… → 1.2). */
function minVersion(policy: string | undefined): 'TLSv1' | 'TLSv1.2' | 'TLSv1.3' {
  if (!policy) return 'TLSv1';
  if (/TLS13-1-3/.test(policy)) return 'TLSv1.3';
  if (/TLS13-1-2|TLS-1-2|FS-1-2/.test(policy)) return 'TLSv1.2';
  return 'TLSv1';
}

const ALPN: Readonly<Record<string, string[]>> = {
  HTTP1Only: ['http/1.1'],
  HTTP2Only: ['h2'],
  HTTP2Optional: ['http/1.1', 'h2'],
  HTTP2Preferred: ['h2', 'http/1.1'],
};

function spec(slot: NodeSlot, listener: Listener, listenPort: FrontendDeps['listenPort']): Spec {
  const tls = listener.protocol === 'TLS' ? { minVersion: minVersion(listener.sslPolicy), alpn: ALPN[listener.alpnPolicy?.[0] ?? 'None'] } : undefined;
  const port = listenPort(listener.port, listener.protocol === 'UDP' ? 'udp' : 'tcp');
  return {
    key: `${listener.arn}|${slot.node.subnetId}`,
    listenerArn: listener.arn,
    slot,
    protocol: listener.protocol,
    port,
    tls,
    signature: JSON.stringify([slot.address, port, listener.protocol, tls]),
  };
}

export class Frontends {
  private readonly running = new Map<string, Frontend>();
  private readonly closing = new Set<Promise<void>>();
  /** Restarts after a node moved to another address. */
  private readonly resyncs = new Set<Promise<void>>();
  private readonly tried = new Map<NodeSlot, Set<string>>();
  private closed = false;

  constructor(private readonly deps: FrontendDeps) {}

  sync(): void {
    if (this.closed) return;
    const { state, addresses } = this.deps;
    const desired = new Map<string, Spec>();
    for (const lb of state.loadBalancers.values()) {
      const listeners = state.listenersOf(lb.arn);
      for (const subnet of lb.subnets) {
        const slot = addresses.node(lb, subnet.subnetId);
        for (const listener of listeners) {
          const wanted = spec(slot, listener, this.deps.listenPort);
          desired.set(wanted.key, wanted);
        }
      }
    }
    for (const [key, frontend] of this.running) {
      if (desired.get(key)?.signature === frontend.spec.signature) continue;
      this.running.delete(key);
      this.track(frontend.close());
    }
    for (const [key, wanted] of desired) if (!this.running.has(key)) this.running.set(key, this.start(wanted));
  }

  /** Resolves once every frontend has bound (or failed to, or moved and bound again) and every closed one is closed. */
  async settled(): Promise<void> {
    for (;;) {
      const moving = this.resyncs.size > 0;
      await Promise.all([...[...this.running.values()].map((f) => f.listening), ...this.closing, ...this.resyncs]);
      if (!moving && this.resyncs.size === 0) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const frontends = [...this.running.values()];
    this.running.clear();
    await Promise.all([...frontends.map((f) => f.close()), ...this.closing]);
  }

  private track(closing: Promise<void>): void {
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  private start(wanted: Spec): Frontend {
    const { deps } = this;
    const accepted = new Set<Socket>();
    let server: Server | undefined;
    let udp: UdpListener | undefined;
    const context = {
      state: deps.state,
      router: deps.router,
      flows: deps.flows,
      timers: deps.timers,
      certificates: deps.certificates,
      events: deps.events,
      blackholes: deps.blackholes,
      frontend: wanted.key,
      listenerArn: wanted.listenerArn,
      slot: wanted.slot,
      tls: wanted.tls,
    };
    if (wanted.tls) void deps.certificates.get();
    const binds: Promise<void>[] = [];
    if (wanted.protocol !== 'UDP') {
      const tcpServer = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (raw) => {
        accepted.add(raw);
        raw.once('close', () => accepted.delete(raw));
        acceptTcp(context, raw);
      });
      server = tcpServer;
      binds.push(
        new Promise((resolve) => {
          tcpServer.on('error', (error) => {
            if (!tcpServer.listening) this.failed(wanted, 'tcp', error);
            resolve();
          });
          tcpServer.listen({ host: wanted.slot.address, port: wanted.port, exclusive: true }, () => resolve());
        }),
      );
    }
    if (wanted.protocol === 'UDP' || wanted.protocol === 'TCP_UDP') {
      const socket = createSocket('udp4');
      udp = new UdpListener({ ...context }, socket);
      binds.push(
        new Promise((resolve) => {
          let bound = false;
          socket.on('error', (error) => {
            if (!bound) this.failed(wanted, 'udp', error);
            resolve();
          });
          socket.bind({ address: wanted.slot.address, port: wanted.port, exclusive: true }, () => {
            bound = true;
            resolve();
          });
        }),
      );
    }
    const listening = Promise.all(binds).then(() => {});
    return {
      spec: wanted,
      listening,
      close: async () => {
        await listening;
        // A deleted listener cuts its connections; a closing emulator just lets go of them.
        if (this.closed) deps.flows.endFrontend(wanted.key);
        else deps.flows.resetFrontend(wanted.key);
        for (const socket of accepted) socket.destroy();
        try {
          udp?.close();
        } catch {
          // never bound
        }
        if (server?.listening) await new Promise<void>((resolve) => server!.close(() => resolve()));
      },
    };
  }

  private failed(wanted: Spec, transport: 'tcp' | 'udp', error: NodeJS.ErrnoException): void {
    const where = `${wanted.slot.address}:${wanted.port}/${transport}`;
    if (error.code === 'EADDRINUSE' && !this.closed) {
      const tried = this.tried.get(wanted.slot) ?? new Set<string>();
      this.tried.set(wanted.slot, tried);
      if (this.deps.addresses.relocate(wanted.slot, tried)) {
        this.deps.problem(`${where} is taken by another process; the node of ${wanted.slot.node.loadBalancerName} in ${wanted.slot.node.availabilityZone} moves to ${wanted.slot.address}`);
        const resync = new Promise<void>((resolve) =>
          setImmediate(() => {
            this.sync();
            resolve();
          }),
        );
        this.resyncs.add(resync);
        void resync.finally(() => this.resyncs.delete(resync));
        return;
      }
    }
    const hint = error.code === 'EACCES' ? ' (ports below 1024 need root; map them with dataPlane.listenPort)' : '';
    this.deps.problem(`cannot listen on ${where}: ${error.code ?? error.message}${hint}`);
  }
}
