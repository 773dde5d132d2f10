import type { V1Service } from '@kubernetes/client-node';
import { ConfigError } from '../errors';
import type { Annotations } from './annotations';
import type { HealthCheck } from './types';

export interface HealthCheckConfig {
  /** The node agent's health port, checked for externalTrafficPolicy Cluster (kube-proxy: 10256). */
  nodeHealthPort: number;
}

/**
 * docs/design.md §3: externalTrafficPolicy Local checks the Service's healthCheckNodePort (only
 * nodes with a local endpoint pass); Cluster checks the node agent's own health port, so a
 * draining node leaves the NLB before it goes. Annotations override either.
 *
 * A path without a port checks the traffic port, as the AWS Load Balancer Controller does:
 * the node agent's port answers `/healthz` only, so any other path there would fail every
 * target. The healthCheckNodePort of a Local Service answers any path, so it stays.
 */
export function buildHealthCheck(service: V1Service, ann: Annotations, config: HealthCheckConfig): HealthCheck {
  const local = service.spec?.externalTrafficPolicy === 'Local';
  let port: number | 'traffic-port' = config.nodeHealthPort;
  if (local) {
    const hcnp = service.spec?.healthCheckNodePort;
    if (!hcnp) throw new ConfigError('spec.healthCheckNodePort is missing although externalTrafficPolicy is Local');
    port = hcnp;
  } else if (ann['ferry.io/healthcheck-path'] !== undefined && ann['ferry.io/healthcheck-path'] !== '/healthz') {
    port = 'traffic-port';
  }
  const protocol = ann['ferry.io/healthcheck-protocol'] ?? 'HTTP';
  const http = protocol !== 'TCP';
  return {
    protocol,
    port: ann['ferry.io/healthcheck-port'] ?? port,
    ...(http ? { path: ann['ferry.io/healthcheck-path'] ?? '/healthz' } : {}),
    ...(http ? { successCodes: ann['ferry.io/healthcheck-success-codes'] ?? '200-399' } : {}),
    intervalSeconds: ann['ferry.io/healthcheck-interval'] ?? 10,
    timeoutSeconds: ann['ferry.io/healthcheck-timeout'] ?? 6,
    healthyThreshold: ann['ferry.io/healthcheck-healthy-threshold'] ?? 2,
    unhealthyThreshold: ann['ferry.io/healthcheck-unhealthy-threshold'] ?? 2,
  };
}
