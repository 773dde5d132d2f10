/**
 * `ferry agent --config FILE`: kube-proxy's configuration file (`KubeProxyConfiguration`,
 * `kubeproxy.config.k8s.io/v1alpha1`, YAML or JSON), read into the same text form the
 * flags take (options.ts parses both with one set of parsers, so a bad value is refused
 * the same way, naming the file and the field).
 *
 * Every field of kube-proxy's schema (k8s.io/kube-proxy/config/v1alpha1/types.go) is in
 * {@link FIELDS}: mapped to an agent option, or described as what ferry does instead. Fields
 * ferry does not implement are named in one warning each (with their value), unless the
 * value is empty, zero, false, null or kube-proxy's own default (a serialised config —
 * kubeadm's — writes every field, so those carry no intent). A field outside the schema is
 * named in a warning too, as kube-proxy's lenient decoding logs the strict error and goes
 * on. A wrong `apiVersion` or `kind`, or a value of the wrong type, is a usage error.
 *
 * As kube-proxy's v1alpha1 conversion (pkg/proxy/apis/config/v1alpha1/conversion.go), the
 * sync periods and `masqueradeAll` come from the section of the file's `mode`: `ipvs`,
 * `nftables`, else `iptables`.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigError } from '../errors';

export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KUBE_PROXY_KIND = 'KubeProxyConfiguration';

/** The agent options a file can set (a subset of AgentOptions' keys; options.ts checks). */
export type FileOption =
  | 'mode'
  | 'nodeName'
  | 'kubeconfig'
  | 'scheduler'
  | 'healthzBind'
  | 'metricsBind'
  | 'syncPeriodMs'
  | 'minSyncIntervalMs'
  | 'nodePortAddresses'
  | 'bindAddress'
  | 'clusterCIDRs'
  | 'detectLocalMode'
  | 'bridgeInterface'
  | 'interfaceNamePrefix'
  | 'masqueradeAll'
  | 'conntrackMaxPerCore'
  | 'conntrackMin'
  | 'conntrackTcpEstablishedTimeoutMs'
  | 'conntrackTcpCloseWaitTimeoutMs'
  | 'conntrackTcpBeLiberal'
  | 'conntrackUdpTimeoutMs'
  | 'conntrackUdpStreamTimeoutMs'
  | 'featureGates'
  | 'verbosity';

/** A value from the file, as text for the option's parser, with the field it came from. */
export interface FileValue {
  text: string | boolean;
  field: string;
}

export interface KubeProxyFile {
  path: string;
  values: Map<FileOption, FileValue>;
  /** One line per field not used, each naming the field and its value. */
  warnings: string[];
}

type Kind = 'string' | 'boolean' | 'integer' | 'number' | 'duration' | 'list' | 'boolMap' | 'any';

/** How one field is taken: into an option (`to`), or not (`not`: what ferry does instead). */
type Rule = { kind: Kind } & (
  | { to: FileOption; text?: (value: unknown) => string | boolean | undefined; section?: 'iptables' | 'ipvs' | 'nftables' }
  | { not: string; default?: unknown }
);

const DEFAULT_HEALTHZ_PORT = 10256;
const DEFAULT_METRICS_PORT = 10249;

/** kube-proxy appends its default port to an address without one (proxyutil.AppendPortIfNeeded). */
const withPort = (port: number) => (value: unknown) => {
  const text = String(value);
  if (text === '') return undefined;
  if (isIP(text) === 4) return `${text}:${port}`;
  if (isIP(text) === 6) return `[${text}]:${port}`;
  return text;
};

const section = (name: 'iptables' | 'ipvs' | 'nftables'): Record<string, Rule> => ({
  syncPeriod: { kind: 'duration', to: 'syncPeriodMs', section: name },
  minSyncPeriod: { kind: 'duration', to: 'minSyncIntervalMs', section: name },
});

