import { readFile } from 'node:fs/promises';
import { Command } from '@commander-js/extra-typings';
import { PROXY_MODES, type ProxyMode } from '../agent/types';
import { runCommand } from '../agent/options';
import { agentManifests } from '../manifests/agent';
import { clusterManifests, NAMESPACE } from '../manifests/cluster';
import { DEFAULT_AGENT_IMAGE } from '../manifests/image';
import { checkedOption } from './flags';

const isMode = (m: string): m is ProxyMode => (PROXY_MODES as readonly string[]).includes(m);

/**
 * `ferry manifests --webhook-url URL --token TOKEN [--ca-bundle FILE] [--namespace NS]
 * [--image IMAGE] [--agent-mode MODE] [--no-agent]`: YAML for kubectl apply.
 */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry manifests')
      .description(
        'Print the cluster-side YAML for `kubectl apply -f -`: the ValidatingWebhookConfiguration that calls the webhook, the identity and RBAC whose token the kubeconfig secret holds, and the node agent (its DaemonSet and read-only RBAC).',
      )
      .addOption(
        checkedOption('--webhook-url <url>', "the webhook's https:// URL (the stack output WebhookUrl)", 'the https:// URL of the webhook (the stack output WebhookUrl)', (t) =>
          /^https:\/\/[^/\s]+/.test(t) ? t : undefined,
        ).makeOptionMandatory(),
      )
      .requiredOption('--token <token>', 'the webhook token (the secret the stack output WebhookTokenSecretArn names)')
      .option('--ca-bundle <file>', "PEM of the CA that signed the webhook's certificate (ferry controller's self-signed one); omit for a publicly trusted one")
      .option('--namespace <namespace>', "namespace of ferry's objects", NAMESPACE)
      .option('--image, --agent-image <image>', "the node agent's image", DEFAULT_AGENT_IMAGE)
      .addOption(
        checkedOption('--agent-mode <mode>', `the node agent's --mode: ${PROXY_MODES.join(', ')}`, 'nftables, iptables, ipvs or userspace', (t) => (isMode(t) ? t : undefined)).default(
          'nftables' as ProxyMode,
        ),
      )
      .option('--no-agent', 'leave the node agent out (another kube-proxy carries the traffic)')
      .action(async (options) => {
        const caBundle = options.caBundle ? await readFile(options.caBundle, 'utf8') : undefined;
        // The YAML writer comes with the Kubernetes client: loaded only to write.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { toYaml } = require('../manifests/files') as typeof import('../manifests/files');
        const objects = clusterManifests({ webhookUrl: options.webhookUrl, token: options.token, namespace: options.namespace, ...(caBundle ? { caBundle } : {}) });
        if (options.agent) objects.push(...agentManifests({ image: options.agentImage, mode: options.agentMode, namespace: options.namespace }));
        process.stdout.write(toYaml(objects));
        exit(0);
      }),
  );
}
