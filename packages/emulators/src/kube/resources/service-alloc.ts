/**
 * ClusterIP / NodePort / healthCheckNodePort allocation as
 * pkg/registry/core/service/storage (storage.go beginCreate/beginUpdate/afterDelete and
 * alloc.go) does it, for a single-stack IPv4 cluster:
 * - allocation runs before validation, and its failures are 422 on the offending field
 *   ("provided port is already allocated"); a full range or a clashing healthCheckNodePort
 *   is a 500 InternalError, as in alloc.go;
 * - on create, ports sharing a port number (e.g. 53/TCP and 53/UDP) share one NodePort
 *   (initNodePorts' svcPortToNodePort); updates allocate per port (updateNodePorts);
 * - values the client omitted on update are carried over (patchAllocatedValues), NodePorts
 *   matched by port name;
 * - releases happen only when the write commits, and on real deletion (afterDelete).
 */
import { errors, type FieldError, field, go } from '../errors';
import { AllocationOperation, type Pool, type Transaction, combine } from './allocators';
import { isHeadless, needsClusterIP, needsHealthCheck, needsNodePort, nodePortsOf, sameStrings, type Service, shouldAllocateNodePorts } from './service-types';
import type { Cluster } from './types';
import { validateClusterIPsRelatedFields } from './service-validation';

const serviceKind = { group: '', name: 'Service' };
const invalid = (svc: Service, errs: FieldError[]) => errors.invalid(serviceKind, svc.metadata.name ?? '', errs);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs `fn` on a fresh operation; reverts it if `fn` throws. */
function withOperation<T>(pool: Pool<T>, fn: (op: AllocationOperation<T>) => void): AllocationOperation<T> {
  const op = new AllocationOperation<T>(pool);
  try {
    fn(op);
  } catch (err) {
    op.revert();
    throw err;
  }
  return op;
}

export function beginCreate(svc: Service, cluster: Cluster): Transaction {
  normalizeClusterIPs(svc, undefined);
  initIPFamilyFields(svc, undefined);
  const ips = withOperation(cluster.serviceIPs, (op) => allocClusterIPs(svc, op));
  try {
    const ports = withOperation(cluster.nodePorts, (op) => {
      if (needsNodePort(svc)) initNodePorts(svc, op);
      if (needsHealthCheck(svc)) allocHealthCheckNodePort(svc, op);
    });
    return combine(ips, ports);
  } catch (err) {
    ips.revert();
    throw err;
  }
}

export function beginUpdate(svc: Service, old: Service, cluster: Cluster): Transaction {
  patchAllocatedValues(svc, old);
  normalizeClusterIPs(svc, old);
  initIPFamilyFields(svc, old);
  const ips = withOperation(cluster.serviceIPs, (op) => updateClusterIPs(svc, old, op));
  try {
    const ports = withOperation(cluster.nodePorts, (op) => {
      if (needsNodePort(old) && (svc.spec.type === 'ExternalName' || svc.spec.type === 'ClusterIP')) {
        for (const port of nodePortsOf(old)) op.releaseDeferred(port);
      }
      if (needsNodePort(svc)) updateNodePorts(svc, old, op);
      updateHealthCheckNodePort(svc, old, op);
    });
    return combine(ips, ports);
  } catch (err) {
    ips.revert();
    throw err;
  }
}

/** releaseAllocatedResources. */
export function afterDelete(svc: Service, cluster: Cluster): void {
  if (needsClusterIP(svc) && !isHeadless(svc)) for (const ip of svc.spec.clusterIPs ?? []) cluster.serviceIPs.release(ip);
  for (const port of nodePortsOf(svc)) cluster.nodePorts.release(port);
  if (needsHealthCheck(svc) && svc.spec.healthCheckNodePort) cluster.nodePorts.release(svc.spec.healthCheckNodePort);
}

/** Keeps clusterIP and clusterIPs in sync for clients that only set the singular field. */
function normalizeClusterIPs(svc: Service, old: Service | undefined): void {
  const s = svc.spec;
  if (!old) {
    if (s.clusterIP && !s.clusterIPs?.length) s.clusterIPs = [s.clusterIP];
    return;
  }
  if (old.spec.clusterIPs?.length && !s.clusterIPs?.length && old.spec.clusterIP === s.clusterIP) s.clusterIPs = old.spec.clusterIPs;
  if (old.spec.clusterIP !== s.clusterIP) {
    if (old.spec.clusterIP && !s.clusterIP) {
      if (sameStrings(old.spec.clusterIPs, s.clusterIPs)) delete s.clusterIPs;
    } else if (sameStrings(old.spec.clusterIPs, s.clusterIPs)) {
      s.clusterIPs = s.clusterIP ? [s.clusterIP] : [];
    }
  }
}

