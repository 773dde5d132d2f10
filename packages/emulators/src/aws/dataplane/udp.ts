import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import type { AwsState } from '../state';
import type { NodeSlot } from './addresses';
import type { Flow, Flows } from './flows';
import type { FlowContext, Router } from './router';
import type { TcpEvents } from './tcp';
import type { Timers } from './timers';

/**
 * UDP listeners. NLB tracks UDP by flow (the client's address and port): the first
 * datagram is admitted and routed like a SYN, later ones follow it to the same target,
 * and replies go back from the listener's address. Client IP preservation is always on
 * for UDP, so the target sees the client's address. A flow idle for 120 s (NLB's UDP
 * idle timeout, scaled) is forgotten. A dropped datagram simply vanishes. With proxy
 * protocol v2 every datagram to the target carries the header.
 */
export const UDP_IDLE_SECONDS = 120;

export interface UdpListenerContext {
  readonly state: AwsState;
  readonly router: Router;
  readonly flows: Flows;
  readonly timers: Timers;
  readonly events: TcpEvents;
  readonly frontend: string;
  readonly listenerArn: string;
  readonly slot: NodeSlot;
}

interface UdpFlow extends Flow {
  readonly upstream: UdpSocket;
  send(message: Buffer): void;
  touch(): void;
}

export class UdpListener {
  private readonly byClient = new Map<string, UdpFlow>();

  constructor(
    private readonly context: UdpListenerContext,
    readonly socket: UdpSocket,
  ) {
    socket.on('message', (message, rinfo) => this.receive(message, rinfo));
  }

  close(): void {
    for (const flow of [...this.byClient.values()]) flow.reset();
    this.socket.close();
  }

  private receive(message: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    const existing = this.byClient.get(key);
    if (existing) {
      existing.touch();
      existing.send(message);
      return;
    }
    const { context } = this;
    const listener = context.state.listeners.get(context.listenerArn);
    const lb = listener && context.state.loadBalancers.get(listener.loadBalancerArn);
    if (!listener || !lb) return;
    const flowContext: FlowContext = { listener, lb, slot: context.slot, transport: 'udp', client: { address: rinfo.address, port: rinfo.port } };
    const admission = context.router.admit(flowContext);
    if (!admission.admitted) return context.events.drop(flowContext, admission.reason);
    const route = context.router.route(flowContext);
    if (route.kind !== 'forward') return context.events.drop(flowContext, route.kind === 'drop' ? route.reason : 'no-target');

    const upstream = createSocket('udp4');
    // One timer per flow, re-armed only when it fires early: datagrams just note the time.
    const idleMs = context.timers.ms(UDP_IDLE_SECONDS);
    let lastActive = Date.now();
    let cancelIdle = (): void => {};
    const watchIdle = (delay: number): void => {
      cancelIdle = context.timers.afterMs(delay, () => {
        const quiet = Date.now() - lastActive;
        if (quiet >= idleMs) flow.reset();
        else watchIdle(idleMs - quiet);
      });
    };
    const flow: UdpFlow = {
      target: route.record.key,
      frontend: context.frontend,
      upstream,
      send: (payload) => {
        try {
          upstream.send(route.header ? Buffer.concat([route.header, payload]) : payload, route.port, route.address);
        } catch {
          flow.reset();
        }
      },
      touch: () => {
        lastActive = Date.now();
      },
      end: () => flow.reset(),
      reset: () => {
        cancelIdle();
        if (this.byClient.get(key) === flow) this.byClient.delete(key);
        context.flows.delete(flow);
        try {
          upstream.close();
        } catch {
          // already closed
        }
      },
    };
    upstream.on('error', () => flow.reset());
    upstream.on('message', (reply, from) => {
      // Unconnected, so only the target's answers count.
      if (from.port !== route.port || from.address !== route.address) return;
      flow.touch();
      try {
        this.socket.send(reply, rinfo.port, rinfo.address);
      } catch {
        // The listener closed under the flow.
      }
    });
    upstream.bind({ port: 0, ...(route.source ? { address: route.source } : {}) });
    this.byClient.set(key, flow);
    context.flows.add(flow);
    context.events.connection(flowContext, route.record);
    watchIdle(idleMs);
    flow.send(message);
  }
}
