import type { Inventory, ObservedLoadBalancer } from '../model/observed';
import type { ResourceNames } from '../model/record';
import { TAG_SERVICE } from '../model/tags';
import type { LoadBalancerSpec } from '../model/types';
import { isEmpty, sameSet, tagDrift } from './diff';
import { asObserved, ruleKey } from './security-groups';
import { sameHealthCheck } from './target-groups';

/** A converged Service as the resync sees it: its model, and the names its record claims. */
export interface FleetService {
  key: string;
  spec: LoadBalancerSpec;
  recorded: ResourceNames;
}

export interface FleetDrift {
  /** Services whose AWS side differs from their model in what the sweep shows, with the first difference. */
  drifted: Map<string, string>;
  /**
   * ARNs and group IDs of live Services' resources that neither the model nor the record
   * names and nothing uses (a target group no load balancer forwards to, a load balancer, a
   * security group no load balancer holds): leaked, for gc.
   */
  strays: string[];
}

/**
 * Compares every converged Service with the sweep: what batched calls show of its load
 * balancer (exists, scheme, address type, security groups, tags), of its target groups
 * (exist, a listener forwards to them, health check, tags) and of its security group (its
 * rules). Pure. What the sweep cannot show (listeners' settings, attributes, registered
 * targets) is the deep check's.
 */
export function findDrift(services: readonly FleetService[], owned: Inventory): FleetDrift {
  const drifted = new Map<string, string>();
  const strays: string[] = [];
  const byService = groupByService(owned);
  for (const s of services) {
    const mine = byService.get(s.key) ?? { loadBalancers: [], targetGroups: [], securityGroups: [] };
    const difference = compare(s.spec, mine, owned);
    if (difference) drifted.set(s.key, difference);
    strays.push(...straysOf(s, mine));
  }
  return { drifted, strays };
}

function compare(spec: LoadBalancerSpec, mine: Inventory, owned: Inventory): string | undefined {
  const lb = mine.loadBalancers.find((l) => l.name === spec.name);
  if (!lb) return `load balancer ${spec.name} is gone`;
  if ((!spec.adopt || spec.adopt.schemeGiven) && lb.scheme !== spec.scheme) return `load balancer ${spec.name} is ${lb.scheme}`;
  if (lb.ipAddressType !== spec.ipAddressType) return `load balancer ${spec.name} has address type ${lb.ipAddressType}`;
  // An NLB made without security groups (adopted from the cloud provider) can have none.
  if (lb.securityGroups.length > 0) {
    const groups = securityGroupsOf(spec, mine, owned, lb);
    if (typeof groups === 'string') return groups;
    if (!sameSet(groups, lb.securityGroups)) return `load balancer ${spec.name} has security groups ${lb.securityGroups.join(', ')}`;
  }
  if (!tagsMatch(spec.tags, lb.tags)) return `load balancer ${spec.name} has other tags`;
  for (const tg of spec.targetGroups) {
    const found = mine.targetGroups.find((g) => g.name === tg.name);
    if (!found) return `target group ${tg.name} is gone`;
    if (!found.loadBalancerArns.includes(lb.arn)) return `no listener of ${spec.name} forwards to target group ${tg.name}`;
    if (!sameHealthCheck(tg.healthCheck, found.healthCheck)) return `target group ${tg.name} has another health check`;
    if (!tagsMatch(tg.tags, found.tags)) return `target group ${tg.name} has other tags`;
  }
  return undefined;
}

/** The groups the load balancer should hold, or what is wrong with the Service's own group. */
function securityGroupsOf(spec: LoadBalancerSpec, mine: Inventory, owned: Inventory, lb: ObservedLoadBalancer): string[] | string {
  const ids: string[] = [];
  if ('managed' in spec.securityGroups) {
    const model = spec.securityGroups.managed;
    const group = mine.securityGroups.find((g) => g.name === model.name && g.vpcId === lb.vpcId);
    if (!group) return `security group ${model.name} is gone`;
    const want = model.ingress.map((r) => ruleKey(asObserved(r)));
    if (!sameSet(want, group.ingress.map(ruleKey))) return `security group ${model.name} has other rules`;
    ids.push(group.id);
  } else {
    ids.push(...spec.securityGroups.ids);
  }
  if (spec.backend) {
    const backend = owned.securityGroups.find((g) => g.name === spec.backend!.group.name && g.vpcId === lb.vpcId);
    if (!backend) return `security group ${spec.backend.group.name} is gone`;
    ids.push(backend.id);
  }
  return ids;
}

function straysOf(s: FleetService, mine: Inventory): string[] {
  const named = new Set([s.spec.name, ...s.spec.targetGroups.map((tg) => tg.name), ...s.recorded.loadBalancers, ...s.recorded.targetGroups]);
  const held = new Set(mine.loadBalancers.flatMap((lb) => lb.securityGroups));
  const managed = 'managed' in s.spec.securityGroups ? s.spec.securityGroups.managed.name : undefined;
  return [
    ...mine.loadBalancers.filter((lb) => !named.has(lb.name)).map((lb) => lb.arn),
    ...mine.targetGroups.filter((tg) => !named.has(tg.name) && tg.loadBalancerArns.length === 0).map((tg) => tg.arn),
    ...mine.securityGroups.filter((g) => g.name !== managed && !held.has(g.id)).map((g) => g.id),
  ];
}

function tagsMatch(desired: Record<string, string>, actual: Record<string, string>): boolean {
  const drift = tagDrift(desired, actual);
  return isEmpty(drift.set) && drift.remove.length === 0;
}

function groupByService(owned: Inventory): Map<string, Inventory> {
  const out = new Map<string, Inventory>();
  const of = (key: string) => {
    let g = out.get(key);
    if (!g) out.set(key, (g = { loadBalancers: [], targetGroups: [], securityGroups: [] }));
    return g;
  };
  for (const lb of owned.loadBalancers) if (lb.tags[TAG_SERVICE]) of(lb.tags[TAG_SERVICE]).loadBalancers.push(lb);
  for (const tg of owned.targetGroups) if (tg.tags[TAG_SERVICE]) of(tg.tags[TAG_SERVICE]).targetGroups.push(tg);
  for (const g of owned.securityGroups) if (g.tags[TAG_SERVICE]) of(g.tags[TAG_SERVICE]).securityGroups.push(g);
  return out;
}