const WINDOWS = 'Windows (winkernel) only';

/** kube-proxy's v1alpha1 schema, field by field. */
export const FIELDS: Record<string, Rule | Record<string, Rule>> = {
  featureGates: { kind: 'boolMap', to: 'featureGates', text: (v) => Object.entries(v as Record<string, boolean>).map(([k, b]) => `${k}=${b}`).join(',') },
  clientConnection: {
    kubeconfig: { kind: 'string', to: 'kubeconfig' },
    acceptContentTypes: { kind: 'string', not: 'the agent asks the API server for JSON' },
    contentType: { kind: 'string', not: 'the agent asks the API server for JSON', default: 'application/vnd.kubernetes.protobuf' },
    qps: { kind: 'number', not: 'the agent lists once and then watches: it has no client-side rate limit', default: 5 },
    burst: { kind: 'integer', not: 'the agent lists once and then watches: it has no client-side rate limit', default: 10 },
  },
  logging: {
    format: { kind: 'string', not: 'the agent logs JSON lines (pino); FERRY_LOG_LEVEL sets the level', default: 'json' },
    flushFrequency: { kind: 'any', not: 'the agent writes each log line at once', default: '5s' },
    verbosity: { kind: 'integer', to: 'verbosity' },
    vmodule: { kind: 'any', not: 'the agent has one log level' },
    options: { kind: 'any', not: "klog's buffer options do not apply to the agent's logger" },
  },
  hostnameOverride: { kind: 'string', to: 'nodeName', text: (v) => String(v).trim().toLowerCase() || undefined },
  bindAddress: { kind: 'string', to: 'bindAddress' },
  healthzBindAddress: { kind: 'string', to: 'healthzBind', text: withPort(DEFAULT_HEALTHZ_PORT) },
  metricsBindAddress: { kind: 'string', to: 'metricsBind', text: withPort(DEFAULT_METRICS_PORT) },
  // ferry always stops when it cannot bind a port, so `true` is what it does.
  bindAddressHardFail: { kind: 'boolean', not: 'the agent always exits when it cannot bind its health or metrics port', default: true },
  enableProfiling: { kind: 'boolean', not: 'the agent serves no /debug/pprof' },
  showHiddenMetricsForVersion: { kind: 'string', not: 'the agent hides no metrics' },
  mode: { kind: 'string', to: 'mode' },
  iptables: {
    ...section('iptables'),
    masqueradeAll: { kind: 'boolean', to: 'masqueradeAll', section: 'iptables' },
    masqueradeBit: { kind: 'integer', not: 'the agent always marks with bit 14 (0x4000)', default: 14 },
    localhostNodePorts: { kind: 'boolean', not: 'the agent never serves NodePorts on 127.0.0.1', default: false },
    snatNodeInternalIP: { kind: 'boolean', not: 'the agent masquerades to the outgoing interface address' },
  },
  ipvs: {
    ...section('ipvs'),
    scheduler: { kind: 'string', to: 'scheduler' },
    excludeCIDRs: { kind: 'list', not: 'the agent removes only virtual servers on its own addresses' },
    // ferry's ipvs mode always sets arp_ignore=1 and arp_announce=2.
    strictARP: { kind: 'boolean', not: 'the agent always sets strict ARP in ipvs mode', default: true },
    tcpTimeout: { kind: 'duration', not: 'the agent leaves the IPVS timeouts as they are' },
    tcpFinTimeout: { kind: 'duration', not: 'the agent leaves the IPVS timeouts as they are' },
    udpTimeout: { kind: 'duration', not: 'the agent leaves the IPVS timeouts as they are' },
  },
  nftables: {
    ...section('nftables'),
    masqueradeAll: { kind: 'boolean', to: 'masqueradeAll', section: 'nftables' },
    masqueradeBit: { kind: 'integer', not: 'the agent always marks with bit 14 (0x4000)', default: 14 },
  },
  winkernel: {
    networkName: { kind: 'string', not: WINDOWS },
    sourceVip: { kind: 'string', not: WINDOWS },
    enableDSR: { kind: 'boolean', not: WINDOWS },
    rootHnsEndpointName: { kind: 'string', not: WINDOWS },
    forwardHealthCheckVip: { kind: 'boolean', not: WINDOWS },
  },
  detectLocalMode: { kind: 'string', to: 'detectLocalMode' },
  detectLocal: {
    bridgeInterface: { kind: 'string', to: 'bridgeInterface' },
    interfaceNamePrefix: { kind: 'string', to: 'interfaceNamePrefix' },
  },
  clusterCIDR: { kind: 'string', to: 'clusterCIDRs' },
  nodePortAddresses: { kind: 'list', to: 'nodePortAddresses', text: (v) => (v as string[]).join(',') || undefined },
  oomScoreAdj: { kind: 'integer', not: "set the agent's oom_score_adj in its Pod spec", default: -999 },
  conntrack: {
    maxPerCore: { kind: 'integer', to: 'conntrackMaxPerCore' },
    min: { kind: 'integer', to: 'conntrackMin' },
    tcpEstablishedTimeout: { kind: 'duration', to: 'conntrackTcpEstablishedTimeoutMs' },
    tcpCloseWaitTimeout: { kind: 'duration', to: 'conntrackTcpCloseWaitTimeoutMs' },
    tcpBeLiberal: { kind: 'boolean', to: 'conntrackTcpBeLiberal' },
    udpTimeout: { kind: 'duration', to: 'conntrackUdpTimeoutMs' },
    udpStreamTimeout: { kind: 'duration', to: 'conntrackUdpStreamTimeoutMs' },
  },
  configSyncPeriod: { kind: 'duration', not: 'the agent watches without relisting on a timer', default: '15m0s' },
  portRange: { kind: 'string', not: 'unused by kube-proxy as well (it configured the removed userspace proxy)' },
  windowsRunAsService: { kind: 'boolean', not: WINDOWS },
};

