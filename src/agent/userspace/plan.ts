/**
 * What the userspace mode wants for one service port: its listeners (one per node
 * address for a NodePort, one local port for the ClusterIP redirect) with the endpoints
 * each may use, and the ClusterIP ports to reject. Pure, so the reconcile in `index.ts`
 * only diffs and applies.
 *
 * A listener exists only while it has a usable endpoint: not listening is how a Service
 * without endpoints rejects (the kernel answers TCP RST / ICMP port unreachable) instead
 * of accepting and hanging.
 */
import net from 'node:net';
import { externalAddresses } from '../policy';
import { usableEndpoints } from '../state';
import type { L4Protocol, Scheduler, ServicePort } from '../types';
import type { BalancerConfig } from './balancer';
import { elementKey } from './redirect';

export interface ListenerSpec {
  /** Identity across syncs; a Service or address change means a different listener. */
  id: string;
  protocol: L4Protocol;
  address: string;
  /** 0 for the ClusterIP listener: any free port, which the redirect then points at. */
  port: number;
  /** ClusterIP listener: the redirect elements (`ip . proto . port`) that lead to it. */
  redirectKeys: string[];
  /** externalTrafficPolicy Local: the client's address is kept where the source mode can keep it. */
  keepClient: boolean;
  balancer: BalancerConfig;
}

export interface ServicePlan {
  listeners: ListenerSpec[];
  /** Redirect elements of ClusterIP ports that have no usable endpoint. */
  rejects: string[];
  /** Distinct usable endpoints (for metrics). */
  endpoints: number;
}

export interface PlanOptions {
  defaultScheduler: Scheduler;
  /** Whether ClusterIPs are redirected (root and `redirectClusterIPs`). */
  clusterIPs: boolean;
}

/** Where the ClusterIP listener binds: redirected packets arrive on any interface address. */
export const CLUSTER_BIND_ADDRESS = '0.0.0.0';

const EMPTY: ServicePlan = { listeners: [], rejects: [], endpoints: 0 };

export function planServicePort(
  mapKey: string,
  port: ServicePort | undefined,
  nodeIPs: readonly string[],
  options: PlanOptions,
): ServicePlan {
  // Headless and ExternalName Services have no ClusterIP and get nothing; Node.js has no
  // SCTP sockets, so SCTP ports are left to the kernel modes (the proxier says so once).
  if (port === undefined || port.clusterIPs.length === 0 || port.protocol === 'SCTP') return EMPTY;
  const base = {
    scheduler: port.scheduler ?? options.defaultScheduler,
    affinityTimeoutMs: port.affinity === undefined ? undefined : port.affinity.timeoutSeconds * 1000,
  };
  const listeners: ListenerSpec[] = [];
  const rejects: string[] = [];
  const used = new Set<string>();
  const toBackends = (local: boolean): { ip: string; port: number }[] =>
    usableEndpoints(port, { local }).map((e) => {
      used.add(`${e.ip}|${e.port}`);
      return { ip: e.ip, port: e.port };
    });

  // The redirect is `ip` family only, so IPv6 ClusterIPs are not served in this mode.
  const clusterIPv4 = options.clusterIPs ? port.clusterIPs.filter((ip) => net.isIPv4(ip)) : [];
  if (clusterIPv4.length > 0) {
    const keys = clusterIPv4.map((ip) => elementKey(ip, port.protocol, port.port));
    const endpoints = toBackends(port.internalLocal);
    if (endpoints.length === 0) {
      rejects.push(...keys);
    } else {
      listeners.push({
        id: `${mapKey} cluster`,
        protocol: port.protocol,
        address: CLUSTER_BIND_ADDRESS,
        port: 0,
        redirectKeys: keys,
        keepClient: false,
        balancer: { ...base, virtualAddress: clusterIPv4[0]!, endpoints },
      });
    }
  }

  // externalIPs and load balancer IPs reach a listener of their own through the same
  // redirect as the ClusterIP, with the external traffic policy's endpoints.
  const externalIPv4 = options.clusterIPs ? externalAddresses(port).filter((ip) => net.isIPv4(ip)) : [];
  if (externalIPv4.length > 0) {
    const keys = externalIPv4.map((ip) => elementKey(ip, port.protocol, port.port));
    const endpoints = toBackends(port.externalLocal);
    if (endpoints.length === 0) {
      rejects.push(...keys);
    } else {
      listeners.push({
        id: `${mapKey} external`,
        protocol: port.protocol,
        address: CLUSTER_BIND_ADDRESS,
        port: 0,
        redirectKeys: keys,
        keepClient: port.externalLocal,
        balancer: { ...base, virtualAddress: externalIPv4[0]!, endpoints },
      });
    }
  }

  if (port.nodePort !== undefined) {
    const endpoints = toBackends(port.externalLocal);
    if (endpoints.length > 0) {
      for (const ip of nodeIPs) {
        listeners.push({
          id: `${mapKey} node ${ip} ${port.nodePort}`,
          protocol: port.protocol,
          address: ip,
          port: port.nodePort,
          redirectKeys: [],
          keepClient: port.externalLocal,
          balancer: { ...base, virtualAddress: ip, endpoints },
        });
      }
    }
  }
  return { listeners, rejects, endpoints: used.size };
}
