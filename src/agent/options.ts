/**
 * `ferry agent` flags. {@link AGENT_FLAGS} defines each flag once: its spelling, help,
 * default, environment fallback, kube-proxy's spellings of it, and how its text becomes a
 * field of {@link AgentOptions}. commander reads the command line from that table (help,
 * unknown flags, missing values); the table's parsers then refuse a bad value naming the
 * flag (or the config file's field), the value and what is accepted, like the annotation
 * errors.
 *
 * Values are kept as text until every source has been read, then parsed once. A value comes
 * from, in order: the command line (ferry's spelling or kube-proxy's), the `--config` file
 * (kube-proxy's KubeProxyConfiguration, kube-proxy-config.ts), the environment, the default.
 * (kube-proxy itself ignores most flags when given --config; the agent lets them win and
 * says so in a warning.) Everything the agent does not use — a kube-proxy flag or field it
 * does not implement, an unknown feature gate — is named in one warning each.
 */
import { Command, CommanderError, Option, type AddHelpTextContext } from '@commander-js/extra-typings';
import { ConfigError, describeError } from '../errors';
import { readKubeProxyConfig, type FileOption, type KubeProxyFile } from './kube-proxy-config';
import { featureGateWarnings, IGNORED_KUBE_PROXY_FLAGS, REFUSED_KUBE_PROXY_FLAGS } from './kube-proxy-flags';
import { bind, bool, clusterCidrs, count, duration, gates, interfaceName, ipAddress, nodePortCidrs, oneOf, optional, optionalDuration, text, type Text } from './option-values';
import { DETECT_LOCAL_MODES, type DetectLocalMode } from './pod-traffic';
import { DEFAULT_SCHEDULER, SCHEDULERS } from './schedulers';
import { IPTABLES_BACKENDS, PROXY_MODES, type IptablesBackend, type ProxyMode, type Scheduler } from './types';

export { duration, networkOf } from './option-values';

export interface AgentOptions {
  mode: ProxyMode;
  nodeName: string;
  kubeconfig: string | undefined;
  /** `--config`: the kube-proxy configuration file read (already applied to the other options). */
  config: string | undefined;
  scheduler: Scheduler;
  /** `host:port`; undefined disables the server. */
  healthzBind: string | undefined;
  metricsBind: string | undefined;
  syncPeriodMs: number;
  minSyncIntervalMs: number;
  /** CIDRs; empty means the Node's InternalIPs. */
  nodePortAddresses: string[];
  /** `--bind-address`: this node's primary IP, in place of the Node's InternalIP of its family (kube-proxy's meaning). */
  bindAddress: string | undefined;
  /** `--iptables-backend`: iptables mode only. */
  iptablesBackend: IptablesBackend;
  /** `--cluster-cidr`: the pods' CIDRs, at most one per family. */
  clusterCIDRs: string[];
  /** `--detect-local-mode`; undefined: ClusterCIDR when --cluster-cidr is given, else none. */
  detectLocalMode: DetectLocalMode | undefined;
  bridgeInterface: string | undefined;
  interfaceNamePrefix: string | undefined;
  masqueradeAll: boolean;
  conntrackMaxPerCore: number | undefined;
  conntrackMin: number | undefined;
  conntrackTcpEstablishedTimeoutMs: number | undefined;
  conntrackTcpCloseWaitTimeoutMs: number | undefined;
  conntrackTcpBeLiberal: boolean;
  conntrackUdpTimeoutMs: number | undefined;
  conntrackUdpStreamTimeoutMs: number | undefined;
  featureGates: Record<string, boolean>;
  /** `--v`: kube-proxy's verbosity; 4 or more logs at debug level. */
  verbosity: number;
  cleanup: boolean;
}

/** Another spelling of a flag; `onlyIn`: it counts only in these modes (kube-proxy's --ipvs-sync-period). */
export type Alias = string | { flag: string; onlyIn: readonly ProxyMode[] };

export interface Flag<T> {
  /** commander's spelling: `--mode <mode>` takes a value, `--cleanup` is a switch, `--masquerade-all [bool]` either. */
  flags: string;
  description: string;
  /** As a user would write it; parsed like a given value, and shown in the help. */
  default?: string;
  /** Read when the flag is not given. */
  env?: { name: string; description: string };
  /** kube-proxy's spellings, accepted and listed in the help after the description. */
  aliases?: readonly Alias[];
  parse(text: Text, flag: string): T;
}

