import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { join } from 'node:path';
import { inventory } from '../aws/inventory';
import { formatInventory, formatReport } from '../report/format';
import { statusOf } from '../kube/api';
import { serviceKey, TAG_SERVICE } from '../model/tags';
import { LocalCluster } from './cluster';
import type { Fabric } from './fabric';
import { keepRunning } from './keep';
import { LoopbackFabric, type LoopbackAgentStarter } from './loopback';
import { NamespaceFabric } from './namespaces';
import { startSandbox, type Sandbox } from './sandbox';
import { describeReply, EXAMPLE_HTTP_PORT, EXAMPLE_UDP_PORT, Story } from './story';
import type { Reply } from './traffic';

const EXAMPLE = { namespace: 'default', name: 'ferry-example' };
/** The emulated NLB's clock runs 20× faster: a 10 s health check interval takes 0.5 s. */
export const PLAYGROUND_TIME_SCALE = 0.05;

export interface LocalOptions {
  /** `--keep`: stay up after the story, until Ctrl-C. */
  keep?: boolean;
  /** `--kernel`: nodes in network namespaces with nftables agents (root). */
  kernel?: boolean;
  /** The node agent for loopback nodes (src/agent/userspace/loopback.ts); without it (and without --kernel) no traffic runs. */
  startLoopbackAgent?: LoopbackAgentStarter;
  out?: (line: string) => void;
  /** `--keep` stops when this resolves (default: Ctrl-C). */
  until?: Promise<void>;
}

/**
 * `ferry local` (`npm start`): the whole loop on a laptop with nothing installed. Starts the
 * embedded Kubernetes and AWS emulators (or uses KUBECONFIG / AWS_ENDPOINT_URL when set),
 * seeds a VPC with tagged subnets, three instances and their Nodes, applies an example
 * LoadBalancer Service, reconciles it and shows what AWS now holds. With the embedded
 * emulators every instance is a node running `ferry agent` and the example Deployment's
 * pods answer: requests go through the NLB's data plane to the pods, and the story of
 * story.ts runs (a pod deleted, externalTrafficPolicy Local, a node drained). Then the
 * Service is deleted and everything is shown gone, or with `--keep` the playground stays up.
 */
