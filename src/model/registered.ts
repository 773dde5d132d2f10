import type { V1Service } from '@kubernetes/client-node';
import { isNameFor } from './names';
import type { ObservedState, ObservedTargetGroup } from './observed';
import { compareTargets } from './targets';
import type { LoadBalancerSpec, Target } from './types';

/**
 * `status.ferry.io/targets`: what the last successful reconcile left registered in each of
 * the Service's target groups, with the groups' ARNs. A node joining or leaving then costs
 * one RegisterTargets or DeregisterTargets per group and no read at all: the delta is this
 * record against the new model. AWS registration is idempotent, so a stale record costs at
 * worst a redundant call; a group deleted behind ferry's back fails the call, and the
 * reconcile falls back to reading. The deep check re-reads everything on its own schedule.
 *
 * Kept compact for clusters of thousands of nodes: when every group registers the same
 * nodes (instance targets, one NodePort each), the IDs are written once.
 */
export const REGISTERED_ANNOTATION = 'status.ferry.io/targets';

/** Larger records are not written (the Service's annotations share 256 KiB); node changes then read. */
export const MAX_REGISTERED_BYTES = 64 * 1024;

export interface RegisteredGroup {
  arn: string;
  /** Sorted as compareTargets sorts. */
  targets: Target[];
}

export type Registered = ReadonlyMap<string, RegisteredGroup>;

interface Encoded {
  /** Target IDs shared by every group that gives only a `port`. */
  ids?: string[];
  groups: Record<string, { arn: string; port?: number; targets?: string[] }>;
}

/** The record for a model whose every target group now holds exactly its model's targets. */
export function formatRegistered(spec: LoadBalancerSpec, arns: ReadonlyMap<string, string>): string | undefined {
  const groups = spec.targetGroups.filter((tg) => arns.has(tg.name));
  if (groups.length !== spec.targetGroups.length) return undefined;
  const idsOf = (targets: readonly Target[]) => [...new Set(targets.map((t) => t.id))].sort();
  const first = spec.targetGroups[0];
  const shared = first ? idsOf(first.targets) : [];
  // A group fits the shared form when its targets are exactly the shared IDs on one port.
  const fits = (targets: readonly Target[]) =>
    targets.length === shared.length && new Set(targets.map((t) => t.port)).size <= 1 && idsOf(targets).join() === shared.join();
  const compact = shared.length > 0 && spec.targetGroups.every((tg) => fits(tg.targets));
  const encoded: Encoded = { ...(compact ? { ids: shared } : {}), groups: {} };
  for (const tg of groups) {
    encoded.groups[tg.name] = compact
      ? { arn: arns.get(tg.name)!, port: tg.targets[0]!.port }
      : { arn: arns.get(tg.name)!, targets: [...tg.targets].sort(compareTargets).map((t) => `${t.id}:${t.port}`) };
  }
  const text = JSON.stringify(encoded);
  return text.length <= MAX_REGISTERED_BYTES ? text : undefined;
}

/**
 * The record, keeping only groups whose name is one ferry gives this Service and whose ARN
 * names that group: a record that does not hold up is no record (the reconcile then reads).
 */
export function readRegistered(service: V1Service): Registered {
  const text = service.metadata?.annotations?.[REGISTERED_ANNOTATION];
  const out = new Map<string, RegisteredGroup>();
  if (!text || text.length > MAX_REGISTERED_BYTES) return out;
  let encoded: Partial<Encoded>;
  try {
    encoded = JSON.parse(text) as Partial<Encoded>;
  } catch {
    return out;
  }
  const ref = { namespace: service.metadata?.namespace ?? 'default', name: service.metadata?.name ?? '' };
  const ids = Array.isArray(encoded.ids) && encoded.ids.every((i) => typeof i === 'string') ? encoded.ids : undefined;
  for (const [name, group] of Object.entries(encoded.groups ?? {})) {
    if (!isNameFor(ref, name) || typeof group?.arn !== 'string' || !isTargetGroupArn(group.arn, name)) continue;
    const targets = Number.isInteger(group.port) && ids
      ? ids.map((id) => ({ id, port: group.port! }))
      : Array.isArray(group.targets)
        ? group.targets.map(parseTarget)
        : undefined;
    if (!targets || targets.some((t) => t === undefined)) continue;
    out.set(name, { arn: group.arn, targets: (targets as Target[]).sort(compareTargets) });
  }
  return out;
}

function isTargetGroupArn(arn: string, name: string): boolean {
  return /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[^/]+\/[0-9a-f]+$/.test(arn) && arn.split('/')[1] === name;
}

function parseTarget(text: unknown): Target | undefined {
  if (typeof text !== 'string') return undefined;
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  return at > 0 && Number.isInteger(port) && port > 0 && port < 65536 ? { id: text.slice(0, at), port } : undefined;
}

/**
 * The observation a node change needs, from the record alone: each desired group with what
 * it holds. Undefined unless the record covers every desired group (then AWS is read).
 */
export function observedFromRecord(spec: LoadBalancerSpec, registered: Registered): ObservedState | undefined {
  const targetGroups: ObservedTargetGroup[] = [];
  for (const tg of spec.targetGroups) {
    const group = registered.get(tg.name);
    if (!group) return undefined;
    targetGroups.push({
      arn: group.arn,
      name: tg.name,
      protocol: tg.protocol,
      port: tg.port,
      targetType: tg.targetType,
      vpcId: '',
      loadBalancerArns: [],
      healthCheck: tg.healthCheck,
      // Ownership was checked when the record was written; the record is ferry's alone.
      tags: tg.tags,
      targets: group.targets,
    });
  }
  return { scope: 'targets', loadBalancers: [], targetGroups, securityGroups: [] };
}