export const AGENT_FLAGS: { [K in keyof AgentOptions]: Flag<AgentOptions[K]> } = {
  mode: {
    flags: '--mode <mode>',
    description: `how Service traffic is programmed: ${PROXY_MODES.join(', ')}`,
    default: 'nftables',
    aliases: ['--proxy-mode'],
    parse: (value, flag) => oneOf(flag, text(value), PROXY_MODES),
  },
  nodeName: {
    flags: '--node-name <name>',
    description: 'the Node this agent runs on (required unless --cleanup)',
    env: { name: 'NODE_NAME', description: 'the Node this agent runs on, when --node-name is not given (the DaemonSet sets it from spec.nodeName)' },
    aliases: ['--hostname-override'],
    // Checked in checkTogether: whether it is required depends on --cleanup. kube-proxy
    // trims and lowercases --hostname-override (and the file's hostnameOverride).
    parse: (value, flag) => (flag === '--hostname-override' ? text(value).trim().toLowerCase() : text(value)),
  },
  kubeconfig: {
    flags: '--kubeconfig <file>',
    description: 'the kubeconfig to watch the cluster with (default: $KUBECONFIG, ~/.kube/config, then in-cluster)',
    parse: optional,
  },
  config: {
    flags: '--config <file>',
    description: "a kube-proxy configuration file (KubeProxyConfiguration, kubeproxy.config.k8s.io/v1alpha1, YAML or JSON); flags given win over it",
    parse: optional,
  },
  scheduler: {
    flags: '--scheduler <name>',
    description: `how ipvs and userspace modes spread connections (IPVS's schedulers): ${SCHEDULERS.join(', ')}`,
    default: DEFAULT_SCHEDULER,
    aliases: ['--ipvs-scheduler'],
    // kube-proxy's empty scheduler means its default, rr.
    parse: (value, flag) => oneOf(flag, text(value) === '' ? DEFAULT_SCHEDULER : text(value), SCHEDULERS),
  },
  healthzBind: {
    flags: '--healthz-bind <ip:port>',
    description: 'where /healthz and /livez are served (empty disables them)',
    default: '0.0.0.0:10256',
    aliases: ['--healthz-bind-address'],
    parse: (value, flag) => bind(flag, text(value)),
  },
  metricsBind: {
    flags: '--metrics-bind <ip:port>',
    description: 'where Prometheus /metrics is served (empty disables it)',
    default: '0.0.0.0:10249',
    aliases: ['--metrics-bind-address'],
    parse: (value, flag) => bind(flag, text(value)),
  },
  syncPeriodMs: {
    flags: '--sync-period <duration>',
    description: 'how often a full sync runs, whatever changed',
    default: '30s',
    aliases: ['--iptables-sync-period', { flag: '--ipvs-sync-period', onlyIn: ['ipvs'] }],
    parse: (value, flag) => {
      const ms = duration(flag, text(value));
      if (ms <= 0) throw new ConfigError(`${flag} ${JSON.stringify(value)} must be greater than zero`);
      return ms;
    },
  },
  minSyncIntervalMs: {
    flags: '--min-sync-interval <duration>',
    description: 'the least time between two syncs (changes arriving meanwhile are applied together)',
    default: '1s',
    aliases: ['--iptables-min-sync-period', { flag: '--ipvs-min-sync-period', onlyIn: ['ipvs'] }],
    parse: (value, flag) => duration(flag, text(value)),
  },
  nodePortAddresses: {
    flags: '--nodeport-addresses <cidrs>',
    description: "comma-separated CIDRs of the node addresses NodePorts answer on, or primary (the default: the Node's InternalIPs) or all",
    parse: (value, flag) => nodePortCidrs(flag, text(value)),
  },
  bindAddress: {
    flags: '--bind-address <ip>',
    description: "this node's primary IP, in place of the Node's InternalIP of that family, for NodePorts (0.0.0.0 and :: change nothing)",
    parse: (value, flag) => ipAddress(flag, text(value)),
  },
  iptablesBackend: {
    flags: '--iptables-backend <backend>',
    description: `iptables mode: which iptables to drive, ${IPTABLES_BACKENDS.join(', ')} (auto follows the host)`,
    default: 'auto',
    parse: (value, flag) => oneOf(flag, text(value), IPTABLES_BACKENDS),
  },
  clusterCIDRs: {
    flags: '--cluster-cidr <cidrs>',
    description: 'the pods\' CIDR (one per family, comma-separated): ClusterIP traffic from outside it is masqueraded',
    parse: (value, flag) => clusterCidrs(flag, text(value)),
  },
  detectLocalMode: {
    flags: '--detect-local-mode <mode>',
    description: `how traffic from pods is told from the rest: ${DETECT_LOCAL_MODES.join(', ')} (default: ClusterCIDR with --cluster-cidr)`,
    parse: (value, flag) => (text(value) === '' ? undefined : oneOf(flag, text(value), DETECT_LOCAL_MODES)),
  },
  bridgeInterface: {
    flags: '--pod-bridge-interface <name>',
    description: 'BridgeInterface mode: traffic coming in on this bridge is from pods',
    parse: (value, flag) => interfaceName(flag, text(value)),
  },
  interfaceNamePrefix: {
    flags: '--pod-interface-name-prefix <prefix>',
    description: 'InterfaceNamePrefix mode: traffic coming in on interfaces named so is from pods',
    parse: (value, flag) => interfaceName(flag, text(value)),
  },
  masqueradeAll: {
    flags: '--masquerade-all [bool]',
    description: 'masquerade every connection to a ClusterIP',
    parse: (value, flag) => bool(flag, value),
  },
  conntrackMaxPerCore: {
    flags: '--conntrack-max-per-core <n>',
    description: 'raise nf_conntrack_max to this many entries per CPU (at least --conntrack-min); 0 or unset leaves it',
    parse: (value, flag) => count(flag, value),
  },
  conntrackMin: {
    flags: '--conntrack-min <n>',
    description: 'the least nf_conntrack_max that --conntrack-max-per-core sets',
    parse: (value, flag) => count(flag, value),
  },
  conntrackTcpEstablishedTimeoutMs: {
    flags: '--conntrack-tcp-timeout-established <duration>',
    description: 'set nf_conntrack_tcp_timeout_established; unset leaves it',
    parse: (value, flag) => optionalDuration(flag, value),
  },
  conntrackTcpCloseWaitTimeoutMs: {
    flags: '--conntrack-tcp-timeout-close-wait <duration>',
    description: 'set nf_conntrack_tcp_timeout_close_wait; unset leaves it',
    parse: (value, flag) => optionalDuration(flag, value),
  },
  conntrackTcpBeLiberal: {
    flags: '--conntrack-tcp-be-liberal [bool]',
    description: 'set nf_conntrack_tcp_be_liberal to 1',
    parse: (value, flag) => bool(flag, value),
  },
  conntrackUdpTimeoutMs: {
    flags: '--conntrack-udp-timeout <duration>',
    description: 'set nf_conntrack_udp_timeout; unset leaves it',
    parse: (value, flag) => optionalDuration(flag, value),
  },
  conntrackUdpStreamTimeoutMs: {
    flags: '--conntrack-udp-timeout-stream <duration>',
    description: 'set nf_conntrack_udp_timeout_stream; unset leaves it',
    parse: (value, flag) => optionalDuration(flag, value),
  },
  featureGates: {
    flags: '--feature-gates <gates>',
    description: 'kube-proxy feature gates, Name=true|false,… (PreferSameTrafficDistribution is honoured; others known are always on; unknown ones are warned about)',
    parse: (value, flag) => gates(flag, text(value)),
  },
  verbosity: {
    flags: '-v, --v <level>',
    description: "kube-proxy's log verbosity; 4 or more logs at debug level (FERRY_LOG_LEVEL wins)",
    default: '0',
    parse: (value, flag) => {
      const level = Number(text(value));
      if (!Number.isInteger(level) || level < 0 || level > 10) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a verbosity: expected a whole number from 0 to 10`);
      return level;
    },
  },
  cleanup: {
    flags: '--cleanup',
    description: 'remove every rule, table and listener ferry owns (in every mode), then exit',
    parse: (value) => value === true,
  },
};

/** Variables the agent reads that belong to no flag. */
const ENVIRONMENT: ReadonlyArray<[string, string]> = [
  ['KUBECONFIG', 'the kubeconfig, when --kubeconfig is not given (then ~/.kube/config, then in-cluster)'],
  ['FERRY_LOG_LEVEL', 'log level: debug, info, warn or error (default: info)'],
];

const DESCRIPTION =
  "The node agent, ferry's kube-proxy: carries NodePort and ClusterIP traffic to each Service's endpoints. " +
  'Runs on every node (the DaemonSet of `ferry manifests`) until SIGTERM; the rules it applied stay in place when it stops. ' +
  "It takes kube-proxy's flags (listed after each of its own) and configuration file (--config).";

const aliasFlag = (alias: Alias) => (typeof alias === 'string' ? alias : alias.flag);

/** The `ferry agent` command line, without an action: help, unknown flags and missing values. */
export function agentCommand(name = 'ferry agent'): Command {
  // Extra words are refused by agentOptionsOf, naming them (commander would only count them).
  const command = new Command(name).description(DESCRIPTION).allowExcessArguments();
  const spelled = new Map<string, string>();
  const conditional = new Map<string, { value: Text; alias: string; onlyIn: readonly ProxyMode[] }>();
  for (const flag of Object.values(AGENT_FLAGS) as Array<Flag<unknown>>) {
    const aliases = flag.aliases ?? [];
    const suffix = aliases.length > 0 ? ` (kube-proxy: ${aliases.map((a) => (typeof a === 'string' ? a : `${a.flag} in ${a.onlyIn.join(', ')} mode`)).join(', ')})` : '';
    const option = new Option(flag.flags, flag.description + suffix);
    if (flag.default !== undefined) option.default(flag.default);
    command.addOption(option);
    // The last spelling given wins; its name is the one errors and warnings use.
    command.on(`option:${option.name()}`, () => spelled.delete(option.attributeName()));
    const value = flag.flags.slice(flag.flags.indexOf(option.long!) + option.long!.length);
    for (const alias of aliases) {
      const hidden = new Option(`${aliasFlag(alias)}${value}`).hideHelp();
      command.addOption(hidden);
      command.on(`option:${hidden.name()}`, (given: string | undefined) => {
        if (typeof alias === 'string') {
          command.setOptionValueWithSource(option.attributeName(), given ?? true, 'cli');
          spelled.set(option.attributeName(), alias);
        } else conditional.set(option.attributeName(), { value: given ?? true, alias: alias.flag, onlyIn: alias.onlyIn });
      });
    }
  }
  // kube-proxy's flags the agent does not use: accepted (one warning each), or refused.
  const ignored: Array<{ flag: string; value: Text }> = [];
  for (const kp of IGNORED_KUBE_PROXY_FLAGS) {
    const hidden = new Option(`${kp.flag} ${kp.value}`).hideHelp();
    command.addOption(hidden);
    command.on(`option:${hidden.name()}`, (given: string | undefined) => ignored.push({ flag: kp.flag, value: given ?? true }));
  }
  for (const kp of REFUSED_KUBE_PROXY_FLAGS) {
    const hidden = new Option(`${kp.flag} [value]`).hideHelp();
    command.addOption(hidden);
    command.on(`option:${hidden.name()}`, () => {
      throw new ConfigError(`${kp.flag} is not supported: ${kp.why}`);
    });
  }
  READ_STATE.set(command, { spelled, conditional, ignored });
  const variables: Array<[string, string]> = [
    ...(Object.values(AGENT_FLAGS) as Array<Flag<unknown>>).flatMap((f) => (f.env ? [[f.env.name, f.env.description] as [string, string]] : [])),
    ...ENVIRONMENT,
  ];
  const environment = environmentHelp(variables);
  return command.addHelpText('after', (context) => `${environment(context)}\n\n${ignoredHelp()}`);
}

/** What reading a command line recorded beside commander's values (which alias set what, kube-proxy flags ignored). */
const READ_STATE = new WeakMap<Command, { spelled: Map<string, string>; conditional: Map<string, { value: Text; alias: string; onlyIn: readonly ProxyMode[] }>; ignored: Array<{ flag: string; value: Text }> }>();

function ignoredHelp(): string {
  const names = IGNORED_KUBE_PROXY_FLAGS.map((f) => f.flag).join(', ');
  return `kube-proxy flags accepted and not used (each named in a warning): ${names}.\nRefused: ${REFUSED_KUBE_PROXY_FLAGS.map((f) => f.flag).join(', ')}.`;
}

export interface ResolvedOptions {
  options: AgentOptions;
  /** What the agent does not use, one line each: kube-proxy flags and fields, feature gates, flags overriding the file. */
  warnings: string[];
  /** Where each option's value came from: the flag as spelled, `--config FILE: field`, the variable, or `default`. */
  sources: Record<keyof AgentOptions, string>;
}

/** The options a parsed `ferry agent` command line gives; throws a ConfigError naming the flag. */
export function agentOptionsOf(command: Command, env: NodeJS.ProcessEnv = process.env): AgentOptions {
  return resolveAgentOptions(command, env).options;
}

/**
 * The options, from the command line, the `--config` file, the environment and the
 * defaults (in that order), with the warnings the agent logs when it starts.
 */
export function resolveAgentOptions(command: Command, env: NodeJS.ProcessEnv = process.env, read: (path: string) => KubeProxyFile = readKubeProxyConfig): ResolvedOptions {
  if (command.args.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(command.args[0])}: ferry agent takes only flags`);
  const state = READ_STATE.get(command) ?? { spelled: new Map(), conditional: new Map(), ignored: [] };
  const given = command.opts() as Record<string, Text>;
  const byFlags = new Map(command.options.map((o) => [o.flags, o]));
  const entries = Object.entries(AGENT_FLAGS) as Array<[keyof AgentOptions, Flag<unknown>]>;
  const warnings: string[] = [];
  const nameOf = (key: keyof AgentOptions) => byFlags.get(AGENT_FLAGS[key].flags)!.attributeName();
  const longOf = (key: keyof AgentOptions) => byFlags.get(AGENT_FLAGS[key].flags)!.long!;
  const fromCli = (key: keyof AgentOptions) => command.getOptionValueSource(nameOf(key)) === 'cli';

  // The file first: it is one of the sources of the rest.
  const configPath = fromCli('config') ? optional(given[nameOf('config')]) : undefined;
  const file = configPath === undefined ? undefined : read(configPath);
  if (file) warnings.push(...file.warnings);

  const texts = {} as Record<keyof AgentOptions, Text>;
  const sources = {} as Record<keyof AgentOptions, string>;
  for (const [key] of entries) {
    const name = nameOf(key);
    const fileValue = file?.values.get(key as FileOption);
    const envName = AGENT_FLAGS[key].env?.name;
    if (fromCli(key)) {
      texts[key] = given[name];
      sources[key] = state.spelled.get(name) ?? longOf(key);
      // kube-proxy ignores most flags when given --config; say that the agent does not.
      if (fileValue && key !== 'nodeName' && key !== 'verbosity') {
        warnings.push(`${sources[key]} ${JSON.stringify(given[name])} wins over --config ${file!.path}: ${fileValue.field} ${JSON.stringify(fileValue.text)} (kube-proxy would ignore the flag)`);
      }
    } else if (fileValue) {
      texts[key] = fileValue.text;
      sources[key] = `--config ${file!.path}: ${fileValue.field}`;
    } else if (envName !== undefined && env[envName] !== undefined) {
      texts[key] = env[envName];
      sources[key] = envName;
    } else {
      texts[key] = given[name];
      sources[key] = 'default';
    }
  }
  const parseOne = (key: keyof AgentOptions) => AGENT_FLAGS[key].parse(texts[key], sources[key] === 'default' ? longOf(key) : sources[key]);
  const options = {} as Record<keyof AgentOptions, unknown>;
  for (const [key] of entries) options[key] = parseOne(key);

  // kube-proxy's mode-bound spellings (--ipvs-sync-period) count only in their mode.
  for (const [key] of entries) {
    const pending = state.conditional.get(nameOf(key));
    if (!pending) continue;
    if (pending.onlyIn.includes(options.mode as ProxyMode)) {
      if (!fromCli(key)) {
        texts[key] = pending.value;
        sources[key] = pending.alias;
        options[key] = parseOne(key);
      }
    } else warnings.push(`${pending.alias} ${JSON.stringify(pending.value)} is not used: it applies in ${pending.onlyIn.join(', ')} mode, and the agent runs in ${String(options.mode)} mode (as kube-proxy)`);
  }
  for (const { flag, value } of state.ignored) {
    const kp = IGNORED_KUBE_PROXY_FLAGS.find((f) => f.flag === flag)!;
    if (!(kp.equivalent ?? []).includes(String(value))) warnings.push(`${flag} ${JSON.stringify(value)} is not used: ${kp.why}`);
  }
  warnings.push(...featureGateWarnings(options.featureGates as Record<string, boolean>, sources.featureGates === 'default' ? '--feature-gates' : sources.featureGates));
  const checked = checkTogether(options as unknown as AgentOptions, texts, sources, warnings);
  return { options: checked, warnings, sources };
}

/** `ferry agent` flags as AgentOptions; throws a ConfigError naming the flag, the value and what is accepted. */
export function parseAgentOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentOptions {
  return resolveArgv(argv, env).options;
}

/** {@link parseAgentOptions} with the warnings and sources (tests, and `--config` checks). */
export function resolveArgv(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, read?: (path: string) => KubeProxyFile): ResolvedOptions {
  const command = agentCommand()
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new ConfigError(err.message.replace(/^error: /, ''));
    throw err;
  }
  return resolveAgentOptions(command, env, read);
}

