/**
 * ValidateService / ValidateServiceUpdate / ValidateServiceStatusUpdate of
 * pkg/apis/core/validation/validation.go, for a single-stack IPv4 cluster. Paths and
 * texts are the real ones, quirks included (`spec.LoadBalancerSourceRanges` with a
 * capital L, `allocateLoadBalancerNodePorts` without `spec.`).
 */
import { isIP } from 'node:net';
import { type FieldError, field, go } from '../errors';
import {
  cidrErrors,
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  ipErrors,
  labelValue,
  qualifiedName,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validPortName,
  validPortNum,
} from '../validation';
import { externallyAccessible, isHeadless, needsHealthCheck, type Service } from './service-types';

const sorted = (values: readonly string[]) => [...values].sort();
const serviceTypes = sorted(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);
const protocols = sorted(['TCP', 'UDP', 'SCTP']);
const ipFamilyPolicies = sorted(['SingleStack', 'PreferDualStack', 'RequireDualStack']);
const trafficPolicies = sorted(['Cluster', 'Local']);
const maxClientIPAffinitySeconds = 86400;

const invalidEach = (path: string, value: string, msgs: string[]) => msgs.map((m) => field.invalid(path, go.str(value), m));

export function validateLabelsAt(path: string, labels: Readonly<Record<string, string>> | undefined): FieldError[] {
  return Object.entries(labels ?? {}).flatMap(([k, v]) => [...invalidEach(path, k, qualifiedName(k)), ...invalidEach(path, v, labelValue(v))]);
}

