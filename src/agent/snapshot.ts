/**
 * The agent's snapshot: Services, EndpointSlices and its own Node as the change trackers
 * last drained them, and the {@link ProxyState} built from them. A full rebuild uses
 * `buildProxyState`; an incremental update rebuilds only the Services whose objects or
 * slices changed and reports the service ports that really differ — so a Service update
 * that changes nothing proxying cares about (a label, a status) costs no sync at all.
 */
import { isDeepStrictEqual } from 'node:util';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { ChangeTracker } from './changes';
import { buildProxyState, masquerading, nodeIPs, nodeZone, servicePortMapKey, servicePorts, sliceServiceKey, type StateOptions } from './state';
import type { ProxyState, ServicePort } from './types';

export interface SnapshotUpdate {
  state: ProxyState;
  /** Changed service-port map keys; undefined when everything was rebuilt. */
  changed: ReadonlySet<string> | undefined;
}

export class Snapshot {
  readonly services = new ChangeTracker<V1Service>();
  readonly slices = new ChangeTracker<V1EndpointSlice>();
  readonly node = new ChangeTracker<V1Node>();
  private state: ProxyState | undefined;
  /** Service `namespace/name` → the keys of its slices, as of the last drain. */
  private readonly slicesOf = new Map<string, Set<string>>();
  /** Service `namespace/name` → its service-port map keys in {@link state}. */
  private portsOf = new Map<string, Set<string>>();
  /** The node-wide inputs the current state was built with. */
  private nodeWide: unknown;

  private readonly options: StateOptions;

  constructor(options: StateOptions) {
    // The state is rebuilt on every full sync: a dropped endpoint is named once, not every 30 s.
    this.options = { ...options, log: options.log && onceEach(options.log) };
  }

  get hasPending(): boolean {
    return this.services.hasPending || this.slices.hasPending || this.node.hasPending;
  }

  get current(): ProxyState | undefined {
    return this.state;
  }

  get nodeObject(): V1Node | undefined {
    return this.node.get(this.options.nodeName);
  }

  /**
   * Drains the trackers. `full` (or a first call, or a change of the node's NodePort
   * addresses) rebuilds the whole state; otherwise only touched Services are rebuilt.
   */
  update(full: boolean, hostAddresses?: readonly string[]): SnapshotUpdate {
    const touched = new Set<string>();
    for (const change of this.services.drain()) touched.add(change.key);
    for (const change of this.slices.drain()) {
      for (const obj of [change.previous, change.current]) {
        const service = obj && sliceServiceKey(obj);
        if (service) touched.add(service);
      }
      this.indexSlice(change.key, change.previous, change.current);
    }
    this.node.drain();
    const node = this.nodeObject;
    const zone = nodeZone(node);
    const options = { ...this.options, hostAddresses: hostAddresses ?? this.options.hostAddresses, nodeZone: zone };
    const ips = nodeIPs(node, options);
    const masquerade = masquerading(node, options);
    // What every Service's rules depend on (addresses, zone for hints, pod CIDRs for the
    // detector): when it changes, everything is rebuilt.
    const nodeWide = { ips, zone, masquerade };
    if (full || this.state === undefined || !isDeepStrictEqual(nodeWide, this.nodeWide)) {
      this.nodeWide = nodeWide;
      this.state = buildProxyState(this.services.values(), this.slices.values(), node, options);
      this.portsOf = new Map();
      for (const [mapKey, port] of this.state.services) index(this.portsOf, serviceKeyOf(port), mapKey);
      return { state: this.state, changed: undefined };
    }
    const services = new Map(this.state.services);
    const changed = new Set<string>();
    for (const key of touched) {
      const before = new Map([...(this.portsOf.get(key) ?? [])].map((k) => [k, services.get(k)!] as const));
      const service = this.services.get(key);
      const slices = [...(this.slicesOf.get(key) ?? [])].map((k) => this.slices.get(k)).filter((s): s is V1EndpointSlice => s !== undefined);
      const after = new Map(service ? servicePorts(service, slices, options).map((p) => [servicePortMapKey(p), p]) : []);
      for (const [mapKey, port] of before) {
        if (!after.has(mapKey)) {
          services.delete(mapKey);
          changed.add(mapKey);
        } else if (!isDeepStrictEqual(port, after.get(mapKey))) changed.add(mapKey);
      }
      for (const [mapKey, port] of after) {
        if (!before.has(mapKey)) changed.add(mapKey);
        services.set(mapKey, port);
      }
      this.portsOf.set(key, new Set(after.keys()));
    }
    this.state = { nodeName: this.state.nodeName, nodeIPs: ips, services, ...masquerade };
    return { state: this.state, changed };
  }

  private indexSlice(key: string, previous: V1EndpointSlice | undefined, current: V1EndpointSlice | undefined): void {
    const before = previous && sliceServiceKey(previous);
    if (before) this.slicesOf.get(before)?.delete(key);
    const after = current && sliceServiceKey(current);
    if (after) index(this.slicesOf, after, key);
  }
}

/** How many distinct lines {@link onceEach} remembers: bounded, so hostile input cannot grow it without end. */
const REMEMBERED_LINES = 10_000;

/** `log`, passing each distinct line once (until it is forgotten, oldest first). */
export function onceEach(log: (line: string) => void): (line: string) => void {
  const seen = new Set<string>();
  return (line) => {
    if (seen.has(line)) return;
    if (seen.size >= REMEMBERED_LINES) seen.delete(seen.values().next().value!);
    seen.add(line);
    log(line);
  };
}

function serviceKeyOf(port: ServicePort): string {
  return `${port.namespace}/${port.name}`;
}

function index(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}