/** Rules between options; `labels` name where each value came from. */
function checkTogether(options: AgentOptions, texts: Record<keyof AgentOptions, Text>, labels: Record<keyof AgentOptions, string>, warnings: string[]): AgentOptions {
  const { nodeName } = options;
  const label = (key: keyof AgentOptions, fallback: string) => (labels[key] === 'default' ? fallback : labels[key]);
  if (!options.cleanup && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    throw new ConfigError(
      nodeName === ''
        ? '--node-name is required (or --hostname-override, hostnameOverride in --config, or NODE_NAME in the environment): the name of the Node this agent runs on'
        : `${label('nodeName', '--node-name')} ${JSON.stringify(nodeName)} is not a valid Node name: expected a DNS subdomain (lowercase letters, digits, '-' and '.')`,
    );
  }
  if (options.minSyncIntervalMs > options.syncPeriodMs) {
    throw new ConfigError(
      `${label('minSyncIntervalMs', '--min-sync-interval')} ${JSON.stringify(texts.minSyncIntervalMs)} must not exceed ${label('syncPeriodMs', '--sync-period')} ${JSON.stringify(texts.syncPeriodMs)}`,
    );
  }
  // kube-proxy's validation: the named interface must be given with its mode.
  if (options.detectLocalMode === 'BridgeInterface' && !options.bridgeInterface) {
    throw new ConfigError(`${label('detectLocalMode', '--detect-local-mode')} BridgeInterface needs the bridge: --pod-bridge-interface (detectLocal.bridgeInterface in --config)`);
  }
  if (options.detectLocalMode === 'InterfaceNamePrefix' && !options.interfaceNamePrefix) {
    throw new ConfigError(`${label('detectLocalMode', '--detect-local-mode')} InterfaceNamePrefix needs the prefix: --pod-interface-name-prefix (detectLocal.interfaceNamePrefix in --config)`);
  }
  if (options.detectLocalMode === 'ClusterCIDR' && options.clusterCIDRs.length === 0) {
    warnings.push(`${label('detectLocalMode', '--detect-local-mode')} ClusterCIDR without --cluster-cidr (clusterCIDR in --config): pod traffic is not told apart, so ClusterIP traffic is not masqueraded (as kube-proxy)`);
  }
  return options;
}

