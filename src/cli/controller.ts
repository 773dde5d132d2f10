import { Command } from '@commander-js/extra-typings';
import { runCommand } from '../agent/options';
import { ConfigError } from '../errors';
import { parseDuration } from '../util/duration';
import { parseHostPort, type HostPort } from '../util/net';
import { environment, RECONCILER_VARIABLES } from './environment';
import { checkedOption, decimal, wholeNumber } from './flags';

/* eslint-disable @typescript-eslint/no-require-imports -- the controller is loaded when the command runs, so that --help and usage errors answer at once */

/**
 * `ferry controller [--listen HOST:PORT] [--tls-cert F --tls-key F | --tls-san NAMES]
 * [--token T] [--workers N] [--resync 5m] [--watch]` — runs until SIGINT/SIGTERM.
 */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry controller')
      .description(
        'Run the serverless core as one long-running process: the admission webhook over HTTPS, an in-process queue, reconcile workers and a periodic resync; with --watch it also watches Services and Nodes itself. Runs until SIGTERM.',
      )
      .addOption(checkedOption('--listen <host:port>', 'where the webhook listens', 'HOST:PORT such as 0.0.0.0:8443', (t) => parseHostPort(t)).default({ host: '0.0.0.0', port: 8443 }, '0.0.0.0:8443'))
      .option('--tls-cert <file>', "the webhook's certificate (PEM); with --tls-key")
      .option('--tls-key <file>', "the webhook's private key (PEM); with --tls-cert")
      .option('--tls-san <names>', 'without --tls-cert: comma-separated names of the generated self-signed certificate', 'localhost,127.0.0.1')
      .option('--token <token>', 'the webhook token, at least 16 characters (default: $FERRY_WEBHOOK_TOKEN)')
      .addOption(checkedOption('--workers <n>', 'reconciles in parallel', 'a whole number from 1 to 64', wholeNumber(1, 64)).default(4))
      .addOption(
        checkedOption('--resync <duration>', 'how often the resync sweeps AWS and queues what changed and its share of deep checks', 'a duration of at least 10s, such as 5m', (t) => {
          const ms = parseDuration(t);
          return ms !== undefined && ms >= 10_000 ? ms : undefined;
        }).default(300_000, '5m'),
      )
      .addOption(
        checkedOption('--read-budget <reads/s>', "ELBv2 reads per second the resync's deep checks may average (default: $FERRY_READ_BUDGET, else 1)", 'a number from 0.01 to 10, such as 0.5', decimal(0.01, 10)),
      )
      .option('--watch', 'also watch Services and Nodes (works before any webhook is configured)')
      .addHelpText('after', environment(...RECONCILER_VARIABLES, 'FERRY_READ_BUDGET', 'FERRY_CONTROLLER_USERNAMES', 'FERRY_WEBHOOK_TOKEN', 'FERRY_LOG_LEVEL'))
      .action(async (options) => exit(await controller({ ...options, watch: options.watch ?? false }))),
  );
}

interface Options {
  listen: HostPort;
  tlsCert?: string;
  tlsKey?: string;
  tlsSan: string;
  token?: string;
  workers: number;
  resync: number;
  readBudget?: number;
  watch: boolean;
}

async function controller(options: Options): Promise<number> {
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together; give both or neither (then a self-signed pair is generated)');
  const token = options.token ?? process.env.FERRY_WEBHOOK_TOKEN;
  // The token is a secret: the refusal does not repeat it.
  if (!token || token.length < 16) throw new ConfigError('a webhook token of at least 16 characters is required: --token or FERRY_WEBHOOK_TOKEN');

  const { loadConfig } = require('../config/env') as typeof import('../config/env');
  const config = loadConfig();
  const { loadKubeConfig } = require('../kube/kubeconfig') as typeof import('../kube/kubeconfig');
  const { connect } = require('../wiring/connect') as typeof import('../wiring/connect');
  const { loadOrGenerateTls } = require('../hosts/tls') as typeof import('../hosts/tls');
  const { startController } = require('../hosts/controller/controller') as typeof import('../hosts/controller/controller');
  const { createLogger, pinoLog } = require('../util/log') as typeof import('../util/log');
  const kc = loadKubeConfig(config.kubeconfig);
  const ferry = connect(config, kc);
  const tls = await loadOrGenerateTls({
    ...(options.tlsCert ? { certFile: options.tlsCert, keyFile: options.tlsKey! } : {}),
    names: options.tlsSan.split(',').map((s) => s.trim()).filter(Boolean),
  });
  const log = pinoLog(createLogger('controller'));
  const controller = await startController(ferry, kc, {
    listen: options.listen,
    tls,
    token,
    workers: options.workers,
    resyncIntervalMs: options.resync,
    ...(options.readBudget !== undefined ? { readBudget: options.readBudget } : {}),
    watch: options.watch,
    log,
  });
  log({ level: 'info', msg: 'ferry controller started', webhook: `${controller.url}/admit/<token>`, watch: options.watch, workers: options.workers });
  if (tls.generated) {
    console.log(`# generated a self-signed certificate; give the API server this caBundle (ferry manifests --ca-bundle FILE):\n${tls.ca}`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await controller.stop();
  ferry.close();
  return 0;
}
