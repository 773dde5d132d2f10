import { LISTENER_ATTRIBUTES, attributeDefaults, attributeDrift } from '../model/attributes';
import type { ObservedLoadBalancer } from '../model/observed';
import type { ListenerModel, LoadBalancerSpec } from '../model/types';
import { Phase, type Action } from './actions';
import { sameSet } from './diff';

/**
 * Listeners of the desired NLB, one per port. A listener is repointed in place (ModifyListener)
 * rather than deleted and recreated, so a target group replacement never leaves a port
 * without a listener; listeners for ports the Service dropped go after that.
 */
export function planListeners(
  spec: LoadBalancerSpec,
  current: ObservedLoadBalancer | undefined,
  targetGroupNames: ReadonlyMap<string, string>,
  adoption: { hold: ReadonlySet<number>; warmups: readonly ListenerModel[] } = { hold: new Set(), warmups: [] },
): Action[] {
  const loadBalancer = spec.name;
  const existing = new Map((current?.listeners ?? []).map((l) => [l.port, l]));
  const actions: Action[] = [];
  for (const listener of [...spec.listeners.filter((l) => !adoption.hold.has(l.port)), ...adoption.warmups]) {
    const found = existing.get(listener.port);
    if (!found) {
      actions.push({ phase: Phase.Listeners, op: 'CreateListener', loadBalancer, listener });
      actions.push(...extraCertificates(loadBalancer, listener, []));
      actions.push(...listenerAttributes(loadBalancer, listener, {}));
      continue;
    }
    const drifted =
      found.protocol !== listener.protocol ||
      (found.targetGroupArn ? targetGroupNames.get(found.targetGroupArn) : undefined) !== listener.targetGroup ||
      (listener.protocol === 'TLS' &&
        (found.certificates[0] !== listener.certificates[0] ||
          found.sslPolicy !== listener.sslPolicy ||
          (found.alpnPolicy ?? 'None') !== (listener.alpnPolicy ?? 'None')));
    if (drifted) actions.push({ phase: Phase.Listeners, op: 'ModifyListener', loadBalancer, listener });
    actions.push(...extraCertificates(loadBalancer, listener, found.protocol === 'TLS' ? found.certificates.slice(1) : []));
    if (found.attributes) actions.push(...listenerAttributes(loadBalancer, listener, found.attributes));
  }
  const wanted = new Set([...spec.listeners.map((l) => l.port), ...adoption.warmups.map((l) => l.port)]);
  for (const port of existing.keys()) {
    if (!wanted.has(port)) actions.push({ phase: Phase.PruneListeners, op: 'DeleteListener', loadBalancer, port });
  }
  return actions;
}

/** Attributes set after the listener exists (CreateListener takes none); the rest keep AWS's values. */
function listenerAttributes(loadBalancer: string, listener: ListenerModel, actual: Record<string, string>): Action[] {
  const drift = attributeDrift(listener.attributes, actual, attributeDefaults(LISTENER_ATTRIBUTES, { protocol: listener.protocol }));
  if (Object.keys(drift).length === 0) return [];
  return [{ phase: Phase.PruneListeners, op: 'ModifyListenerAttributes', loadBalancer, port: listener.port, attributes: drift }];
}

/** TLS listeners carry their non-default (SNI) certificates separately from the default one. */
function extraCertificates(loadBalancer: string, listener: ListenerModel, have: readonly string[]): Action[] {
  const want = listener.protocol === 'TLS' ? listener.certificates.slice(1) : [];
  if (sameSet(want, have)) return [];
  const add = want.filter((c) => !have.includes(c));
  const remove = have.filter((c) => !want.includes(c));
  const port = listener.port;
  return [
    ...(add.length > 0 ? [{ phase: Phase.PruneListeners, op: 'AddListenerCertificates', loadBalancer, port, certificates: add } as const] : []),
    ...(remove.length > 0
      ? [{ phase: Phase.PruneListeners, op: 'RemoveListenerCertificates', loadBalancer, port, certificates: remove } as const]
      : []),
  ];
}
