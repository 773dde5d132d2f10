import { CoreV1Api, type KubeConfig, type V1Node, type V1Service } from '@kubernetes/client-node';
import { nodeChangeMatters } from '../../admission/admit';
import { resilientInformer } from '../../kube/informer';
import type { ServiceClassConfig } from '../../model/service';
import { fanoutMessage, serviceMessage, type WorkQueue } from '../../queue/messages';
import { ferryServices } from '../worker';

/**
 * `ferry controller --watch`: Services and Nodes watched directly, so ferry works before any
 * webhook is configured (and catches what a webhook missed). Events turn into the same
 * queue messages the webhook produces.
 */
export function watchCluster(
  kc: KubeConfig,
  queue: WorkQueue,
  config: ServiceClassConfig,
  log: (entry: Record<string, unknown>) => void,
): { started: Promise<void>; stop(): Promise<void> } {
  const core = kc.makeApiClient(CoreV1Api);
  let sequence = 0;
  const send = (messages: Parameters<WorkQueue['send']>[0]) =>
    void queue.send(messages).catch((err: unknown) => log({ level: 'warn', msg: 'could not queue watched change', error: String(err) }));
  const onService = (s: V1Service) => {
    if (ferryServices([s], config).length === 0) return;
    send([serviceMessage(s.metadata!.namespace!, s.metadata!.name!, `watch-${++sequence}`)]);
  };
  const nodes = new Map<string, V1Node>();
  const onNode = (kind: string) => (n: V1Node) => {
    const name = n.metadata?.name ?? '';
    const before = nodes.get(name);
    if (kind === 'delete') nodes.delete(name);
    else nodes.set(name, n);
    if (kind === 'update' && before && !nodeChangeMatters(before, n)) return;
    send([fanoutMessage(`node ${name} ${kind}`, `watch-${++sequence}`)]);
  };
  const onError = (err: unknown) => log({ level: 'warn', msg: 'watch interrupted; restarting', error: String(err) });
  const informers = [
    resilientInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces(), { add: onService, update: onService, delete: onService }, { onError }),
    resilientInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode(), { add: onNode('add'), update: onNode('update'), delete: onNode('delete') }, { onError }),
  ];
  return {
    started: Promise.all(informers.map((i) => i.started)).then(() => undefined),
    async stop() {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
