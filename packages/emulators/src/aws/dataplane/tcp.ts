import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { AwsState } from '../state';
import type { NodeSlot } from './addresses';
import type { Certificates } from './certificates';
import type { Flow, Flows } from './flows';
import type { TargetRecord } from './health';
import type { DropReason, FlowContext, Router } from './router';
import type { Timers } from './timers';

/**
 * TCP and TLS listeners: one accepted connection at a time, from admission to the two
 * sockets spliced together.
 *
 * A dropped SYN cannot be modelled in userspace (the kernel has completed the
 * handshake before the emulator sees the connection), so a dropped connection is
 * *black-holed*: never read, never answered, no byte reaches any target, and after
 * Linux's SYN retry time (127 s, scaled) it is reset, which a client sees where a real
 * `connect()` would time out. A TLS listener black-holes before its handshake, so the
 * handshake hangs as it would.
 *
 * A target that refuses or resets the connection resets the client's (NLB forwards the
 * target's RST); no eligible target at all resets it too. Half-closes pass through. A
 * connection idle for the listener's TCP idle timeout (350 s unless
 * `tcp.idle_timeout.seconds` says otherwise; scaled) is reset.
 */
export const TCP_IDLE_SECONDS = 350;
export const SYN_TIMEOUT_SECONDS = 127;

export interface TcpEvents {
  drop(context: FlowContext, reason: DropReason | 'no-target'): void;
  connection(context: FlowContext, target: TargetRecord): void;
}

export interface TcpListenerContext {
  readonly state: AwsState;
  readonly router: Router;
  readonly flows: Flows;
  readonly timers: Timers;
  readonly certificates: Certificates;
  readonly events: TcpEvents;
  /** Sockets held without an answer, reset by `close()`. */
  readonly blackholes: Set<Socket>;
  readonly frontend: string;
  readonly listenerArn: string;
  readonly slot: NodeSlot;
  /** TLS listeners: the policy's lowest version and the ALPN list. */
  readonly tls: { readonly minVersion: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3'; readonly alpn: string[] | undefined } | undefined;
}

/** RST where the socket is plain TCP; a TLS socket is reset through the TCP socket under it. */
function reset(socket: Socket | undefined, under?: Socket): void {
  const tcp = under ?? socket;
  if (!tcp || tcp.destroyed) {
    socket?.destroy();
    return;
  }
  try {
    tcp.resetAndDestroy();
  } catch {
    tcp.destroy();
  }
  socket?.destroy();
}

function remote(socket: Socket): { address: string; port: number } {
  return { address: (socket.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/i, ''), port: socket.remotePort ?? 0 };
}

export function blackhole(context: TcpListenerContext, raw: Socket): void {
  raw.pause();
  context.blackholes.add(raw);
  const cancel = context.timers.after(SYN_TIMEOUT_SECONDS, () => reset(raw));
  raw.once('close', () => {
    cancel();
    context.blackholes.delete(raw);
  });
  raw.on('error', () => {});
}

export function acceptTcp(context: TcpListenerContext, raw: Socket): void {
  raw.pause();
  raw.on('error', () => reset(raw));
  const listener = context.state.listeners.get(context.listenerArn);
  const lb = listener && context.state.loadBalancers.get(listener.loadBalancerArn);
  if (!listener || !lb) return reset(raw);
  const flowContext: FlowContext = { listener, lb, slot: context.slot, transport: 'tcp', client: remote(raw) };
  const admission = context.router.admit(flowContext);
  if (!admission.admitted) {
    context.events.drop(flowContext, admission.reason);
    return blackhole(context, raw);
  }
  if (!context.tls) return forward(context, flowContext, raw, raw);
  void context.certificates.get().then(
    (pem) => {
      if (raw.destroyed) return;
      const secureContext: SecureContext = createSecureContext({ key: pem.key, cert: pem.cert, minVersion: context.tls!.minVersion });
      const front = new TLSSocket(raw, { isServer: true, secureContext, ...(context.tls!.alpn ? { ALPNProtocols: context.tls!.alpn } : {}) });
      front.on('error', () => reset(front, raw));
      front.once('secure', () => forward(context, flowContext, front, raw));
      raw.resume();
    },
    () => reset(raw),
  );
}

/** Chooses a target and splices `front` (the client's plain or TLS stream) to it. */
function forward(context: TcpListenerContext, flowContext: FlowContext, front: Socket, raw: Socket): void {
  const route = context.router.route(flowContext);
  if (route.kind === 'none') {
    context.events.drop(flowContext, 'no-target');
    return reset(front, raw);
  }
  if (route.kind === 'drop') {
    context.events.drop(flowContext, route.reason);
    return blackhole(context, raw);
  }
  const tcpUp = connect({ host: route.address, port: route.port, allowHalfOpen: true, ...(route.source ? { localAddress: route.source } : {}) });
  let up: Socket = tcpUp;
  let spliced = false;
  const flow: Flow = {
    target: route.record.key,
    frontend: context.frontend,
    reset: () => {
      reset(up, tcpUp);
      reset(front, raw);
    },
    end: () => {
      for (const socket of [up, tcpUp, front, raw]) socket.destroy();
    },
  };
  context.flows.add(flow);
  context.events.connection(flowContext, route.record);
  const done = (): void => context.flows.delete(flow);
  raw.once('close', done);
  tcpUp.once('close', done);
  tcpUp.on('error', () => flow.reset());
  front.on('error', () => flow.reset());
  // TCP listeners may set their own (tcp.idle_timeout.seconds, 60–6000); TLS listeners keep 350 s.
  const idle = flowContext.listener.protocol === 'TCP' ? Number(flowContext.listener.attributes?.get('tcp.idle_timeout.seconds') ?? TCP_IDLE_SECONDS) : TCP_IDLE_SECONDS;
  // On the client's stream: a TLS socket takes over the TCP socket's reads and writes.
  front.setTimeout(context.timers.ms(idle), () => flow.reset());
  // A client gone before the target answered takes the half-made connection with it.
  raw.once('close', () => {
    if (!spliced) tcpUp.destroy();
  });

  const splice = (): void => {
    spliced = true;
    if (front.destroyed) return flow.reset();
    front.pipe(up);
    up.pipe(front);
    up.once('close', () => {
      // The target went away: half-closed streams finish, anything else is reset.
      if (!front.destroyed && !(front.writableEnded || front.writableFinished)) flow.reset();
    });
    front.once('close', () => {
      if (!up.destroyed && !(up.writableEnded || up.writableFinished)) flow.reset();
    });
    front.resume();
  };
  tcpUp.once('connect', () => {
    if (route.header) tcpUp.write(route.header);
    if (route.tg.protocol !== 'TLS') return splice();
    // A TLS target group: the NLB opens TLS to the target and does not verify its certificate.
    const secure = tlsConnect({ socket: tcpUp, rejectUnauthorized: false });
    up = secure;
    secure.on('error', () => flow.reset());
    secure.once('secureConnect', splice);
  });
  tcpUp.once('close', () => {
    if (!spliced) reset(front, raw);
  });
}
