import type { V1Service } from '@kubernetes/client-node';
import { apply } from '../aws/apply';
import type { AwsClients } from '../aws/clients';
import { inventory, readAttributes, type Inventory } from '../aws/inventory';
import { describeError } from '../errors';
import type { KubeApi } from '../kube/api';
import type { ClusterConfig } from '../model/build';
import { BACKEND_RESOURCE } from '../model/security';
import { hasFinalizer, serviceRef, wantsLoadBalancer } from '../model/service';
import { TAG_RESOURCE, TAG_SERVICE, serviceKey } from '../model/tags';
import { describeAction } from '../plan/actions';
import { plan } from '../plan/plan';
import { sweepBackend, type BackendSweepReport } from './backend';

export interface GcOptions extends ClusterConfig {
  awsConcurrency: number;
}

export interface GcReport {
  /** Per orphaned Service key: what was deleted, or why nothing was. */
  services: Array<{ service: string; deleted: string[]; error?: string }>;
  /** The nodes' backend rules kept to what the Services need (see sweepBackend). */
  backend: BackendSweepReport;
}

/**
 * Deletes this cluster's load balancers, target groups and security groups whose Service no
 * longer exists or no longer wants one (and holds no finalizer, which would mean a reconcile
 * is about to clean up itself), and the strays the sweep found: a live Service's target
 * groups that neither its model nor its record names and no load balancer uses. Resources without this cluster's ownership tag are never
 * looked at twice. Deletion reuses the reconcile's own planner with the empty model, so the
 * order is the same (load balancers, then target groups, then security groups) and
 * `ferry.io/deletion-protection` is respected: a protected orphan is reported, not deleted.
 */
export async function collectGarbage(kube: KubeApi, aws: AwsClients, options: GcOptions, swept?: Swept): Promise<GcReport> {
  const scoped = aws.scoped({ concurrency: options.awsConcurrency });
  // AWS before the cluster: whatever a reconcile creates after the sweep's read was named in
  // its Service's record before it was created, so the list below sees it claimed.
  const owned = swept?.owned ?? (await inventory(scoped, options.clusterName));
  const services = swept?.services ?? (await kube.listServices());
  const byKey = new Map(services.map((s) => [serviceKey(serviceRef(s)), s]));
  const orphans = groupOrphans(owned, byKey, options, swept?.strays ?? []);

  const report: GcReport = { services: [], backend: { done: [] } };
  for (const [key, found] of orphans) {
    const [namespace = '', name = ''] = key.split('/');
    try {
      const observed = { ...found, loadBalancers: await readAttributes(scoped, found.loadBalancers) };
      const model = { service: { namespace, name, uid: '' }, loadBalancer: null, deletionProtection: true };
      const actions = plan(model, { scope: 'full', ...observed }, { cluster: options.clusterName, service: key });
      await apply(scoped, actions, { scope: 'full', ...observed });
      report.services.push({ service: key, deleted: actions.filter((a) => a.op.startsWith('Delete')).map(describeAction) });
    } catch (err) {
      report.services.push({ service: key, deleted: [], error: describeError(err) });
    }
  }
  try {
    report.backend = await sweepBackend(kube, scoped, options, owned.loadBalancers);
  } catch (err) {
    report.backend = { done: [], skipped: describeError(err) };
  }
  return report;
}

/** What the resync's sweep already read, so that gc spends no call of its own on it. */
export interface Swept {
  owned: Inventory;
  services: V1Service[];
  /** ARNs of resources of live Services that no Service names any more (see findDrift). */
  strays: readonly string[];
}

function groupOrphans(owned: Inventory, services: Map<string, V1Service>, options: GcOptions, strays: readonly string[]): Map<string, Inventory> {
  const stray = new Set(strays);
  const isOrphan = (key: string | undefined) => {
    if (key === undefined) return false;
    const service = services.get(key);
    return !service || (!wantsLoadBalancer(service, options) && !hasFinalizer(service));
  };
  const groups = new Map<string, Inventory>();
  const groupOf = (key: string) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { loadBalancers: [], targetGroups: [], securityGroups: [] }));
    return g;
  };
  for (const kind of ['loadBalancers', 'targetGroups', 'securityGroups'] as const) {
    for (const resource of owned[kind]) {
      // The backend group serves the whole cluster; sweepBackend decides when it goes.
      if (resource.tags[TAG_RESOURCE] === BACKEND_RESOURCE) continue;
      const key = resource.tags[TAG_SERVICE];
      if (isOrphan(key) || (key !== undefined && stray.has('arn' in resource ? resource.arn : resource.id))) {
        (groupOf(key!)[kind] as Array<typeof resource>).push(resource);
      }
    }
  }
  return groups;
}
