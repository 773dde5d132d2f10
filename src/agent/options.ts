/**
 * `ferry agent` flags. {@link AGENT_FLAGS} defines each flag once: its spelling, help,
 * default, environment fallback, other spellings, and how its text becomes a field of
 * {@link AgentOptions}. commander reads the command line from that table (help, unknown
 * flags, missing values); the table's parsers then refuse a bad value naming the flag, the
 * value and what is accepted, like the annotation errors.
 *
 * Values are kept as text until every source has been read, so a later source of values
 * (kube-proxy's spellings as `aliases`, a `--config` file read where the source of a value
 * is still 'default') fits between reading and parsing without touching the parsers.
 */
import { Command, CommanderError, Option, type AddHelpTextContext } from '@commander-js/extra-typings';
import { ConfigError, describeError } from '../errors';
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

/** A flag's text as read: a string for a flag with a value, true or false for a switch, undefined when absent. */
type Text = string | boolean | undefined;

export interface Flag<T> {
  /** commander's spelling: `--mode <mode>` takes a value, `--cleanup` is a switch. */
  flags: string;
  description: string;
  /** As a user would write it; parsed like a given value, and shown in the help. */
  default?: string;
  /** Read when the flag is not given. */
  env?: { name: string; description: string };
  /** Other spellings, accepted and left out of the help (kube-proxy's, for a drop-in). */
  aliases?: readonly string[];
  parse(text: Text, flag: string): T;
}

const text = (value: Text): string => (typeof value === 'string' ? value : '');

export const AGENT_FLAGS: { [K in keyof AgentOptions]: Flag<AgentOptions[K]> } = {
  mode: {
    flags: '--mode <mode>',
    description: `how Service traffic is programmed: ${PROXY_MODES.join(', ')}`,
    default: 'nftables',
    parse: (value, flag) => oneOf(flag, text(value), PROXY_MODES),
  },
  nodeName: {
    flags: '--node-name <name>',
    description: 'the Node this agent runs on (required unless --cleanup)',
    env: { name: 'NODE_NAME', description: 'the Node this agent runs on, when --node-name is not given (the DaemonSet sets it from spec.nodeName)' },
    // Checked in checkTogether: whether it is required depends on --cleanup.
    parse: (value) => text(value),
  },
  kubeconfig: {
    flags: '--kubeconfig <file>',
    description: 'the kubeconfig to watch the cluster with (default: $KUBECONFIG, ~/.kube/config, then in-cluster)',
    parse: (value) => (typeof value === 'string' && value !== '' ? value : undefined),
  },
  scheduler: {
    flags: '--scheduler <name>',
    description: `how ipvs and userspace modes spread connections (IPVS's schedulers): ${SCHEDULERS.join(', ')}`,
    default: DEFAULT_SCHEDULER,
    parse: (value, flag) => oneOf(flag, text(value), SCHEDULERS),
  },
  healthzBind: {
    flags: '--healthz-bind <ip:port>',
    description: 'where /healthz and /livez are served (empty disables them)',
    default: '0.0.0.0:10256',
    parse: (value, flag) => bind(flag, text(value)),
  },
  metricsBind: {
    flags: '--metrics-bind <ip:port>',
    description: 'where Prometheus /metrics is served (empty disables it)',
    default: '0.0.0.0:10249',
    parse: (value, flag) => bind(flag, text(value)),
  },
  syncPeriodMs: {
    flags: '--sync-period <duration>',
    description: 'how often a full sync runs, whatever changed',
    default: '30s',
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
    parse: (value, flag) => duration(flag, text(value)),
  },
  nodePortAddresses: {
    flags: '--nodeport-addresses <cidrs>',
    description: "comma-separated CIDRs of the node addresses NodePorts answer on (default: the Node's InternalIPs)",
    parse: (value, flag) => cidrs(flag, text(value)),
  },
  iptablesBackend: {
    flags: '--iptables-backend <backend>',
    description: `iptables mode: which iptables to drive, ${IPTABLES_BACKENDS.join(', ')} (auto follows the host)`,
    default: 'auto',
    parse: (value, flag) => oneOf(flag, text(value), IPTABLES_BACKENDS),
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
  'Runs on every node (the DaemonSet of `ferry manifests`) until SIGTERM; the rules it applied stay in place when it stops.';

/** The `ferry agent` command line, without an action: help, unknown flags and missing values. */
export function agentCommand(name = 'ferry agent'): Command {
  // Extra words are refused by agentOptionsOf, naming them (commander would only count them).
  const command = new Command(name).description(DESCRIPTION).allowExcessArguments();
  for (const flag of Object.values(AGENT_FLAGS) as Array<Flag<unknown>>) {
    const option = new Option(flag.flags, flag.description);
    if (flag.default !== undefined) option.default(flag.default);
    command.addOption(option);
    const value = flag.flags.slice(option.long!.length);
    for (const alias of flag.aliases ?? []) {
      const hidden = new Option(`${alias}${value}`).hideHelp();
      command.addOption(hidden);
      command.on(`option:${hidden.name()}`, (given: string | undefined) => command.setOptionValueWithSource(option.attributeName(), given ?? true, 'cli'));
    }
  }
  const variables: Array<[string, string]> = [
    ...(Object.values(AGENT_FLAGS) as Array<Flag<unknown>>).flatMap((f) => (f.env ? [[f.env.name, f.env.description] as [string, string]] : [])),
    ...ENVIRONMENT,
  ];
  return command.addHelpText('after', environmentHelp(variables));
}

/** The options a parsed `ferry agent` command line gives; throws a ConfigError naming the flag. */
export function agentOptionsOf(command: Command, env: NodeJS.ProcessEnv = process.env): AgentOptions {
  if (command.args.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(command.args[0])}: ferry agent takes only flags`);
  const given = command.opts() as Record<string, Text>;
  const byFlags = new Map(command.options.map((o) => [o.flags, o]));
  const options = {} as Record<keyof AgentOptions, unknown>;
  const texts = {} as Record<keyof AgentOptions, Text>;
  for (const [key, flag] of Object.entries(AGENT_FLAGS) as Array<[keyof AgentOptions, Flag<unknown>]>) {
    const option = byFlags.get(flag.flags)!;
    const name = option.attributeName();
    texts[key] = flag.env && command.getOptionValueSource(name) === undefined ? env[flag.env.name] : given[name];
    options[key] = flag.parse(texts[key], option.long!);
  }
  return checkTogether(options as unknown as AgentOptions, texts);
}

/** `ferry agent` flags as AgentOptions; throws a ConfigError naming the flag, the value and what is accepted. */
export function parseAgentOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentOptions {
  const command = agentCommand()
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new ConfigError(err.message.replace(/^error: /, ''));
    throw err;
  }
  return agentOptionsOf(command, env);
}

/** Rules between flags. */
function checkTogether(options: AgentOptions, texts: Record<keyof AgentOptions, Text>): AgentOptions {
  const { nodeName } = options;
  if (!options.cleanup && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    throw new ConfigError(
      nodeName === ''
        ? '--node-name is required (or NODE_NAME in the environment): the name of the Node this agent runs on'
        : `--node-name ${JSON.stringify(nodeName)} is not a valid Node name: expected a DNS subdomain (lowercase letters, digits, '-' and '.')`,
    );
  }
  if (options.minSyncIntervalMs > options.syncPeriodMs) {
    throw new ConfigError(
      `--min-sync-interval ${JSON.stringify(texts.minSyncIntervalMs)} must not exceed --sync-period ${JSON.stringify(texts.syncPeriodMs)}`,
    );
  }
  return options;
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
