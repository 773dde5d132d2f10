import { makeInformer, type KubeConfig, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(obj: T): void;
  delete?(obj: T): void;
}

/**
 * A client-node informer that keeps going. client-node relists by itself after a 410, but
 * on any other error (the API server restarting, a network blip) it stops; this restarts
 * it after a pause, and `stop()` makes sure the AbortError that stopping raises is not
 * taken for one of those. Between restarts the handlers simply see nothing new: whatever
 * the caller derived from earlier events stays in force.
 */
export function resilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: ListPromise<T>,
  handlers: InformerHandlers<T>,
  options: { retryMs?: number; onError?: (err: unknown) => void } = {},
): { started: Promise<void>; stop(): Promise<void> } {
  const informer = makeInformer(kc, path, list);
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  if (handlers.add) informer.on('add', handlers.add);
  if (handlers.update) informer.on('update', handlers.update);
  if (handlers.delete) informer.on('delete', handlers.delete);
  const restart = () => {
    timer = undefined;
    if (!stopping) informer.start().catch(failed);
  };
  const failed = (err: unknown) => {
    if (stopping) return;
    options.onError?.(err);
    clearTimeout(timer);
    timer = setTimeout(restart, options.retryMs ?? 2000);
    timer.unref();
  };
  informer.on('error', failed);
  return {
    started: informer.start(),
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}
