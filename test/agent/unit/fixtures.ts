/**
 * Kubernetes objects for the agent's unit tests, built as `newService(name, …tweaks)`, and
 * the representative cluster the golden rulesets of every kernel mode are rendered from.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { buildProxyState } from '../../../src/agent/state';
import type { ProxyState } from '../../../src/agent/types';

export const NODE = 'node1';
export const NODE_IP = '192.168.1.10';

type Tweak<T> = (obj: T) => void;

export function newService(name: string, ...tweaks: Array<Tweak<V1Service>>): V1Service {
  const svc: V1Service = {
    metadata: { namespace: 'default', name },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
  for (const tweak of tweaks) tweak(svc);
  return svc;
}

export const clusterIP = (...ips: string[]): Tweak<V1Service> => (s) => {
  s.spec!.clusterIP = ips[0];
  s.spec!.clusterIPs = ips;
};
export const nodePort = (...nodePorts: number[]): Tweak<V1Service> => (s) => {
  s.spec!.type = 'NodePort';
  s.spec!.ports!.forEach((p, i) => (p.nodePort = nodePorts[i]));
};
export const loadBalancer = (healthCheckNodePort?: number): Tweak<V1Service> => (s) => {
  s.spec!.type = 'LoadBalancer';
  if (healthCheckNodePort) {
    s.spec!.externalTrafficPolicy = 'Local';
    s.spec!.healthCheckNodePort = healthCheckNodePort;
  }
};
export const udpToo: Tweak<V1Service> = (s) => s.spec!.ports!.push({ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' });
export const externalLocal: Tweak<V1Service> = (s) => (s.spec!.externalTrafficPolicy = 'Local');
export const internalLocal: Tweak<V1Service> = (s) => (s.spec!.internalTrafficPolicy = 'Local');
export const affinity = (timeoutSeconds?: number): Tweak<V1Service> => (s) => {
  s.spec!.sessionAffinity = 'ClientIP';
  if (timeoutSeconds !== undefined) s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds } };
};
export const annotate = (annotations: Record<string, string>): Tweak<V1Service> => (s) => (s.metadata!.annotations = annotations);

export interface EndpointOptions {
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An EndpointSlice of the Service with `http` → 8080/TCP and `dns` → 5353/UDP. */
export function newSlice(service: string, endpoints: Array<[string, EndpointOptions?]>, name = `${service}-abc`, addressType = 'IPv4'): V1EndpointSlice {
  return {
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 5353, protocol: 'UDP' },
    ],
    endpoints: endpoints.map(([ip, o = {}]) => ({
      addresses: [ip],
      nodeName: o.node ?? NODE,
      conditions: { ready: o.ready ?? true, serving: o.serving ?? o.ready ?? true, terminating: o.terminating ?? false },
    })),
  };
}

export function newNode(name = NODE, ...tweaks: Array<Tweak<V1Node>>): V1Node {
  const node: V1Node = { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }, { type: 'Hostname', address: name }] } };
  for (const tweak of tweaks) tweak(node);
  return node;
}

const REMOTE = { node: 'node2' };

/** One Service per behaviour the golden rulesets must show. */
export function representativeCluster(): { services: V1Service[]; slices: V1EndpointSlice[] } {
  return {
    services: [
      newService('web', clusterIP('10.96.0.10'), udpToo, nodePort(30080, 30053)),
      newService('local-with', clusterIP('10.96.0.11'), loadBalancer(32000), nodePort(30081)),
      newService('local-without', clusterIP('10.96.0.12'), loadBalancer(32001), nodePort(30082)),
      newService('internal', clusterIP('10.96.0.13'), internalLocal),
      newService('sticky', clusterIP('10.96.0.14'), nodePort(30084), affinity(60), annotate({ 'ferry.io/ipvs-scheduler': 'sh' })),
      newService('empty', clusterIP('10.96.0.15'), udpToo, nodePort(30085, 30086)),
      newService('leaving', clusterIP('10.96.0.16')),
      newService('dual', clusterIP('10.96.0.17', 'fd00:96::17'), nodePort(30087)),
      newService('headless', clusterIP('None')),
      newService('external-name', (s) => {
        s.spec = { type: 'ExternalName', externalName: 'example.com' };
      }),
    ],
    slices: [
      newSlice('web', [['10.244.1.2'], ['10.244.2.2', REMOTE]]),
      newSlice('local-with', [['10.244.1.3'], ['10.244.2.3', REMOTE]]),
      newSlice('local-without', [['10.244.2.4', REMOTE]]),
      newSlice('internal', [['10.244.1.5'], ['10.244.2.5', REMOTE]]),
      newSlice('sticky', [['10.244.1.6'], ['10.244.2.6', REMOTE]]),
      newSlice('leaving', [
        ['10.244.1.7', { ready: false, serving: true, terminating: true }],
        ['10.244.2.7', { ...REMOTE, ready: false, serving: false, terminating: true }],
      ]),
      newSlice('dual', [['10.244.1.8'], ['10.244.2.8', REMOTE]]),
      newSlice('dual', [['fd00:244:1::8'], ['fd00:244:2::8', REMOTE]], 'dual-v6', 'IPv6'),
      newSlice('headless', [['10.244.1.9']]),
    ],
  };
}

export function representativeState(): ProxyState {
  const { services, slices } = representativeCluster();
  return buildProxyState(services, slices, newNode(), { nodeName: NODE });
}
