import type { KubeConfig, V1Node, V1Service } from '@kubernetes/client-node';
import { nodeChangeMatters } from '../../admission/admit';
import { ResilientInformer } from '../../kube/informer';
import type { ServiceClassConfig } from '../../model/service';
import { fanoutMessage, serviceMessage, type WorkQueue } from '../../queue/messages';
import type { Log } from '../../util/log';
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
  log: Log,
): { started: Promise<void>; stop(): Promise<void> } {
  let sequence = 0;
  const send = (messages: Parameters<WorkQueue['send']>[0]) =>
    void queue.send(messages).catch((err: unknown) => log({ level: 'warn', msg: 'could not queue watched change', error: String(err) }));
  const onService = (s: V1Service) => {
    if (ferryServices([s], config).length === 0) return;
    send([serviceMessage(s.metadata!.namespace!, s.metadata!.name!, `watch-${++sequence}`)]);
  };
  const nodes = new Map<string, V1Node>();
  const upsertNode = (n: V1Node) => {
    const name = n.metadata?.name ?? '';
    const before = nodes.get(name);
    nodes.set(name, n);
    if (before && !nodeChangeMatters(before, n)) return;
    send([fanoutMessage(`node ${name} ${before ? 'update' : 'add'}`, `watch-${++sequence}`)]);
  };
  const removeNode = (n: V1Node) => {
    nodes.delete(n.metadata?.name ?? '');
    send([fanoutMessage(`node ${n.metadata?.name ?? ''} delete`, `watch-${++sequence}`)]);
  };
  // `started` resolves once both informers have delivered their first list.
  let pending = 2;
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const synced = () => {
    if (--pending === 0) ready();
  };
  const informers = [
    new ResilientInformer<V1Service>(kc, '/api/v1/services', { upsert: onService, remove: onService, synced }, { log, name: 'services informer' }),
    new ResilientInformer<V1Node>(kc, '/api/v1/nodes', { upsert: upsertNode, remove: removeNode, synced }, { log, name: 'nodes informer' }),
  ];
  for (const i of informers) i.start();
  return {
    started,
    async stop() {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
