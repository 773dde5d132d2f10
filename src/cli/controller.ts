import { parseArgs } from 'node:util';
import { loadConfig } from '../config/env';
import { ConfigError } from '../errors';
import { startController } from '../hosts/controller/controller';
import { loadOrGenerateTls } from '../hosts/tls';
import { loadKubeConfig } from '../kube/api';
import { parseDuration } from '../util/duration';
import { createLogger, pinoLog } from '../util/log';
import { parseHostPort } from '../util/net';
import { connect } from '../wiring/connect';

/**
 * `ferry controller [--listen HOST:PORT] [--tls-cert F --tls-key F | --tls-san NAMES]
 * [--token T] [--workers N] [--resync 5m] [--watch]` — runs until SIGINT/SIGTERM.
 */
export async function controllerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', default: '0.0.0.0:8443' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-san': { type: 'string', default: 'localhost,127.0.0.1' },
      token: { type: 'string' },
      workers: { type: 'string', default: '4' },
      resync: { type: 'string', default: '5m' },
      watch: { type: 'boolean', default: false },
    },
  });
  const listen = parseHostPort(values.listen!);
  if (!listen) throw new ConfigError(`--listen ${JSON.stringify(values.listen)} is invalid; accepted: HOST:PORT such as 0.0.0.0:8443`);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new ConfigError('--tls-cert and --tls-key go together; give both or neither (then a self-signed pair is generated)');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new ConfigError(`--workers ${JSON.stringify(values.workers)} is invalid; accepted: a whole number from 1 to 64`);
  const resync = parseDuration(values.resync!);
  if (resync === undefined || resync < 10_000) throw new ConfigError(`--resync ${JSON.stringify(values.resync)} is invalid; accepted: a duration of at least 10s, such as 5m`);
  const token = values.token ?? process.env.FERRY_WEBHOOK_TOKEN;
  if (!token || token.length < 16) throw new ConfigError('a webhook token of at least 16 characters is required: --token or FERRY_WEBHOOK_TOKEN');

  const config = loadConfig();
  const kc = loadKubeConfig(config.kubeconfig);
  const ferry = connect(config, kc);
  const tls = await loadOrGenerateTls({
    ...(values['tls-cert'] ? { certFile: values['tls-cert'], keyFile: values['tls-key']! } : {}),
    names: values['tls-san']!.split(',').map((s) => s.trim()).filter(Boolean),
  });
  const log = pinoLog(createLogger('controller'));
  const controller = await startController(ferry, kc, {
    listen,
    tls,
    token,
    workers,
    resyncIntervalMs: resync,
    watch: values.watch!,
    log,
  });
  log({ level: 'info', msg: 'ferry controller started', webhook: `${controller.url}/admit/<token>`, watch: values.watch, workers });
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
