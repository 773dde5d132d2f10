import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { AwsState, LoadBalancer, Target, TargetGroup } from '../state';
import type { XmlValue } from '../xml';
import { AddressBook, type NodeSlot } from './addresses';
import { Certificates } from './certificates';
import { answer, findByDnsName, lookupFunction } from './dns';
import { Flows } from './flows';
import { Frontends } from './frontends';
import { HealthMonitor, type TargetRecord, type TargetState } from './health';
import { DEFAULT_ADDRESS_POOL, type DataPlaneOptions } from './options';
import type { Endpoint } from './proxy-protocol';
import { Router, type DropReason, type FlowContext } from './router';
import { Timers } from './timers';
import { flag, loadBalancerOf, targetZone, unusedReason, type HealthView } from './topology';
import type { DataPlaneView } from './view';

export type { DataPlaneOptions, NlbNode } from './options';
export type { DropReason } from './router';
export type { TargetState } from './health';

/** An NLB node as `nodes()` lists it. */
export interface NodeInfo {
  readonly availabilityZone: string;
  readonly subnetId: string;
  /** The node's VPC address (health checks come from it; security group CIDR rules match it). */
  readonly privateIp: string;
  /** The local address it listens on, which DescribeLoadBalancers reports and DNS answers. */
  readonly address: string;
}

/** A listener as `listenerPorts()` lists it: its AWS port and the local port it is bound to (see `listenPort`). */
export interface ListenerInfo {
  readonly protocol: string;
  readonly port: number;
  readonly localPort: number;
}

/** Payloads of the events a {@link DataPlane} emits. */
export interface HealthEvent {
  readonly targetGroupArn: string;
  readonly target: { readonly id: string; readonly port: number };
  readonly state: TargetState | 'unused';
  readonly previous: TargetState;
  readonly reason: string | undefined;
}

export interface FlowEvent {
  readonly loadBalancerArn: string;
  readonly listenerPort: number;
  readonly transport: 'tcp' | 'udp';
  readonly client: Endpoint;
  readonly node: NodeInfo;
}

export interface ConnectionEvent extends FlowEvent {
  readonly targetGroupArn: string;
  readonly target: { readonly id: string; readonly port: number };
}

export interface DropEvent extends FlowEvent {
  readonly reason: DropReason | 'no-target';
}

/**
 * The ELBv2 emulator's data plane: real sockets behind every listener of every NLB,
 * health checks that decide what DescribeTargetHealth says, and routing, draining,
 * stickiness, proxy protocol and security groups as the NLB guide describes them.
 * Opt-in: `AwsEmulator.start({ dataPlane: { timeScale: 0.01 } })`, then
 * `emu.dataPlane`. Events: `health` ({@link HealthEvent}), `connection`
 * ({@link ConnectionEvent}), `drop` ({@link DropEvent}) and `problem` (a message, e.g. a
 * port that cannot be bound).
 */
export class DataPlane extends EventEmitter {
  readonly timeScale: number;
  private readonly listenPort: (port: number, protocol: 'tcp' | 'udp') => number;
  private readonly timers: Timers;
  private readonly addresses: AddressBook;
  private readonly health: HealthMonitor;
  private readonly router: Router;
  private readonly flows = new Flows();
  private readonly blackholes = new Set<Socket>();
  private readonly certificates: Certificates;
  private readonly frontends: Frontends;
  private readonly problemLog: string[] = [];
  private closed = false;

