/**
 * The same steps as agent-sync.ts, for the ruleset kube-proxy's nftables mode writes
 * (kube-proxy-ruleset.ts), loaded with `nft -f` in a scratch namespace: a cold start, a
 * full resync (what kube-proxy writes after a restart and on its periodic full sync: every
 * chain and map flushed and refilled), and a partial sync of one Service whose endpoints
 * were replaced.
 */
import { runChecked } from '../src/agent/exec';
import type { ServicePort } from '../src/agent/types';
import { median, ONE_SERVICE_RUNS, servicePort, STEPS, syntheticState, timed, timedRunner, withScratchNamespace, type ScaleResult, type SyncTiming } from './agent-sync';
import { kubeProxyCold, kubeProxyOneChange, kubeProxyResync } from './kube-proxy-ruleset';

export async function measureKubeProxy(services: number, endpoints = 10, stepLimitMs = 600_000): Promise<ScaleResult> {
  return withScratchNamespace(async (namespace) => {
    const runner = timedRunner(namespace, stepLimitMs);
    const state = syntheticState(services, endpoints);
    const nodeIP = state.nodeIPs[0]!;
    const timings: Record<string, SyncTiming> = {};
    const result: ScaleResult = { mode: 'kube-proxy nftables ruleset', services, endpointsPerService: endpoints, timings };
    const load = (text: () => string) => timed(runner, async () => runChecked(runner.run, 'nft', ['-f', '-'], text()));
    timings[STEPS.cold] = await load(() => kubeProxyCold(state.services.values(), nodeIP));
    if (timings[STEPS.cold]!.timedOut) return result;
    // kube-proxy writes the same full resync after a restart and periodically.
    // Stopped at the limit, the resync commits nothing: the cold rules stay, and one change can still be measured.
    timings[STEPS.restart] = await load(() => kubeProxyResync(state.services.values(), nodeIP));
    timings[STEPS.periodic] = timings[STEPS.restart]!;
    const runs: SyncTiming[] = [];
    for (let s = 1; s <= ONE_SERVICE_RUNS; s++) {
      const before = state.services.get(`bench/svc-${s}:http/TCP`)!;
      const after: ServicePort = { ...before, endpoints: servicePort(s, endpoints, 100).endpoints };
      runs.push(await load(() => kubeProxyOneChange(before, after)));
    }
    timings[STEPS.endpoints] = median(runs);
    return result;
  });
}