// The conventions every ferry command keeps, here because the agent's own entry point must
// not load src/cli/ (which uses them too).

/**
 * Runs a command as users expect: --help exits 0; a usage error (unknown flag, missing or
 * invalid value) or a configuration error exits 2 naming what is wrong; any other failure
 * exits 1. `define` builds the command; its action reports the exit code through `exit`
 * (commander drops what an action returns).
 */
export async function runCommand(argv: readonly string[], define: (exit: (code: number) => void) => Command<any, any, any>): Promise<number> {
  let code = 0;
  const command = define((c) => (code = c));
  const name = command.name();
  command
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`${name}: ${message.replace(/^error: /, '')}`) })
    .showHelpAfterError(`(run "${name} --help" for usage)`);
  try {
    await command.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    // commander has printed its message already; its exit code 0 is --help or --version.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    console.error(`${name}: ${describeError(err)}`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

/** The "Environment variables:" part of a help text, laid out as commander lays out the options. */
export function environmentHelp(variables: ReadonlyArray<readonly [string, string]>): (context: AddHelpTextContext) => string {
  return ({ command }) => {
    const help = command.createHelp();
    const width = Math.max(help.padWidth(command, help), ...variables.map(([name]) => name.length));
    const items = variables.map(([name, meaning]) => help.formatItem(name, width, meaning, help));
    return `\n${help.formatItemList('Environment variables:', items, help).join('\n').trimEnd()}`;
  };
}