  constructor(
    private readonly state: AwsState,
    options: DataPlaneOptions = {},
  ) {
    super();
    this.timeScale = options.timeScale ?? 1;
    this.listenPort = options.listenPort ?? ((port) => port);
    this.timers = new Timers(this.timeScale);
    this.addresses = new AddressBook(state, options.addressPool ?? DEFAULT_ADDRESS_POOL, options.nodeAddress);
    for (const [vpcIp, local] of Object.entries(options.addresses ?? {})) this.addresses.map(vpcIp, local);
    this.certificates = new Certificates(state.region);
    this.health = new HealthMonitor(state, this.timers, this.addresses, (tg, target) => this.inUse(tg, target), {
      transition: (record, from) => this.onTransition(record, from),
      removed: (record, terminate) => this.onRemoved(record, terminate),
    });
    this.router = new Router(state, this.addresses, this.health);
    this.frontends = new Frontends({
      state,
      addresses: this.addresses,
      router: this.router,
      flows: this.flows,
      timers: this.timers,
      certificates: this.certificates,
      blackholes: this.blackholes,
      listenPort: this.listenPort,
      problem: (message) => this.problem(message),
      events: {
        drop: (context, reason) => this.emit('drop', { ...this.flowEvent(context), reason } satisfies DropEvent),
        connection: (context, record) =>
          this.emit('connection', {
            ...this.flowEvent(context),
            targetGroupArn: record.targetGroupArn,
            target: { id: record.target.id, port: record.target.port },
          } satisfies ConnectionEvent),
      },
    });
  }

  /** Says that the target at VPC address `vpcIp` is reachable at `localAddress` (e.g. an instance's node agent on 127.0.1.1). */
  mapAddress(vpcIp: string, localAddress: string): void {
    this.addresses.map(vpcIp, localAddress);
  }

  unmapAddress(vpcIp: string): void {
    this.addresses.unmap(vpcIp);
  }

  /** The address the data plane dials for a VPC address (itself when unmapped). */
  localAddress(vpcIp: string): string {
    return this.addresses.localOf(vpcIp);
  }

  /**
   * The addresses DNS gives for an NLB's DNS name right now: its nodes' local addresses,
   * zones without enough healthy targets left out (all of them when none has). Empty
   * for a name that is no load balancer's.
   */
  lookup(dnsName: string): string[] {
    const lb = findByDnsName(this.state, dnsName);
    return lb ? answer(this.state, this.addresses, this.router, lb) : [];
  }

  /** {@link lookup} as the `lookup` option of `net.connect`, `tls.connect` and `http.request`; other names go to the system resolver. */
  readonly dnsLookup = lookupFunction((name) => {
    const lb = findByDnsName(this.state, name);
    return lb ? answer(this.state, this.addresses, this.router, lb) : undefined;
  });

  /** The nodes of a load balancer (by ARN or DNS name), one per enabled zone. */
  nodes(loadBalancer: string): NodeInfo[] {
    const lb = this.state.loadBalancers.get(loadBalancer) ?? findByDnsName(this.state, loadBalancer);
    if (!lb) return [];
    return lb.subnets.map((s) => this.addresses.node(lb, s.subnetId)).map((slot) => nodeInfo(slot.node, slot.address));
  }

  /** The listeners of a load balancer (by ARN or DNS name) and the local port each is bound to. */
  listenerPorts(loadBalancer: string): ListenerInfo[] {
    const lb = this.state.loadBalancers.get(loadBalancer) ?? findByDnsName(this.state, loadBalancer);
    if (!lb) return [];
    return this.state.listenersOf(lb.arn).map((l) => ({ protocol: l.protocol, port: l.port, localPort: this.listenPort(l.port, l.protocol === 'UDP' ? 'udp' : 'tcp') }));
  }

  /** The PEM certificate TLS listeners serve (trust it as a CA); generated on first use. */
  async certificate(): Promise<string> {
    return (await this.certificates.get()).cert;
  }

  /** Ports that could not be bound and other trouble, oldest first (also emitted as `problem`). */
  get problems(): readonly string[] {
    return this.problemLog;
  }

  /** Open flows, black-holed connections and pending timers: all zero after `close()`. */
  stats(): { flows: number; blackholed: number; timers: number } {
    return { flows: this.flows.size, blackholed: this.blackholes.size, timers: this.timers.size };
  }

  /** Resolves when every listener socket has been bound (or failed) and every removed one closed. */
  settled(): Promise<void> {
    return this.frontends.settled();
  }