export async function runLocal(env: NodeJS.ProcessEnv = process.env, options: LocalOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => console.log(line));
  // Ctrl-C while --keep waits stops the playground cleanly; before that it ends the process,
  // and what must not outlive it (--kernel's namespaces) is removed on exit. `on`, not
  // `once`: npm and tsx pass the Ctrl-C on too, and a second SIGINT without a handler would
  // kill the playground in the middle of its cleanup.
  let phase: 'running' | 'keeping' | 'stopping' = 'running';
  let stopKeeping!: () => void;
  const stopped = new Promise<void>((resolve) => (stopKeeping = resolve));
  const interrupt = (signal: NodeJS.Signals) => {
    if (phase === 'running') process.exit(130);
    if (phase !== 'keeping') return;
    phase = 'stopping';
    out(`\n${signal}: stopping the agents, the pods and the emulators`);
    stopKeeping();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    return await play(env, options, out, () => {
      phase = 'keeping';
      return options.until ? Promise.race([options.until, stopped]) : stopped;
    });
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

async function play(env: NodeJS.ProcessEnv, options: LocalOptions, out: (line: string) => void, keep: () => Promise<void>): Promise<number> {
  const cluster = env.FERRY_CLUSTER_NAME || 'ferry-local';
  // The playground runs on Node 20 by design; the SDK's "Node 22 from 2027" notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const embedded = !env.AWS_ENDPOINT_URL && !env.KUBECONFIG;
  const fabric: Fabric | undefined =
    !embedded ? undefined : options.kernel ? await NamespaceFabric.create() : options.startLoopbackAgent ? await LoopbackFabric.create(options.startLoopbackAgent) : undefined;
  const local = fabric ? await LocalCluster.start({ cluster, fabric, timeScale: PLAYGROUND_TIME_SCALE }) : undefined;
  const sandbox =
    local?.sandbox ??
    (await startSandbox({
      cluster,
      ...(env.AWS_ENDPOINT_URL ? { awsEndpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION || 'us-east-1' } : {}),
      ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
    }));
  const replies: Reply[] = [];
  try {
    const { kubeEmulator, awsEmulator, seeded, reconciler, aws } = sandbox;
    section(out, `ferry local — cluster ${cluster}`);
    let kubeconfigPath: string | undefined;
    if (kubeEmulator) {
      kubeconfigPath = join(process.cwd(), '.ferry', 'kubeconfig');
      await kubeEmulator.writeKubeconfig(kubeconfigPath);
      out(`Kubernetes: embedded API server at ${kubeEmulator.url} (kubeconfig written to ${kubeconfigPath})`);
    } else {
      out(`Kubernetes: KUBECONFIG=${env.KUBECONFIG}`);
    }
    out(`AWS:        ${awsEmulator ? `embedded EC2 + ELBv2 at ${awsEmulator.endpoint}${local ? ', with its data plane' : ''}` : `AWS_ENDPOINT_URL=${env.AWS_ENDPOINT_URL}`} (${sandbox.region})`);
    out(`\nVPC ${seeded.vpcId}; subnets ${seeded.subnets.map((s) => `${s.id} (${s.zone}, ${s.role})`).join(', ')}`);
    out(`instances ${seeded.instances.map((i) => `${i.id} ${i.privateIp}`).join(', ')}`);
    if (kubeEmulator) out(`Nodes node-0 … node-${seeded.instances.length - 1}, providerID aws:///<az>/<instance-id>${local ? `; each runs ferry agent (${local.nodes[0]?.mode} mode)` : ''}`);

    const core = sandbox.kc.makeApiClient(CoreV1Api);
    await applyExample(core, !kubeEmulator, out);
    await local?.deployment.slices.sync();
    section(out, `ferry reconcile ${serviceKey(EXAMPLE)}`);
    aws.calls.reset();
    out(formatReport(await reconciler.reconcile(EXAMPLE.namespace, EXAMPLE.name), aws.calls));

    section(out, 'what AWS holds for the Service');
    await showResources(sandbox, out);
    const service = await core.readNamespacedService(EXAMPLE);
    out(`\nService status.loadBalancer: ${JSON.stringify(service.status?.loadBalancer ?? {})}`);
    out(`Service finalizers: ${JSON.stringify(service.metadata?.finalizers ?? [])}`);

    if (local) replies.push(...(await new Story(local, EXAMPLE.name, aws.calls, out).tell()).replies);
    else noTraffic(env, out);

    if (options.keep) {
      await keepRunning({ sandbox, cluster: local, service: EXAMPLE, kubeconfigPath, out, until: keep() });
      return 0;
    }

    section(out, `kubectl delete service ${EXAMPLE.name}; ferry reconcile ${serviceKey(EXAMPLE)}`);
    await core.deleteNamespacedService(EXAMPLE);
    aws.calls.reset();
    out(formatReport(await reconciler.reconcile(EXAMPLE.namespace, EXAMPLE.name), aws.calls));

    section(out, 'after the delete');
    await showResources(sandbox, out);
    const gone = await core.readNamespacedService(EXAMPLE).then(
      () => false,
      (err: unknown) => statusOf(err) === 404,
    );
    out(`Service ${serviceKey(EXAMPLE)}: ${gone ? 'gone (the finalizer was released after cleanup)' : 'still present'}`);
    if (!local) return gone ? 0 : 1;
    const answered = replies.filter((r) => r.ok);
    out(`\nThrough the NLB: ${answered.length} of ${replies.length} requests answered by a pod${answered[0] ? `, the first: ${describeReply(answered[0], `TCP:${EXAMPLE_HTTP_PORT} GET /`)}` : ''}`);
    return gone && answered.length > 0 ? 0 : 1;
  } finally {
    if (local) await local.close();
    else await sandbox.close();
  }
}

/** Why no request went through the NLB. */
function noTraffic(env: NodeJS.ProcessEnv, out: (line: string) => void): void {
  section(out, 'traffic');
  if (env.AWS_ENDPOINT_URL) {
    out(
      `No traffic is routed: AWS_ENDPOINT_URL=${env.AWS_ENDPOINT_URL} is not ferry's embedded emulator, and only the embedded ELBv2 has a data plane. ` +
        "LocalStack's community edition has no ELBv2 at all; its Pro edition routes HTTP through load balancers but does not route an NLB's traffic at layer 4 " +
        '(localstack/localstack issue 12928). The control plane above is real; to send requests through an NLB to pods, run `npm start` without AWS_ENDPOINT_URL.',
    );
  } else if (env.KUBECONFIG) {
    out(`No traffic is routed: the nodes are those of KUBECONFIG=${env.KUBECONFIG}, which the embedded NLB cannot reach. Run \`npm start\` without KUBECONFIG to send requests through an NLB to pods.`);
  } else {
    out('No traffic is routed: the playground was started without a node agent (`ferry local` hands it one).');
  }
}

async function applyExample(core: CoreV1Api, externalCluster: boolean, out: (line: string) => void): Promise<void> {
  const body: V1Service = {
    metadata: {
      ...EXAMPLE,
      annotations: {
        'ferry.io/scheme': 'internet-facing',
        'ferry.io/additional-tags': 'app=ferry-example',
        // AWS's 300 s default would keep a drained node's targets draining for a long while.
        'ferry.io/deregistration-delay': '30',
        // A real cluster's nodes are not the emulator's instances; register them by address.
        ...(externalCluster ? { 'ferry.io/target-type': 'ip' } : {}),
      },
    },
    spec: {
      type: 'LoadBalancer',
      selector: { app: 'ferry-example' },
      ports: [
        { name: 'http', port: EXAMPLE_HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
        { name: 'echo', port: EXAMPLE_UDP_PORT, targetPort: 'echo', protocol: 'UDP' },
      ],
    },
  };
  await core.deleteNamespacedService(EXAMPLE).catch(() => undefined);
  const created = await core.createNamespacedService({ namespace: EXAMPLE.namespace, body });
  const ports = created.spec?.ports?.map((p) => `${p.port}/${p.protocol} → nodePort ${p.nodePort}`).join(', ');
  section(out, `kubectl apply: Service ${serviceKey(EXAMPLE)} (type LoadBalancer, ${ports})`);
}

async function showResources(sandbox: Sandbox, out: (line: string) => void): Promise<void> {
  const all = await inventory(sandbox.aws, sandbox.cluster, true);
  const mine = <T extends { tags: Record<string, string> }>(items: T[]) => items.filter((i) => i.tags[TAG_SERVICE] === serviceKey(EXAMPLE));
  out(
    formatInventory({
      loadBalancers: mine(all.loadBalancers),
      targetGroups: mine(all.targetGroups),
      securityGroups: mine(all.securityGroups),
    }),
  );
}

function section(out: (line: string) => void, title: string): void {
  out(`\n== ${title}`);
}
