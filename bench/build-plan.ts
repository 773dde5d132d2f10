import type { V1Node, V1Service } from '@kubernetes/client-node';
import { buildModel, type ClusterConfig } from '../src/model/build';
import type { Subnet } from '../src/model/types';
import { plan } from '../src/plan/plan';

/**
 * CPU time to build the models of 1,000 two-port Services on 100 nodes and plan each
 * against an empty AWS (the most work a plan does: every resource is created).
 */
export interface BuildPlanResult {
  services: number;
  nodes: number;
  actions: number;
  /** Median of the runs, user + system CPU, milliseconds. */
  cpuMs: number;
  runs: number[];
}

const config: ClusterConfig = { clusterName: 'bench', claimUnclassedServices: true, nodeHealthPort: 10256 };

export function measureBuildAndPlan(services = 1000, nodeCount = 100, runs = 5): BuildPlanResult {
  const nodes = Array.from({ length: nodeCount }, (_, i) => node(i));
  const svcs = Array.from({ length: services }, (_, i) => service(i));
  const subnets: Subnet[] = ['a', 'b', 'c'].map((z, i) => ({
    id: `subnet-${z}`,
    vpcId: 'vpc-1',
    availabilityZone: `us-east-1${z}`,
    cidr: `10.0.${i}.0/24`,
    tags: { 'kubernetes.io/role/internal-elb': '1', 'kubernetes.io/cluster/bench': 'owned' },
  }));
  const times: number[] = [];
  let actions = 0;
  for (let r = 0; r < runs; r++) {
    actions = 0;
    const start = process.cpuUsage();
    for (const s of svcs) {
      const model = buildModel(s, nodes, config);
      actions += plan(model, { scope: 'full', subnets, loadBalancers: [], targetGroups: [], securityGroups: [] }, {
        cluster: 'bench',
        service: `default/${s.metadata!.name}`,
      }).length;
    }
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { services, nodes: nodeCount, actions, cpuMs: sorted[Math.floor(sorted.length / 2)]!, runs: times };
}

function node(i: number): V1Node {
  const zone = 'abc'[i % 3];
  return {
    metadata: { name: `node-${i}` },
    spec: { providerID: `aws:///us-east-1${zone}/i-${(0x10000 + i).toString(16).padStart(17, '0')}` },
    status: { addresses: [{ type: 'InternalIP', address: `10.0.${i % 3}.${10 + Math.floor(i / 3)}` }] },
  };
}

function service(i: number): V1Service {
  return {
    metadata: { name: `svc-${i}`, namespace: 'default', uid: `uid-${i}`, annotations: { 'ferry.io/additional-tags': `team=t${i % 7}` } },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', nodePort: 30000 + (i % 2700) },
        { name: 'https', port: 443, protocol: 'TCP', nodePort: 32700 - (i % 2700) },
      ],
    },
  };
}