  /** Follows the world after a change (the emulator calls it after every mutating EC2 or ELBv2 call). */
  sync(): void {
    if (this.closed) return;
    // Runs inside the API call's answer: trouble here is reported, never thrown at the caller.
    try {
      this.addresses.prune();
      this.health.sync();
      this.frontends.sync();
    } catch (error) {
      this.problem(`the data plane could not follow the last change: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The handlers' side (see view.ts). */
  readonly view: DataPlaneView = {
    loadBalancerAddresses: (lb: LoadBalancer, subnetId: string): XmlValue => {
      let slot: NodeSlot;
      try {
        slot = this.addresses.node(lb, subnetId);
      } catch (error) {
        this.problem(error instanceof Error ? error.message : String(error));
        return [];
      }
      // A static address of the subnet mapping is reported by the handlers already (elbv2-subnet-mappings.ts).
      if (slot.staticAddress !== undefined) return [];
      return [lb.scheme === 'internal' ? { PrivateIPv4Address: slot.address } : { IpAddress: slot.address }];
    },
    reservedAddresses: (subnetId: string) => this.addresses.reserved(subnetId),
    targetHealth: (tg: TargetGroup, target: Target): HealthView => {
      if (tg.targetType === 'ip' && this.addresses.isNodeIp(target.id)) {
        return { State: 'unused', Reason: 'Target.IpUnusable', Description: 'The target IP address is reserved for use by a load balancer' };
      }
      return this.health.view(tg, target);
    },
    drainingTargets: (tg: TargetGroup) => this.health.draining(tg),
  };

  /** Closes every listener, resets every connection and cancels every check and timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.health.close();
    this.timers.close();
    await this.frontends.close();
    this.flows.endAll();
    for (const socket of this.blackholes) socket.destroy();
    this.blackholes.clear();
    this.router.close();
  }

  private problem(message: string): void {
    this.problemLog.push(message);
    this.emit('problem', message);
  }

  private inUse(tg: TargetGroup, target: Target): boolean {
    if (unusedReason(this.state, tg, target)) return false;
    return !(tg.targetType === 'ip' && this.addresses.isNodeIp(target.id));
  }

  private onTransition(record: TargetRecord, from: TargetState): void {
    this.emit('health', { targetGroupArn: record.targetGroupArn, target: { id: record.target.id, port: record.target.port }, state: record.state, previous: from, reason: record.reason } satisfies HealthEvent);
    if (record.state !== 'unhealthy') return;
    const tg = this.state.targetGroups.get(record.targetGroupArn);
    const lb = tg && loadBalancerOf(this.state, tg);
    if (!tg || !lb || !flag(tg, 'target_health_state.unhealthy.connection_termination.enabled')) return;
    // "... sends a TCP RST for packets received on the client connections associated with
    // the target, unless the unhealthy target triggers the load balancer to fail open."
    const zone = targetZone(this.state, tg, record.target) ?? lb.subnets[0]?.az ?? '';
    if (!this.router.eligible(lb, tg, zone).failOpen) this.flows.resetTarget(record.key);
  }

  private onRemoved(record: TargetRecord, terminate: boolean): void {
    if (terminate) this.flows.resetTarget(record.key);
    if (this.closed) return;
    this.emit('health', { targetGroupArn: record.targetGroupArn, target: { id: record.target.id, port: record.target.port }, state: 'unused', previous: record.state, reason: undefined } satisfies HealthEvent);
  }

  private flowEvent(context: FlowContext): FlowEvent {
    return {
      loadBalancerArn: context.lb.arn,
      listenerPort: context.listener.port,
      transport: context.transport,
      client: context.client,
      node: nodeInfo(context.slot.node, context.slot.address),
    };
  }
}

function nodeInfo(node: { availabilityZone: string; subnetId: string; privateIp: string }, address: string): NodeInfo {
  return { availabilityZone: node.availabilityZone, subnetId: node.subnetId, privateIp: node.privateIp, address };
}

