import { apply } from '../aws/apply';
import { RetryableError } from '../errors';
import { classifyAwsError } from '../aws/errors';
import type { AwsClients } from '../aws/clients';
import { describeSecurityGroups } from '../aws/observe';
import type { KubeApi } from '../kube/api';
import { buildModel, type ClusterConfig } from '../model/build';
import type { ObservedLoadBalancer } from '../model/observed';
import { BACKEND_RESOURCE, backendKey } from '../model/security';
import { serviceRef, wantsLoadBalancer } from '../model/service';
import { TAG_CLUSTER, TAG_RESOURCE, serviceKey } from '../model/tags';
import type { BackendRule } from '../model/types';
import { describeAction } from '../plan/actions';
import { planBackendGrants, planBackendSweep, recordGrants } from '../plan/backend-sweep';
import { readNodeGroups } from '../aws/observe-backend';

export interface BackendSweepReport {
  done: string[];
  /** Why nothing was pruned (a Service whose needs are unknown). */
  skipped?: string;
}

/**
 * Keeps the nodes' security groups to what the cluster's Services need from ferry's backend
 * group, and removes the group with the last Service that needs it. Run by the resync (with
 * `ferry gc`) and by the reconcile that deletes a Service's load balancer, before it lets the
 * Service go (so an interrupted sweep is finished by the next reconcile). A Service whose
 * model cannot be built right now may still have a working load balancer, so then nothing is
 * pruned. Throws what AWS refuses, but a backend group AWS still holds waits for the next sweep.
 */
export async function sweepBackend(
  kube: KubeApi,
  aws: AwsClients,
  config: ClusterConfig,
  loadBalancers: readonly ObservedLoadBalancer[] = [],
): Promise<BackendSweepReport> {
  try {
    return await sweep(kube, aws, config, loadBalancers);
  } catch (err) {
    throw classifyAwsError(err, "keep the nodes' backend rules to what Services need");
  }
}

async function sweep(kube: KubeApi, aws: AwsClients, config: ClusterConfig, loadBalancers: readonly ObservedLoadBalancer[]): Promise<BackendSweepReport> {
  const [services, nodes] = await Promise.all([kube.listServices(), kube.listNodes()]);
  const needed = new Map<string, BackendRule>();
  const liveServices = new Set<string>();
  for (const service of services) {
    if (!wantsLoadBalancer(service, config)) continue;
    liveServices.add(serviceKey(serviceRef(service)));
    try {
      for (const rule of buildModel(service, nodes, config).loadBalancer?.backend?.rules ?? []) needed.set(backendKey(rule), rule);
    } catch {
      return { done: [], skipped: `Service ${service.metadata?.namespace}/${service.metadata?.name} cannot be built right now; nothing is pruned` };
    }
  }
  const backendGroups = await describeSecurityGroups(aws, [
    { Name: `tag:${TAG_CLUSTER}`, Values: [config.clusterName] },
    { Name: `tag:${TAG_RESOURCE}`, Values: [BACKEND_RESOURCE] },
  ]);
  const nodeGroups = await describeSecurityGroups(aws, [{ Name: 'tag-key', Values: [`kubernetes.io/cluster/${config.clusterName}`] }]);
  const actions = planBackendSweep({ needed: [...needed.values()], backendGroups, nodeGroups, loadBalancers, cluster: config.clusterName, liveServices });
  const none = { scope: 'full' as const, loadBalancers: [], targetGroups: [], securityGroups: [] };
  const revokes = actions.filter((a) => a.op !== 'DeleteSecurityGroup');
  const done = (await apply(aws, revokes, none)).done.map(describeAction);
  for (const deletion of actions.filter((a) => a.op === 'DeleteSecurityGroup')) {
    try {
      done.push(...(await apply(aws, [deletion], none)).done.map(describeAction));
    } catch (err) {
      // AWS lets go of a deleted NLB's groups a little later; the next sweep deletes it.
      if (!(err instanceof RetryableError) || !/DependencyViolation/.test(err.message)) throw err;
    }
  }
  return { done };
}

/**
 * A node joined or left: the rules every Service needs go onto the target nodes' groups once
 * for the whole cluster (a few EC2 reads, however many Services), so that each Service's own
 * reconcile of the change needs only its registrations.
 */
export async function grantBackend(kube: KubeApi, aws: AwsClients, config: ClusterConfig): Promise<BackendSweepReport> {
  const [services, nodes] = await Promise.all([kube.listServices(), kube.listNodes()]);
  const needed = new Map<string, BackendRule>();
  const targets = new Set<string>();
  let nodeGroupTag: string | undefined;
  for (const service of services) {
    if (!wantsLoadBalancer(service, config)) continue;
    let spec;
    try {
      spec = buildModel(service, nodes, config).loadBalancer;
    } catch {
      continue; // its own reconcile says why
    }
    const backend = spec?.backend;
    if (!spec || !backend || spec.targetGroups[0]?.targetType !== 'instance') continue;
    nodeGroupTag = backend.nodeGroupTag;
    for (const rule of backend.rules) needed.set(backendKey(rule), rule);
    for (const tg of spec.targetGroups) for (const t of tg.targets) targets.add(t.id);
  }
  if (!nodeGroupTag || targets.size === 0) return { done: [] };
  try {
    const [backendGroups, nodeGroups] = await Promise.all([
      describeSecurityGroups(aws, [
        { Name: `tag:${TAG_CLUSTER}`, Values: [config.clusterName] },
        { Name: `tag:${TAG_RESOURCE}`, Values: [BACKEND_RESOURCE] },
      ]),
      readNodeGroups(aws, { targetType: 'instance', targets: [...targets].sort(), nodeGroupTag }),
    ]);
    // A node none of whose groups ferry may open: the record can no longer say "every node",
    // so Services read the nodes' groups again (and say what to tag) until the next sweep.
    const actions = [...planBackendGrants([...needed.values()], backendGroups, nodeGroups.groups), ...(nodeGroups.untagged.length > 0 ? recordGrants(backendGroups, '') : [])];
    const none = { scope: 'full' as const, loadBalancers: [], targetGroups: [], securityGroups: [] };
    return { done: (await apply(aws, actions, none)).done.map(describeAction) };
  } catch (err) {
    throw classifyAwsError(err, "open the nodes' security groups to the load balancers");
  }
}
