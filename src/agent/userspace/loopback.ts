/**
 * A userspace agent for one of several nodes sharing a host, each on a loopback address of
 * its own (`ferry local` without root): NodePorts and healthCheckNodePorts answer on that
 * address only, `/healthz` on `<address>:10256` and metrics on `<address>:10249`, so the
 * agents do not collide; ClusterIPs are not redirected (that would take root and the
 * host's one nft table); connections to pods leave from the node's address, or from the
 * client's own for externalTrafficPolicy Local (sources.ts), and a pod sees what it would
 * behind a kernel-mode agent.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Log } from '../../util/log';
import { startAgent, type AgentHandle } from '../run';
import { DEFAULT_SCHEDULER } from '../schedulers';
import { createUserspaceProxier } from './index';
import { isLoopbackV4 } from './sources';

export const NODE_HEALTH_PORT = 10256;
export const NODE_METRICS_PORT = 10249;

export interface LoopbackAgentOptions {
  nodeName: string;
  /** The node's own address in 127/8. */
  address: string;
  kubeConfig: KubeConfig;
  logger?: Log;
  /** Default 200 ms: a playground wants changes applied at once. */
  minSyncIntervalMs?: number;
  /** How long `stop()` lets open connections finish (default 1 s). */
  drainTimeoutMs?: number;
}

export function startLoopbackAgent(options: LoopbackAgentOptions): Promise<AgentHandle> {
  if (!isLoopbackV4(options.address)) throw new TypeError(`a loopback agent needs an address in 127/8; got '${options.address}'`);
  const logger = options.logger ?? (() => undefined);
  const proxier = createUserspaceProxier({
    scheduler: DEFAULT_SCHEDULER,
    redirectClusterIPs: false,
    sources: 'loopback',
    drainTimeoutMs: options.drainTimeoutMs ?? 1000,
    log: (msg) => logger({ level: 'info', msg }),
  });
  return startAgent({
    mode: 'userspace',
    nodeName: options.nodeName,
    kubeconfig: undefined,
    kubeConfig: options.kubeConfig,
    scheduler: DEFAULT_SCHEDULER,
    healthzBind: `${options.address}:${NODE_HEALTH_PORT}`,
    metricsBind: `${options.address}:${NODE_METRICS_PORT}`,
    syncPeriodMs: 30_000,
    minSyncIntervalMs: options.minSyncIntervalMs ?? 200,
    nodePortAddresses: [],
    nodeAddresses: [options.address],
    proxier,
    logger,
  });
}
