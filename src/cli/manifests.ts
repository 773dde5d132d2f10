import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors';
import { agentManifests } from '../manifests/agent';
import { PROXY_MODES, type ProxyMode } from '../agent/types';
import { clusterManifests } from '../manifests/cluster';
import { DEFAULT_AGENT_IMAGE, toYaml } from '../manifests/files';

const isMode = (m: string): m is ProxyMode => (PROXY_MODES as readonly string[]).includes(m);

/**
 * `ferry manifests --webhook-url URL --token TOKEN [--ca-bundle FILE] [--namespace NS]
 * [--agent-image IMG] [--agent-mode MODE] [--no-agent]`: YAML for kubectl apply.
 */
export async function manifestsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'webhook-url': { type: 'string' },
      token: { type: 'string' },
      'ca-bundle': { type: 'string' },
      namespace: { type: 'string' },
      'agent-image': { type: 'string', default: DEFAULT_AGENT_IMAGE },
      'agent-mode': { type: 'string', default: 'nftables' },
      'no-agent': { type: 'boolean', default: false },
    },
  });
  const mode = values['agent-mode']!;
  if (!isMode(mode)) throw new ConfigError(`--agent-mode ${JSON.stringify(mode)} is invalid; accepted: nftables, iptables, ipvs or userspace`);
  const url = values['webhook-url'];
  if (!url || !/^https:\/\/[^/\s]+/.test(url)) {
    throw new ConfigError(`--webhook-url ${JSON.stringify(url ?? '')} is invalid; accepted: the https:// URL of the webhook (the stack output WebhookUrl)`);
  }
  if (!values.token) throw new ConfigError('--token is required: the webhook token (the stack output WebhookTokenSecretArn names the secret)');
  const caBundle = values['ca-bundle'] ? await readFile(values['ca-bundle'], 'utf8') : undefined;
  const objects = clusterManifests({
    webhookUrl: url,
    token: values.token,
    ...(caBundle ? { caBundle } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
  });
  if (!values['no-agent']) {
    objects.push(...agentManifests({ image: values['agent-image']!, mode, ...(values.namespace ? { namespace: values.namespace } : {}) }));
  }
  process.stdout.write(toYaml(objects));
  return 0;
}
