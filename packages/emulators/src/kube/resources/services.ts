/**
 * core/v1 Services: SetDefaults_Service (pkg/apis/core/v1/defaults.go), the service
 * strategy (pkg/registry/core/service/strategy.go: status reset on create, status kept
 * on update, dropTypeDependentFields), the status strategy (spec kept, metadata and status
 * writable) and the allocation hooks of service-alloc.ts.
 */
import { conditionsSchema, listOf, mapOf, objectMetaSchema, struct } from '../decode';
import { clone, dropEmpty, type KubeObject } from '../json';
import { commonListStrategies } from '../patch';
import { dns1035Label } from '../validation';
import { afterDelete, beginCreate, beginUpdate } from './service-alloc';
import { asService, externallyAccessible, needsClusterIP, needsHealthCheck, needsNodePort, nodePortsOf, type Service, sameStrings } from './service-types';
import { validateService, validateServiceStatusUpdate, validateServiceUpdate } from './service-validation';
import type { ResourceType } from './types';

const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

const serviceSchema = struct('Service', {
  apiVersion: 'string',
  kind: 'string',
  metadata: objectMetaSchema,
  spec: struct('ServiceSpec', {
    type: 'string',
    ports: listOf(struct('ServicePort', { name: 'string', protocol: 'string', appProtocol: 'string', port: 'int32', targetPort: 'intOrString', nodePort: 'int32' })),
    selector: mapOf('string'),
    clusterIP: 'string',
    clusterIPs: listOf('string'),
    externalIPs: listOf('string'),
    sessionAffinity: 'string',
    sessionAffinityConfig: struct('SessionAffinityConfig', { clientIP: struct('ClientIPConfig', { timeoutSeconds: 'int32' }) }),
    externalName: 'string',
    externalTrafficPolicy: 'string',
    internalTrafficPolicy: 'string',
    healthCheckNodePort: 'int32',
    ipFamilies: listOf('string'),
    ipFamilyPolicy: 'string',
    allocateLoadBalancerNodePorts: 'bool',
    loadBalancerClass: 'string',
    loadBalancerIP: 'string',
    loadBalancerSourceRanges: listOf('string'),
    publishNotReadyAddresses: 'bool',
    trafficDistribution: 'string',
  }),
  status: struct('ServiceStatus', {
    loadBalancer: struct('LoadBalancerStatus', {
      ingress: listOf(struct('LoadBalancerIngress', { ip: 'string', hostname: 'string', ipMode: 'string', ports: listOf('object') })),
    }),
    conditions: conditionsSchema,
  }),
});

function defaults(obj: KubeObject): void {
  const svc = asService(obj);
  const s = svc.spec;
  s.sessionAffinity ||= 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP' && s.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    s.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  s.type ||= 'ClusterIP';
  for (const port of s.ports ?? []) {
    port.protocol ||= 'TCP';
    if ((port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '') && port.port !== undefined) port.targetPort = port.port;
  }
  if (externallyAccessible(svc) && !s.externalTrafficPolicy) s.externalTrafficPolicy = 'Cluster';
  if (s.internalTrafficPolicy === undefined && ['ClusterIP', 'NodePort', 'LoadBalancer'].includes(s.type)) s.internalTrafficPolicy = 'Cluster';
  if (s.type === 'LoadBalancer') {
    if (s.allocateLoadBalancerNodePorts === undefined) s.allocateLoadBalancerNodePorts = true;
    for (const ingress of svc.status?.loadBalancer?.ingress ?? []) if (ingress.ip && ingress.ipMode === undefined) ingress.ipMode = 'VIP';
  }
}

/** dropTypeDependentFields: wipe what the new type no longer uses, unless the user changed it too. */
function dropTypeDependentFields(svc: Service, old: Service): void {
  const s = svc.spec;
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    if (old.spec.clusterIP === s.clusterIP && sameStrings(old.spec.clusterIPs, s.clusterIPs)) {
      delete s.clusterIP;
      delete s.clusterIPs;
    }
    if (sameStrings(old.spec.ipFamilies, s.ipFamilies)) delete s.ipFamilies;
    if (old.spec.ipFamilyPolicy === s.ipFamilyPolicy) delete s.ipFamilyPolicy;
  }
  const oldPorts = new Set(nodePortsOf(old));
  if (needsNodePort(old) && !needsNodePort(svc) && nodePortsOf(svc).every((p) => oldPorts.has(p))) {
    for (const port of s.ports ?? []) delete port.nodePort;
  }
  if (needsHealthCheck(old) && !needsHealthCheck(svc) && old.spec.healthCheckNodePort === s.healthCheckNodePort) delete s.healthCheckNodePort;
  if (old.spec.type === 'LoadBalancer' && s.type !== 'LoadBalancer') {
    if (s.allocateLoadBalancerNodePorts !== undefined && old.spec.allocateLoadBalancerNodePorts === s.allocateLoadBalancerNodePorts) delete s.allocateLoadBalancerNodePorts;
    if (old.spec.loadBalancerClass === s.loadBalancerClass) delete s.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(svc) && old.spec.externalTrafficPolicy === s.externalTrafficPolicy) delete s.externalTrafficPolicy;
  if (s.type !== 'LoadBalancer' && svc.status) svc.status.loadBalancer = {};
}

/** Go's zero values and omitempty: `status.loadBalancer` is always there, empty lists are not. */
function normalize(obj: KubeObject): void {
  const svc = asService(obj);
  // defaultOnReadInternalTrafficPolicy: ExternalName never shows the policy it was once defaulted with.
  if (svc.spec.type === 'ExternalName') delete svc.spec.internalTrafficPolicy;
  dropEmpty(svc.spec as Record<string, unknown>, ['selector', 'ports', 'clusterIPs', 'externalIPs', 'ipFamilies', 'loadBalancerSourceRanges']);
  for (const port of svc.spec.ports ?? []) dropEmpty(port as Record<string, unknown>, ['name']);
  const status = (svc.status ??= {});
  const lb = (status.loadBalancer ??= {});
  dropEmpty(lb as Record<string, unknown>, ['ingress']);
  dropEmpty(status as Record<string, unknown>, ['conditions']);
}

export const services: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Service',
  resource: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  allowCreateOnUpdate: true,
  returnDeletedObject: true,
  nameValidator: dns1035Label,
  schema: serviceSchema,
  listStrategies: {
    ...commonListStrategies,
    // ServicePort is a list map keyed by port+protocol (+listMapKey), protocol defaulting to TCP.
    'spec.ports': { kind: 'merge', keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } },
    'status.conditions': { kind: 'merge', keys: ['type'] },
  },
  selectableFields: {
    'spec.clusterIP': (obj) => asService(obj).spec.clusterIP ?? '',
    'spec.type': (obj) => asService(obj).spec.type ?? '',
  },
  subresources: {
    status: {
      prepareForUpdate(next, prev) {
        next.spec = clone(prev.spec);
      },
      validateUpdate: (next, prev) => validateServiceStatusUpdate(asService(next), asService(prev)),
    },
  },
  defaults,
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate(next, prev) {
    next.status = clone(prev.status ?? {});
    dropTypeDependentFields(asService(next), asService(prev));
  },
  validate: (obj) => validateService(asService(obj)),
  validateUpdate: (next, prev) => validateServiceUpdate(asService(next), asService(prev)),
  beginCreate: (obj, cluster) => beginCreate(asService(obj), cluster),
  beginUpdate: (next, prev, cluster) => beginUpdate(asService(next), asService(prev), cluster),
  afterDelete: (obj, cluster) => afterDelete(asService(obj), cluster),
  normalize,
};