export function validateService(svc: Service): FieldError[] {
  const s = svc.spec;
  const errs = validateObjectMeta(svc.metadata, dns1035Label);
  const ports = s.ports ?? [];
  if (ports.length === 0 && !isHeadless(svc) && s.type !== 'ExternalName') errs.push(field.required('spec.ports'));
  if ((s.type === 'LoadBalancer' || s.type === 'NodePort') && isHeadless(svc)) {
    errs.push(field.invalid('spec.clusterIPs[0]', go.str('None'), `may not be set to 'None' for ${s.type} services`));
  }
  if (s.type === 'ExternalName') {
    if ((s.clusterIPs ?? []).length > 0) errs.push(field.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if ((s.ipFamilies ?? []).length > 0) errs.push(field.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (s.ipFamilyPolicy !== undefined) errs.push(field.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = (s.externalName ?? '').replace(/\.$/, '');
    if (cname) errs.push(...invalidEach('spec.externalName', cname, dns1123Subdomain(cname)));
    else errs.push(field.required('spec.externalName'));
  }

  const names = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) {
      errs.push(field.required(`${path}.name`));
    } else if (p.name) {
      errs.push(...invalidEach(`${path}.name`, p.name, dns1123Label(p.name)));
      if (names.has(p.name)) errs.push(field.duplicate(`${path}.name`, go.str(p.name)));
      names.add(p.name);
    }
    for (const m of validPortNum(p.port ?? 0)) errs.push(field.invalid(`${path}.port`, go.num(p.port ?? 0), m));
    if (!p.protocol) errs.push(field.required(`${path}.protocol`));
    else if (!protocols.includes(p.protocol)) errs.push(field.notSupported(`${path}.protocol`, go.str(p.protocol), protocols));
    const target = p.targetPort ?? 0;
    if (typeof target === 'number') for (const m of validPortNum(target)) errs.push(field.invalid(`${path}.targetPort`, go.num(target), m));
    else errs.push(...invalidEach(`${path}.targetPort`, target, validPortName(target)));
    if (p.appProtocol !== undefined) errs.push(...invalidEach(`${path}.appProtocol`, p.appProtocol, qualifiedName(p.appProtocol)));
  });

  errs.push(...validateLabelsAt('spec.selector', s.selector));

  if (!s.sessionAffinity) errs.push(field.required('spec.sessionAffinity'));
  else if (!['ClientIP', 'None'].includes(s.sessionAffinity)) errs.push(field.notSupported('spec.sessionAffinity', go.str(s.sessionAffinity), ['ClientIP', 'None']));
  if (s.sessionAffinity === 'ClientIP') errs.push(...validateClientIPAffinity(s.sessionAffinityConfig));
  else if (s.sessionAffinity === 'None' && s.sessionAffinityConfig !== undefined) {
    errs.push(field.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }

  errs.push(...validateClusterIPsRelatedFields(svc));
  (s.externalIPs ?? []).forEach((ip, i) => errs.push(...ipErrors(`spec.externalIPs[${i}]`, ip)));

  if (!s.type) errs.push(field.required('spec.type'));
  else if (!serviceTypes.includes(s.type)) errs.push(field.notSupported('spec.type', go.str(s.type), serviceTypes));

  if (s.type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(field.forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const seenNodePorts = new Set<string>();
  const seenPorts = new Set<string>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      const key = `${p.protocol}/${p.nodePort}`;
      if (seenNodePorts.has(key)) errs.push(field.duplicate(`spec.ports[${i}].nodePort`, go.num(p.nodePort)));
      seenNodePorts.add(key);
    }
    const key = `${p.protocol}/${p.port}`;
    if (seenPorts.has(key)) errs.push(field.duplicate(`spec.ports[${i}]`, goServicePortKey(p.protocol ?? '', p.port ?? 0)));
    seenPorts.add(key);
  });

  errs.push(...validateSourceRanges(svc));
  if (s.allocateLoadBalancerNodePorts !== undefined && s.type !== 'LoadBalancer') {
    errs.push(field.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts === undefined) errs.push(field.required('allocateLoadBalancerNodePorts'));
  errs.push(...validateLoadBalancerClass(svc));
  errs.push(...validateExternalTrafficPolicy(svc));
  if (s.internalTrafficPolicy === undefined) {
    if (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP') errs.push(field.required('spec.internalTrafficPolicy'));
  } else if (!trafficPolicies.includes(s.internalTrafficPolicy)) {
    errs.push(field.notSupported('spec.internalTrafficPolicy', go.str(s.internalTrafficPolicy), trafficPolicies));
  }
  if (s.trafficDistribution !== undefined && s.trafficDistribution !== 'PreferClose') {
    errs.push(field.notSupported('spec.trafficDistribution', go.str(s.trafficDistribution), ['PreferClose']));
  }
  return errs;
}

/** The duplicate-port error prints the Go struct key with %#v. */
function goServicePortKey(protocol: string, port: number): string {
  return `core.ServicePort{Name:"", Protocol:${JSON.stringify(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function validateClientIPAffinity(config: Service['spec']['sessionAffinityConfig']): FieldError[] {
  const path = 'spec.sessionAffinityConfig';
  const detail = 'when session affinity type is ClientIP';
  if (!config) return [field.required(path, detail)];
  if (!config.clientIP) return [field.required(`${path}.clientIP`, detail)];
  const timeout = config.clientIP.timeoutSeconds;
  if (timeout === undefined) return [field.required(`${path}.clientIP.timeoutSeconds`, detail)];
  return timeout <= 0 || timeout > maxClientIPAffinitySeconds
    ? [field.invalid(`${path}.clientIP.timeoutSeconds`, go.num(timeout), `must be greater than 0 and less than ${maxClientIPAffinitySeconds}`)]
    : [];
}

export function validateClusterIPsRelatedFields(svc: Service): FieldError[] {
  const s = svc.spec;
  if (s.type === 'ExternalName') return [];
  const errs: FieldError[] = [];
  const clusterIPs = s.clusterIPs ?? [];
  if (s.clusterIP) {
    if (clusterIPs.length === 0) errs.push(field.required('spec.clusterIPs'));
    else if (clusterIPs[0] !== s.clusterIP) errs.push(field.invalid('spec.clusterIPs', go.strings(clusterIPs), 'first value must match `clusterIP`'));
  } else if (clusterIPs.length > 0) {
    errs.push(field.invalid('spec.clusterIPs', go.strings(clusterIPs), 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  (s.ipFamilies ?? []).forEach((family, i) => {
    if (family !== 'IPv4' && family !== 'IPv6') errs.push(field.notSupported(`spec.ipFamilies[${i}]`, go.str(family), ['IPv4', 'IPv6']));
    if (seen.has(family)) errs.push(field.duplicate(`spec.ipFamilies[${i}]`, go.str(family)));
    seen.add(family);
  });
  if (s.ipFamilyPolicy !== undefined && !ipFamilyPolicies.includes(s.ipFamilyPolicy)) {
    errs.push(field.notSupported('spec.ipFamilyPolicy', go.str(s.ipFamilyPolicy), ipFamilyPolicies));
  }
  let hasInvalidIPs = false;
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (clusterIPs.length > 1) {
        hasInvalidIPs = true;
        errs.push(field.invalid('spec.clusterIPs', go.strings(clusterIPs), "'None' must be the first and only value"));
      }
      return;
    }
    const ipErrs = ipErrors(`spec.clusterIPs[${i}]`, ip);
    hasInvalidIPs ||= ipErrs.length > 0;
    errs.push(...ipErrs);
  });
  if (clusterIPs.length > 2) errs.push(field.invalid('spec.clusterIPs', go.strings(clusterIPs), 'may only hold up to 2 values'));
  if (hasInvalidIPs) return errs;
  if (clusterIPs.length > 1 && isIP(clusterIPs[0] ?? '') === isIP(clusterIPs[1] ?? '')) {
    errs.push(field.invalid('spec.clusterIPs', go.strings(clusterIPs), 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadless(svc)) {
    clusterIPs.forEach((ip, i) => {
      const family = s.ipFamilies?.[i];
      if (family === 'IPv4' && isIP(ip) === 6) errs.push(field.invalid(`spec.clusterIPs[${i}]`, go.str(ip), `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (family === 'IPv6' && isIP(ip) !== 6) errs.push(field.invalid(`spec.clusterIPs[${i}]`, go.str(ip), `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

function validateSourceRanges(svc: Service): FieldError[] {
  const ranges = svc.spec.loadBalancerSourceRanges ?? [];
  const annotation = svc.metadata.annotations?.['service.beta.kubernetes.io/load-balancer-source-ranges'];
  const errs: FieldError[] = [];
  const onlyLB = "may only be used when `type` is 'LoadBalancer'";
  if (ranges.length > 0) {
    if (svc.spec.type !== 'LoadBalancer') errs.push(field.forbidden('spec.LoadBalancerSourceRanges', onlyLB));
    ranges.forEach((r, i) => errs.push(...cidrErrors(`spec.LoadBalancerSourceRanges[${i}]`, r.trim())));
  } else if (annotation !== undefined) {
    const path = 'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]';
    if (svc.spec.type !== 'LoadBalancer') errs.push(field.forbidden(path, onlyLB));
    for (const r of annotation.trim() ? annotation.split(',') : []) errs.push(...cidrErrors(path, r.trim()));
  }
  return errs;
}

function validateLoadBalancerClass(svc: Service): FieldError[] {
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined) return [];
  if (svc.spec.type !== 'LoadBalancer') return [field.forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'")];
  return invalidEach('spec.loadBalancerClass', cls, qualifiedName(cls));
}

function validateExternalTrafficPolicy(svc: Service): FieldError[] {
  const s = svc.spec;
  const errs: FieldError[] = [];
  if (!externallyAccessible(svc)) {
    if (s.externalTrafficPolicy) errs.push(field.invalid('spec.externalTrafficPolicy', go.str(s.externalTrafficPolicy), 'may only be set for externally-accessible services'));
  } else if (!s.externalTrafficPolicy) {
    errs.push(field.required('spec.externalTrafficPolicy'));
  } else if (!trafficPolicies.includes(s.externalTrafficPolicy)) {
    errs.push(field.notSupported('spec.externalTrafficPolicy', go.str(s.externalTrafficPolicy), trafficPolicies));
  }
  const hc = s.healthCheckNodePort ?? 0;
  if (!needsHealthCheck(svc)) {
    if (hc !== 0) errs.push(field.invalid('spec.healthCheckNodePort', go.num(hc), "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (hc === 0) {
    errs.push(field.required('spec.healthCheckNodePort'));
  } else {
    for (const m of validPortNum(hc)) errs.push(field.invalid('spec.healthCheckNodePort', go.num(hc), m));
  }
  return errs;
}

export function validateServiceUpdate(svc: Service, old: Service): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  errs.push(...validateUpgradeDowngradeClusterIPs(old, svc));
  // The update half of validateLoadBalancerClassField; validateService adds the rest.
  if (old.spec.type === 'LoadBalancer' && svc.spec.type === 'LoadBalancer' && old.spec.loadBalancerClass !== svc.spec.loadBalancerClass) {
    errs.push(field.invalid('spec.loadBalancerClass', go.ptr(svc.spec.loadBalancerClass), 'may not change once set'));
  }
  if (needsHealthCheck(old) && needsHealthCheck(svc) && svc.spec.healthCheckNodePort !== old.spec.healthCheckNodePort) {
    errs.push(field.forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  return [...errs, ...validateService(svc)];
}

function validateUpgradeDowngradeClusterIPs(old: Service, svc: Service): FieldError[] {
  if (svc.spec.type === 'ExternalName' || old.spec.type === 'ExternalName') return [];
  if (isHeadless(old) && isHeadless(svc)) return [];
  const before = old.spec.clusterIPs ?? [];
  const after = svc.spec.clusterIPs ?? [];
  const errs: FieldError[] = [];
  if (before.length === after.length) {
    before.forEach((ip, i) => {
      if (ip !== after[i]) errs.push(field.invalid(`spec.clusterIPs[${i}]`, go.strings(after), 'may not change once set'));
    });
  } else if (before.length > after.length) {
    if (after.length === 0) errs.push(field.invalid('spec.clusterIPs[0]', go.strings(after), 'primary clusterIP can not be unset'));
    else if (after[0] !== before[0]) errs.push(field.invalid('spec.clusterIPs[0]', go.strings(after), 'may not change once set'));
  } else if (before.length > 0 && after[0] !== before[0]) {
    errs.push(field.invalid('spec.clusterIPs[0]', go.strings(after), 'may not change once set'));
  }
  return errs;
}

export function validateServiceStatusUpdate(svc: Service, old: Service): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const path = 'status.loadBalancer.ingress';
  if (svc.spec.type !== 'LoadBalancer' && ingress.length > 0) {
    errs.push(field.forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"));
    return errs;
  }
  ingress.forEach((ing, i) => {
    const at = `${path}[${i}]`;
    if (ing.ip) errs.push(...ipErrors(`${at}.ip`, ing.ip));
    if (ing.ipMode !== undefined && !ing.ip) errs.push(field.forbidden(`${at}.ipMode`, 'may not be set when `ip` is not set'));
    else if (ing.ipMode !== undefined && !['Proxy', 'VIP'].includes(ing.ipMode)) errs.push(field.notSupported(`${at}.ipMode`, go.str(ing.ipMode), ['Proxy', 'VIP']));
    if (ing.hostname) {
      errs.push(...invalidEach(`${at}.hostname`, ing.hostname, dns1123Subdomain(ing.hostname)));
      if (isIP(ing.hostname)) errs.push(field.invalid(`${at}.hostname`, go.str(ing.hostname), 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}
