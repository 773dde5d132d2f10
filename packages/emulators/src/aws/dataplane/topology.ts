import { cidrContainsIp, parseCidr, parseIpv4 } from '../cidr';
import type { AwsState, Instance, Listener, LoadBalancer, Target, TargetGroup } from '../state';

/** Read-only questions about the emulated world that routing, health and security ask. */

export function targetKey(target: Pick<Target, 'id' | 'port'>): string {
  return `${target.id}:${target.port}`;
}

/** The zone traffic to a target enters through, when the emulator can tell ('all' for outside-VPC ip targets). */
export function targetZone(state: AwsState, tg: TargetGroup, target: Target): string | undefined {
  if (target.availabilityZone) return target.availabilityZone;
  if (tg.targetType === 'instance') return state.instances.get(target.id)?.az;
  const ip = parseIpv4(target.id);
  if (ip === undefined) return undefined;
  return [...state.subnets.values()].find((s) => s.vpcId === tg.vpcId && cidrContainsIp(parseCidr(s.cidr)!, ip))?.az;
}

/** The running instance holding a VPC address, if any (its primary private IP). */
export function instanceAt(state: AwsState, vpcId: string | undefined, ip: string): Instance | undefined {
  return [...state.instances.values()].find((i) => i.state === 'running' && i.privateIp === ip && (vpcId === undefined || i.vpcId === vpcId));
}

/** The VPC address traffic for a target goes to: the instance's private IP, or the ip target itself. */
export function targetVpcIp(state: AwsState, tg: TargetGroup, target: Target): string | undefined {
  if (tg.targetType === 'ip') return target.id;
  const instance = state.instances.get(target.id);
  return instance?.state === 'running' ? instance.privateIp : undefined;
}

/**
 * The security groups guarding a target: its instance's, or for an ip target those of
 * the instance whose address it is. An ip target no instance holds (a pod's secondary
 * address, an on-premises host) has none the emulator knows, and nothing is filtered.
 */
export function targetGroups(state: AwsState, tg: TargetGroup, target: Target): readonly string[] | undefined {
  if (tg.targetType === 'instance') return state.instances.get(target.id)?.securityGroupIds;
  return instanceAt(state, tg.vpcId, target.id)?.securityGroupIds;
}

/** Whether cross-zone load balancing is on for this target group behind this load balancer. */
export function crossZone(lb: LoadBalancer, tg: TargetGroup): boolean {
  const own = tg.attributes.get('load_balancing.cross_zone.enabled');
  if (own === 'true' || own === 'false') return own === 'true';
  return lb.attributes.get('load_balancing.cross_zone.enabled') === 'true';
}

export function attribute(tg: TargetGroup, key: string): string | undefined {
  return tg.attributes.get(key);
}

export function flag(tg: TargetGroup, key: string): boolean {
  return tg.attributes.get(key) === 'true';
}

/** The first listener that forwards to a target group (health checks name its port in Host). */
export function listenerFor(state: AwsState, tg: TargetGroup): Listener | undefined {
  return [...state.listeners.values()].filter((l) => l.targetGroupArn === tg.arn).sort((a, b) => a.seq - b.seq)[0];
}

/** The load balancer a target group serves (an NLB target group serves at most one). */
export function loadBalancerOf(state: AwsState, tg: TargetGroup): LoadBalancer | undefined {
  const arn = state.loadBalancersOf(tg.arn)[0];
  return arn === undefined ? undefined : state.loadBalancers.get(arn);
}

// A type, not an interface, so that it is an XmlValue as it stands.
export type HealthView = {
  readonly State: string;
  readonly Reason?: string | undefined;
  readonly Description?: string | undefined;
};

/**
 * Why a registered target receives no traffic whatever its health (`unused` with AWS's
 * reason), or undefined when it is in use: behind a listener, running, and in a zone
 * the load balancer has enabled.
 */
export function unusedReason(state: AwsState, tg: TargetGroup, target: Target): HealthView | undefined {
  if (tg.targetType === 'instance' && state.instances.get(target.id)?.state !== 'running') {
    return { State: 'unused', Reason: 'Target.InvalidState', Description: 'Target is in the stopped or terminated state' };
  }
  const loadBalancers = state.loadBalancersOf(tg.arn).map((arn) => state.loadBalancers.get(arn));
  if (loadBalancers.length === 0) {
    return { State: 'unused', Reason: 'Target.NotInUse', Description: 'Target group is not configured to receive traffic from the load balancer' };
  }
  const zone = targetZone(state, tg, target);
  if (zone !== undefined && zone !== 'all' && !loadBalancers.some((lb) => lb?.subnets.some((s) => s.az === zone))) {
    return { State: 'unused', Reason: 'Target.NotInUse', Description: 'Target is in an Availability Zone that is not enabled for the load balancer' };
  }
  return undefined;
}
