/**
 * `ferry local --keep`: after the story the playground stays up until Ctrl-C (or SIGTERM).
 * It prints the commands to try; reconciles every LoadBalancer Service four times a second,
 * standing in for the webhook that would queue a reconcile on every change (an unchanged
 * Service costs no AWS call, so only what changed is printed); keeps the EndpointSlices in
 * line with Service changes; and prints the data plane's health changes, drops and
 * connections as they happen.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import type { ConnectionEvent, DataPlane, DropEvent, HealthEvent } from '@ferry/emulators';
import { formatReport } from '../report/format';
import type { LocalCluster } from './cluster';
import type { Sandbox } from './sandbox';
import { EXAMPLE_HTTP_PORT, EXAMPLE_UDP_PORT } from './story';

/** Short enough that a Service change is applied before the emulated NLB (at 20×) fails two health checks on it. */
const RESYNC_MS = 250;

export interface KeepOptions {
  sandbox: Sandbox;
  /** Present when the data plane runs. */
  cluster: LocalCluster | undefined;
  service: { namespace: string; name: string };
  kubeconfigPath: string | undefined;
  out: (line: string) => void;
  /** Resolves when the playground should stop (Ctrl-C). */
  until: Promise<void>;
}

/** The commands to try, for a load balancer answering at `dnsName`. */
export function commands(cluster: LocalCluster | undefined, dnsName: string | undefined, service: string, kubeconfigPath: string | undefined): string[] {
  const lines: string[] = [];
  const address = cluster && dnsName ? cluster.traffic.addresses(dnsName)[0] : undefined;
  if (cluster && dnsName && address) {
    const tcp = cluster.traffic.localPort(dnsName, EXAMPLE_HTTP_PORT, 'tcp');
    const udp = cluster.traffic.localPort(dnsName, EXAMPLE_UDP_PORT, 'udp');
    lines.push(`curl --resolve ${dnsName}:${tcp}:${address} http://${dnsName}:${tcp}/`);
    lines.push(`printf hello | nc -u -w1 ${address} ${udp}        # UDP, if you have netcat`);
    lines.push(`# the NLB's ports ${EXAMPLE_HTTP_PORT} and ${EXAMPLE_UDP_PORT} listen on ${tcp} and ${udp} here (ports below 1024 need root); DNS answers ${cluster.traffic.addresses(dnsName).join(', ')}`);
  }
  if (kubeconfigPath) {
    lines.push(`export KUBECONFIG=${kubeconfigPath}`);
    lines.push('kubectl get nodes,services,endpointslices');
    lines.push(`kubectl get endpointslice ${service}-pods -o yaml`);
    lines.push(`kubectl patch service ${service} -p '{"spec":{"externalTrafficPolicy":"Cluster"}}'`);
    lines.push('kubectl taint node node-0 ToBeDeletedByClusterAutoscaler=1:NoSchedule');
    lines.push(`kubectl delete service ${service}`);
  }
  return lines;
}

/** Runs until `until` resolves. */
export async function keepRunning(options: KeepOptions): Promise<void> {
  const { cluster, out } = options;
  const dns = await cluster?.hostname(options.service.name, options.service.namespace).catch(() => undefined);
  out('\n== ferry local --keep: running until Ctrl-C');
  for (const line of commands(cluster, dns, options.service.name, options.kubeconfigPath)) out(`  ${line}`);
  out(`ferry reconciles every LoadBalancer Service (four times a second; an unchanged one costs no AWS call) and prints what it changes${cluster ? '; the NLB prints target health changes, drops and connections as they happen' : ''}.`);

  const stopWatching = cluster ? watch(cluster.dataPlane, (id) => cluster.nodeOf(id), out) : () => undefined;
  let stopped = false;
  void options.until.then(() => (stopped = true));
  try {
    while (!stopped) {
      await resync(options).catch((err: unknown) => out(`resync failed: ${err instanceof Error ? err.message : String(err)}`));
      await Promise.race([options.until, new Promise((r) => setTimeout(r, RESYNC_MS))]);
    }
  } finally {
    stopWatching();
  }
}

async function resync(options: KeepOptions): Promise<void> {
  const { sandbox, cluster, out } = options;
  await cluster?.deployment.slices.sync();
  const core = cluster?.core ?? sandbox.kc.makeApiClient(CoreV1Api);
  const services = (await core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer' || s.metadata?.finalizers?.length);
  for (const s of services) {
    sandbox.aws.calls.reset();
    const report = await sandbox.reconciler.reconcile(s.metadata!.namespace!, s.metadata!.name!);
    if (report.outcome !== 'unchanged' && report.outcome !== 'in-sync' && report.outcome !== 'ignored') out(formatReport(report, sandbox.aws.calls));
  }
}

function watch(dataPlane: DataPlane, nodeOf: (target: string) => string | undefined, out: (line: string) => void): () => void {
  const time = () => new Date().toISOString().slice(11, 19);
  const onHealth = (e: HealthEvent) => out(`${time()} health   ${nodeOf(e.target.id) ?? e.target.id}:${e.target.port} ${e.previous} → ${e.state}${e.reason ? ` (${e.reason})` : ''}`);
  const onDrop = (e: DropEvent) => out(`${time()} drop     ${e.transport.toUpperCase()} ${e.client.address}:${e.client.port} at ${e.node.address}: ${e.reason}`);
  const onConnection = (e: ConnectionEvent) =>
    out(`${time()} ${e.transport.toUpperCase()}      ${e.client.address}:${e.client.port} → ${e.node.address}:${e.listenerPort} (${e.node.availabilityZone}) → ${nodeOf(e.target.id) ?? e.target.id}:${e.target.port}`);
  const onProblem = (message: string) => out(`${time()} problem  ${message}`);
  dataPlane.on('health', onHealth);
  dataPlane.on('drop', onDrop);
  dataPlane.on('connection', onConnection);
  dataPlane.on('problem', onProblem);
  return () => {
    dataPlane.off('health', onHealth);
    dataPlane.off('drop', onDrop);
    dataPlane.off('connection', onConnection);
    dataPlane.off('problem', onProblem);
  };
}