const isRule = (entry: Rule | Record<string, Rule>): entry is Rule => typeof (entry as Rule).kind === 'string';

/** Empty, zero, false, null, `0s`, or a list or object of such: a value that carries no intent. */
export function isZero(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === 0 || value === false) return true;
  if (typeof value === 'string') return /^0+(\.0+)?(ns|us|µs|ms|s|m|h)?$/.test(value) || /^(0+(ns|us|µs|ms|s|m|h))+$/.test(value);
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isZero);
  return false;
}

/** A value as a message shows it: quoted and escaped, capped. */
export function shownValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** Whether a value has the kind a field needs. */
function hasKind(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case 'string':
    case 'duration':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'boolMap':
      return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'boolean');
    case 'any':
      return true;
  }
}

const KIND_TEXT: Record<Kind, string> = {
  string: 'a string',
  duration: 'a duration such as 30s or 1h0m0s',
  boolean: 'true or false',
  integer: 'a whole number',
  number: 'a number',
  list: 'a list of strings',
  boolMap: 'a map of feature gate names to true or false',
  any: 'any value',
};

/**
 * The options and warnings of a parsed file. `label` names the file in messages. Pure:
 * {@link readKubeProxyConfig} reads and parses the file.
 */
export function kubeProxyConfigOf(doc: unknown, label: string): KubeProxyFile {
  const fail = (message: string): never => {
    throw new ConfigError(`--config ${label}: ${message}`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    fail(`expected one ${KUBE_PROXY_KIND} object (YAML or JSON), got ${shownValue(doc)}`);
  }
  const top = doc as Record<string, unknown>;
  if (top.apiVersion !== KUBE_PROXY_API_VERSION) fail(`apiVersion ${shownValue(top.apiVersion)} is not supported: expected ${KUBE_PROXY_API_VERSION}`);
  if (top.kind !== KUBE_PROXY_KIND) fail(`kind ${shownValue(top.kind)} is not supported: expected ${KUBE_PROXY_KIND}`);
  const values = new Map<FileOption, FileValue>();
  const warnings: string[] = [];
  // The section the sync periods and masqueradeAll are read from (kube-proxy's conversion).
  const mode = typeof top.mode === 'string' ? top.mode : '';
  const modeSection = mode === 'ipvs' ? 'ipvs' : mode === 'nftables' ? 'nftables' : 'iptables';

  const take = (field: string, rule: Rule, value: unknown) => {
    // null is how a serialised config writes "unset" (kubeadm's `maxPerCore: null`).
    if (value === null) return;
    if (!hasKind(rule.kind, value)) fail(`${field} ${shownValue(value)} is not ${KIND_TEXT[rule.kind]}`);
    if ('not' in rule) {
      if (!isZero(value) && !(rule.default !== undefined && JSON.stringify(rule.default) === JSON.stringify(value))) {
        warnings.push(`--config ${label}: ${field} ${shownValue(value)} is not used: ${rule.not}`);
      }
      return;
    }
    if (rule.section !== undefined && rule.section !== modeSection) {
      if (!isZero(value)) warnings.push(`--config ${label}: ${field} ${shownValue(value)} is not used: mode ${shownValue(mode)} reads ${modeSection}.${field.split('.')[1]}, as kube-proxy does`);
      return;
    }
    // Zero means "kube-proxy's default" in a serialised config: the option keeps ferry's.
    // (A map of feature gates set to false is not zero: each gate says something.)
    if (rule.kind !== 'boolMap' && isZero(value)) return;
    const text = rule.text ? rule.text(value) : typeof value === 'boolean' ? value : String(value);
    if (text !== undefined && text !== '') values.set(rule.to, { text, field });
  };

  for (const [key, value] of Object.entries(top)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    const entry = FIELDS[key];
    if (entry === undefined) {
      warnings.push(`--config ${label}: ${key} ${shownValue(value)} is not a field of ${KUBE_PROXY_KIND} ${KUBE_PROXY_API_VERSION}; ignored`);
      continue;
    }
    if (isRule(entry)) {
      take(key, entry, value);
      continue;
    }
    if (value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) fail(`${key} ${shownValue(value)} is not an object`);
    for (const [sub, subValue] of Object.entries(value as Record<string, unknown>)) {
      const rule = entry[sub];
      if (rule === undefined) warnings.push(`--config ${label}: ${key}.${sub} ${shownValue(subValue)} is not a field of ${KUBE_PROXY_KIND} ${KUBE_PROXY_API_VERSION}; ignored`);
      else take(`${key}.${sub}`, rule, subValue);
    }
  }
  if (mode === '' && 'mode' in top) {
    // kube-proxy's default mode is iptables; ferry's is nftables. Say so: it changes which
    // rules the node gets.
    warnings.push(`--config ${label}: mode "" means kube-proxy's default (iptables); the agent uses its own default (nftables) unless --mode or mode says otherwise`);
  }
  return { path: label, values, warnings };
}

/** Reads and parses the file (YAML, of which JSON is a subset): one document. */
export function readKubeProxyConfig(path: string): KubeProxyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config ${JSON.stringify(path)}: cannot read it: ${(err as Error).message}`);
  }
  // Loaded here, not at the top: only a run with --config pays for the YAML parser.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadAll } = require('js-yaml') as typeof import('js-yaml');
  let docs: unknown[];
  try {
    docs = loadAll(text).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new ConfigError(`--config ${JSON.stringify(path)}: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (docs.length !== 1) throw new ConfigError(`--config ${JSON.stringify(path)}: expected one ${KUBE_PROXY_KIND} document, found ${docs.length}`);
  return kubeProxyConfigOf(docs[0], JSON.stringify(path));
}
