/**
 * `ferry agent` flags, parsed with node:util parseArgs. Every refusal names the flag, the
 * value and what is accepted, like the annotation errors.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors';
import { parseDuration } from '../util/duration';
import { parseCidr, parseHostPort } from '../util/net';
import { DEFAULT_SCHEDULER, SCHEDULERS } from './schedulers';
import { IPTABLES_BACKENDS, PROXY_MODES, type IptablesBackend, type ProxyMode, type Scheduler } from './types';


export interface AgentOptions {
  mode: ProxyMode;
  nodeName: string;
  kubeconfig: string | undefined;
  scheduler: Scheduler;
  /** `host:port`; undefined disables the server. */
  healthzBind: string | undefined;
  metricsBind: string | undefined;
  syncPeriodMs: number;
  minSyncIntervalMs: number;
  /** CIDRs; empty means the Node's InternalIPs. */
  nodePortAddresses: string[];
  /** `--iptables-backend`: iptables mode only. */
  iptablesBackend: IptablesBackend;
  cleanup: boolean;
}

export const USAGE = `usage: ferry agent --node-name NAME [--mode nftables|iptables|ipvs|userspace] [--kubeconfig FILE]
                   [--scheduler rr|lc|dh|sh|sed|nq] [--healthz-bind 0.0.0.0:10256] [--metrics-bind 0.0.0.0:10249]
                   [--sync-period 30s] [--min-sync-interval 1s] [--nodeport-addresses CIDR,...]
                   [--iptables-backend auto|legacy|nft] [--cleanup]`;

const FLAGS = {
  mode: { type: 'string', default: 'nftables' },
  'node-name': { type: 'string' },
  kubeconfig: { type: 'string' },
  scheduler: { type: 'string', default: DEFAULT_SCHEDULER },
  'healthz-bind': { type: 'string', default: '0.0.0.0:10256' },
  'metrics-bind': { type: 'string', default: '0.0.0.0:10249' },
  'sync-period': { type: 'string', default: '30s' },
  'min-sync-interval': { type: 'string', default: '1s' },
  'nodeport-addresses': { type: 'string', default: '' },
  'iptables-backend': { type: 'string', default: 'auto' },
  cleanup: { type: 'boolean', default: false },
} as const;

export function parseAgentOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
  const str = (name: keyof typeof FLAGS) => values[name] as string;
  const mode = oneOf('--mode', str('mode'), PROXY_MODES);
  const scheduler = oneOf('--scheduler', str('scheduler'), SCHEDULERS);
  const cleanup = values.cleanup === true;
  const nodeName = (values['node-name'] as string | undefined) ?? env.NODE_NAME ?? '';
  if (!cleanup && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    throw new ConfigError(
      nodeName === ''
        ? '--node-name is required (or NODE_NAME in the environment): the name of the Node this agent runs on'
        : `--node-name ${JSON.stringify(nodeName)} is not a valid Node name: expected a DNS subdomain (lowercase letters, digits, '-' and '.')`,
    );
  }
  const syncPeriodMs = duration('--sync-period', str('sync-period'));
  const minSyncIntervalMs = duration('--min-sync-interval', str('min-sync-interval'));
  if (syncPeriodMs <= 0) throw new ConfigError(`--sync-period ${JSON.stringify(str('sync-period'))} must be greater than zero`);
  if (minSyncIntervalMs > syncPeriodMs) {
    throw new ConfigError(`--min-sync-interval ${JSON.stringify(str('min-sync-interval'))} must not exceed --sync-period ${JSON.stringify(str('sync-period'))}`);
  }
  return {
    mode,
    nodeName,
    kubeconfig: values.kubeconfig as string | undefined,
    scheduler,
    healthzBind: bind('--healthz-bind', str('healthz-bind')),
    metricsBind: bind('--metrics-bind', str('metrics-bind')),
    syncPeriodMs,
    minSyncIntervalMs,
    nodePortAddresses: cidrs('--nodeport-addresses', str('nodeport-addresses')),
    iptablesBackend: oneOf('--iptables-backend', str('iptables-backend'), IPTABLES_BACKENDS),
    cleanup,
  };
}

function oneOf<T extends string>(flag: string, value: string, accepted: readonly T[]): T {
  if ((accepted as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${flag} ${JSON.stringify(value)} is not supported: expected one of ${accepted.join(', ')}`);
}

/** Go-style durations as kube-proxy takes them: `30s`, `1m30s`, `500ms`, `0s`. */
export function duration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a duration: expected e.g. 30s, 1m30s or 500ms`);
  return ms;
}

function bind(flag: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (!parseHostPort(value, { ipOnly: true })) {
    throw new ConfigError(`${flag} ${JSON.stringify(value)} is not an address to listen on: expected IP:port such as 0.0.0.0:10256 or [::]:10256 (empty disables it)`);
  }
  return value;
}

function cidrs(flag: string, value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const cidr of list) {
    if (!parseCidr(cidr)) {
      throw new ConfigError(`${flag} entry ${JSON.stringify(cidr)} is not a CIDR: expected comma-separated CIDRs such as 10.0.0.0/8,fd00::/64`);
    }
  }
  return list;
}
