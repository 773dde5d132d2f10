import type { V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ClusterConfig } from '../../src/model/build';
import type { Subnet } from '../../src/model/types';

/** Fixtures in the style of the core service controller's tests: a default plus tweaks. */

export type Tweak<T> = (object: T) => void;

export const CLUSTER: ClusterConfig = { clusterName: 'test-cluster', claimUnclassedServices: true, nodeHealthPort: 10256 };

export function newService(name = 'web', ...tweaks: Tweak<V1Service>[]): V1Service {
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '1', annotations: {} },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443, nodePort: 30443 },
      ],
      externalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
    },
  };
  for (const t of tweaks) t(service);
  return service;
}

export const svc = {
  annotate:
    (annotations: Record<string, string>): Tweak<V1Service> =>
    (s) => {
      s.metadata!.annotations = { ...s.metadata!.annotations, ...annotations };
    },
  ports:
    (...ports: V1ServicePort[]): Tweak<V1Service> =>
    (s) => {
      s.spec!.ports = ports;
    },
  local:
    (healthCheckNodePort = 32000): Tweak<V1Service> =>
    (s) => {
      s.spec!.externalTrafficPolicy = 'Local';
      s.spec!.healthCheckNodePort = healthCheckNodePort;
    },
  set:
    (spec: Partial<NonNullable<V1Service['spec']>>): Tweak<V1Service> =>
    (s) => {
      Object.assign(s.spec!, spec);
    },
  deleting: (): Tweak<V1Service> => (s) => {
    s.metadata!.deletionTimestamp = new Date('2026-01-01T00:00:00Z');
  },
};

export function newNode(name: string, ...tweaks: Tweak<V1Node>[]): V1Node {
  const n = Number(/(\d+)$/.exec(name)?.[1] ?? 0);
  const node: V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { providerID: `aws:///us-east-1${'abc'[n % 3]}/i-${(0x1000 + n).toString(16).padStart(17, '0')}` },
    status: { addresses: [{ type: 'InternalIP', address: `10.0.${n % 3}.${10 + Math.floor(n / 3)}` }, { type: 'Hostname', address: name }] },
  };
  for (const t of tweaks) t(node);
  return node;
}

export const node = {
  label:
    (labels: Record<string, string>): Tweak<V1Node> =>
    (n) => {
      n.metadata!.labels = { ...n.metadata!.labels, ...labels };
    },
  noProviderID: (): Tweak<V1Node> => (n) => {
    delete n.spec!.providerID;
  },
  taint:
    (key: string): Tweak<V1Node> =>
    (n) => {
      n.spec!.taints = [...(n.spec!.taints ?? []), { key, effect: 'NoSchedule' }];
    },
  deleting: (): Tweak<V1Node> => (n) => {
    n.metadata!.deletionTimestamp = new Date('2026-01-01T00:00:00Z');
  },
};

export function newNodes(count: number, ...tweaks: Tweak<V1Node>[]): V1Node[] {
  return Array.from({ length: count }, (_, i) => newNode(`node-${i}`, ...tweaks));
}

/** Subnets as AWS would report them for discovery: one public and one private per zone. */
export function newSubnets(vpcId = 'vpc-0a1b2c3d', cluster = CLUSTER.clusterName): Subnet[] {
  return ['a', 'b', 'c'].flatMap((zone, i) => [
    {
      id: `subnet-pub${zone}`,
      vpcId,
      availabilityZone: `us-east-1${zone}`,
      cidr: `10.0.${100 + i}.0/24`,
      tags: { Name: `public-${zone}`, 'kubernetes.io/role/elb': '1', [`kubernetes.io/cluster/${cluster}`]: 'owned' },
    },
    {
      id: `subnet-priv${zone}`,
      vpcId,
      availabilityZone: `us-east-1${zone}`,
      cidr: `10.0.${i}.0/24`,
      tags: { Name: `private-${zone}`, 'kubernetes.io/role/internal-elb': '1', [`kubernetes.io/cluster/${cluster}`]: 'shared' },
    },
  ]);
}
