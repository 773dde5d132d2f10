import type { V1Service } from '@kubernetes/client-node';
import { ConfigError } from '../errors';
import type { Annotations } from './annotations';
import { TARGET_GROUP_ATTRIBUTES, attributeDefaults } from './attributes';
import { targetGroupName } from './names';
import { selects, type PortGroup } from './ports';
import { ownershipTags, serviceKey } from './tags';
import type { HealthCheck, ListenerProtocol, ServiceRef, TargetGroupModel, TargetGroupProtocol, TargetType } from './types';

export interface TargetGroupInputs {
  ref: ServiceRef;
  cluster: string;
  loadBalancer: string;
  targetType: TargetType;
  ids: string[];
  healthCheck: HealthCheck;
  extraTags: Record<string, string>;
  ann: Annotations;
  service: V1Service;
}

/** One target group per listener, on the group's NodePort of every eligible node. */
export function buildTargetGroup(group: PortGroup, listener: ListenerProtocol, i: TargetGroupInputs): TargetGroupModel {
  // ferry.io/backend-protocol=tls re-encrypts what a TLS listener terminated.
  const protocol: TargetGroupProtocol = listener === 'TLS' && i.ann['ferry.io/backend-protocol'] === 'tls' ? 'TLS' : group.protocol;
  return {
    name: targetGroupName(i.cluster, i.ref, { loadBalancer: i.loadBalancer, servicePort: group.port, protocol, targetType: i.targetType }),
    servicePort: group.port,
    protocol,
    port: group.nodePort,
    targetType: i.targetType,
    healthCheck: i.healthCheck,
    attributes: targetGroupAttributes(group, protocol, i),
    tags: { ...i.extraTags, ...ownershipTags(i.cluster, i.ref, `${serviceKey(i.ref)}:${group.port}`) },
    targets: i.ids.map((id) => ({ id, port: group.nodePort })),
  };
}

/** AWS's defaults, then `ferry.io/target-group-attributes`, then the named annotations and the Service's affinity. */
function targetGroupAttributes(group: PortGroup, protocol: TargetGroupProtocol, i: TargetGroupInputs): Record<string, string> {
  const given = i.ann['ferry.io/target-group-attributes'] ?? {};
  const affinity = i.service.spec?.sessionAffinity === 'ClientIP';
  if (given['stickiness.enabled'] !== undefined && given['stickiness.enabled'] !== String(affinity)) {
    throw new ConfigError(
      `annotation ferry.io/target-group-attributes sets stickiness.enabled=${given['stickiness.enabled']} but spec.sessionAffinity is ${i.service.spec?.sessionAffinity ?? 'None'}; ferry derives stickiness from the session affinity, so remove the attribute`,
    );
  }
  const udp = group.protocol !== 'TCP';
  if (udp && given['preserve_client_ip.enabled'] === 'false') {
    throw new ConfigError(`annotation ferry.io/target-group-attributes sets preserve_client_ip.enabled=false, but port ${group.port} is ${group.protocol}: AWS always keeps the client address for UDP`);
  }
  if (udp && given['target_health_state.unhealthy.connection_termination.enabled'] === 'true') {
    throw new ConfigError(`annotation ferry.io/target-group-attributes sets target_health_state.unhealthy.connection_termination.enabled=true, but port ${group.port} is ${group.protocol}: AWS allows it for TCP and TLS only`);
  }
  return {
    ...attributeDefaults(TARGET_GROUP_ATTRIBUTES, { protocol, targetType: i.targetType }),
    ...given,
    ...(i.ann['ferry.io/deregistration-delay'] !== undefined
      ? { 'deregistration_delay.timeout_seconds': String(i.ann['ferry.io/deregistration-delay']) }
      : {}),
    ...(i.ann['ferry.io/proxy-protocol'] !== undefined ? { 'proxy_protocol_v2.enabled': String(selects(i.ann['ferry.io/proxy-protocol'], group)) } : {}),
    // ClientIP affinity maps to NLB source-IP stickiness; the Service's timeout has no NLB counterpart.
    'stickiness.enabled': String(affinity),
  };
}