function patchAllocatedValues(svc: Service, old: Service): void {
  const s = svc.spec;
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if (!s.clusterIP && old.spec.clusterIP) s.clusterIP = old.spec.clusterIP;
    if (!s.clusterIPs?.length && old.spec.clusterIPs?.length) s.clusterIPs = [...old.spec.clusterIPs];
  }
  if (needsNodePort(old) && needsNodePort(svc)) {
    const inNew = new Set(nodePortsOf(svc));
    const used = new Set(nodePortsOf(old).filter((p) => inNew.has(p)));
    const byName = new Map((old.spec.ports ?? []).map((p) => [p.name ?? '', p.nodePort ?? 0]));
    for (const port of s.ports ?? []) {
      const previous = byName.get(port.name ?? '') ?? 0;
      if (!port.nodePort && previous && !used.has(previous)) port.nodePort = previous;
    }
  }
  if (needsHealthCheck(old) && needsHealthCheck(svc) && !s.healthCheckNodePort) s.healthCheckNodePort = old.spec.healthCheckNodePort;
}

/** initIPFamilyFields on a cluster whose only service family is IPv4. */
function initIPFamilyFields(svc: Service, old: Service | undefined): void {
  const s = svc.spec;
  if (s.type === 'ExternalName') return;
  if (s.ipFamilyPolicy === undefined) {
    if (old?.spec.ipFamilyPolicy) s.ipFamilyPolicy = old.spec.ipFamilyPolicy;
    else if (s.clusterIP === 'None' && Object.keys(s.selector ?? {}).length === 0) s.ipFamilyPolicy = 'RequireDualStack';
    else s.ipFamilyPolicy = 'SingleStack';
  }
  const pre = validateClusterIPsRelatedFields(svc);
  if (pre.length > 0) throw invalid(svc, pre);

  const errs: FieldError[] = [];
  const policy = go.str(s.ipFamilyPolicy);
  if (old && s.ipFamilyPolicy === 'SingleStack') {
    if (sameStrings(old.spec.clusterIPs, s.clusterIPs) && (s.clusterIPs?.length ?? 0) > 1) s.clusterIPs = s.clusterIPs?.slice(0, 1);
    if (sameStrings(old.spec.ipFamilies, s.ipFamilies) && (s.ipFamilies?.length ?? 0) > 1) s.ipFamilies = s.ipFamilies?.slice(0, 1);
  }
  if (s.ipFamilyPolicy === 'SingleStack') {
    if (s.clusterIPs?.length === 2) errs.push(field.invalid('spec.ipFamilyPolicy', policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"));
    if (s.ipFamilies?.length === 2) errs.push(field.invalid('spec.ipFamilyPolicy', policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
  }
  const families = (s.ipFamilies ??= []);
  (s.clusterIPs ?? []).every((ip, i) => {
    if (ip === 'None') return false;
    const family = ip.includes(':') ? 'IPv6' : 'IPv4';
    if (i >= families.length) {
      if (family === 'IPv4') families.push(family);
      else errs.push(field.invalid(`spec.clusterIPs[${i}]`, go.strings(s.clusterIPs ?? []), `${family} is not configured on this cluster`));
    }
    return true;
  });
  if (errs.length > 0) throw invalid(svc, errs);

  if (s.clusterIP === 'None' && Object.keys(s.selector ?? {}).length === 0) {
    // Headless and selectorless: any family is allowed, whatever the cluster has.
    if (families.length === 0) families.push('IPv4');
    if (families.length < 2 && s.ipFamilyPolicy !== 'SingleStack') families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
    return;
  }
  if (s.ipFamilyPolicy === 'RequireDualStack') errs.push(field.invalid('spec.ipFamilyPolicy', policy, 'this cluster is not configured for dual-stack services'));
  families.forEach((family, i) => {
    if (family !== 'IPv4') errs.push(field.invalid(`spec.ipFamilies[${i}]`, go.str(family), 'not configured on this cluster'));
  });
  if (errs.length > 0) throw invalid(svc, errs);
  if (families.length === 0) families.push('IPv4');
}

function allocClusterIPs(svc: Service, op: AllocationOperation<string>): void {
  const s = svc.spec;
  if (s.type === 'ExternalName' || isHeadless(svc)) return;
  const requested = s.clusterIPs?.[0] ?? '';
  let ip: string;
  if (!requested) {
    try {
      ip = op.allocateNext();
    } catch (err) {
      throw errors.internal(`failed to allocate a serviceIP: ${messageOf(err)}`);
    }
  } else {
    try {
      op.allocate(requested);
    } catch (err) {
      throw invalid(svc, [field.invalid('spec.clusterIPs', go.strings(s.clusterIPs ?? []), `failed to allocate IP ${requested}: ${messageOf(err)}`)]);
    }
    ip = requested;
  }
  s.clusterIPs = [ip, ...(s.clusterIPs ?? []).slice(1)];
  s.clusterIP = ip;
}

function updateClusterIPs(svc: Service, old: Service, op: AllocationOperation<string>): void {
  if (old.spec.type === 'ExternalName' && svc.spec.type !== 'ExternalName') return allocClusterIPs(svc, op);
  if (isHeadless(old)) return;
  if (old.spec.type !== 'ExternalName' && svc.spec.type === 'ExternalName') {
    for (const ip of old.spec.clusterIPs ?? []) op.releaseDeferred(ip);
  }
}

function allocateNodePort(op: AllocationOperation<number>): number {
  try {
    return op.allocateNext();
  } catch (err) {
    throw errors.internal(`failed to allocate a nodePort: ${messageOf(err)}`);
  }
}

function allocateRequestedNodePort(svc: Service, op: AllocationOperation<number>, index: number, port: number): void {
  try {
    op.allocate(port);
  } catch (err) {
    throw invalid(svc, [field.invalid(`spec.ports[${index}].nodePort`, go.num(port), messageOf(err))]);
  }
}

function initNodePorts(svc: Service, op: AllocationOperation<number>): void {
  const ports = svc.spec.ports ?? [];
  const byPortNumber = new Map<number, number>();
  ports.forEach((p, i) => {
    if (!p.nodePort && !shouldAllocateNodePorts(svc)) return;
    const shared = byPortNumber.get(p.port ?? 0);
    if (shared === undefined) {
      const requested = ports.find((q) => q.port === p.port && q.nodePort)?.nodePort;
      const nodePort = requested ?? allocateNodePort(op);
      if (requested !== undefined) allocateRequestedNodePort(svc, op, i, requested);
      p.nodePort = nodePort;
      byPortNumber.set(p.port ?? 0, nodePort);
    } else if (p.nodePort !== shared) {
      if (!p.nodePort) p.nodePort = shared;
      else allocateRequestedNodePort(svc, op, i, p.nodePort);
    }
  });
}

function updateNodePorts(svc: Service, old: Service, op: AllocationOperation<number>): void {
  const oldNumbers = new Set(nodePortsOf(old));
  const claimed = new Set<number>();
  const seen = new Set<string>();
  for (const [i, p] of (svc.spec.ports ?? []).entries()) {
    if (!p.nodePort && !shouldAllocateNodePorts(svc)) continue;
    if (p.nodePort) {
      if (!oldNumbers.has(p.nodePort) && !claimed.has(p.nodePort)) {
        allocateRequestedNodePort(svc, op, i, p.nodePort);
        claimed.add(p.nodePort);
      }
    } else {
      p.nodePort = allocateNodePort(op);
    }
    const key = `${p.protocol} ${p.nodePort}`;
    if (seen.has(key)) throw errors.internal(`duplicate nodePort: {${key}}`);
    seen.add(key);
  }
  const newNumbers = new Set(nodePortsOf(svc));
  for (const port of oldNumbers) if (!newNumbers.has(port)) op.releaseDeferred(port);
}

function allocHealthCheckNodePort(svc: Service, op: AllocationOperation<number>): void {
  const requested = svc.spec.healthCheckNodePort ?? 0;
  if (requested) {
    try {
      op.allocate(requested);
    } catch (err) {
      throw errors.internal(`failed to allocate requested HealthCheck NodePort ${requested}: ${messageOf(err)}`);
    }
    return;
  }
  try {
    svc.spec.healthCheckNodePort = op.allocateNext();
  } catch (err) {
    throw errors.internal(`failed to allocate a HealthCheck NodePort 0: ${messageOf(err)}`);
  }
}

function updateHealthCheckNodePort(svc: Service, old: Service, op: AllocationOperation<number>): void {
  const needed = needsHealthCheck(old);
  const needs = needsHealthCheck(svc);
  if (!needed && needs) allocHealthCheckNodePort(svc, op);
  else if (needed && !needs && old.spec.healthCheckNodePort) op.releaseDeferred(old.spec.healthCheckNodePort);
}
