import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { join } from 'node:path';
import { inventory } from '../aws/inventory';
import { formatInventory, formatReport } from '../report/format';
import { statusOf } from '../kube/api';
import { serviceKey, TAG_SERVICE } from '../model/tags';
import { startSandbox, type Sandbox } from './sandbox';

const EXAMPLE = { namespace: 'default', name: 'ferry-example' };

/**
 * `ferry local` (`npm start`): the whole reconcile loop on a laptop with nothing installed.
 * Starts the embedded Kubernetes and AWS emulators (or uses KUBECONFIG / AWS_ENDPOINT_URL
 * when set), seeds a VPC with tagged subnets, three instances and their Nodes, applies an
 * example LoadBalancer Service, reconciles it and shows what AWS now holds; then deletes the
 * Service and shows that everything is gone.
 */
export async function runLocal(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const cluster = env.FERRY_CLUSTER_NAME || 'ferry-local';
  // The playground runs on Node 20 by design; the SDK's "Node 22 from 2027" notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sandbox = await startSandbox({
    cluster,
    ...(env.AWS_ENDPOINT_URL ? { awsEndpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION || 'us-east-1' } : {}),
    ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
  });
  try {
    const { kubeEmulator, awsEmulator, seeded, reconciler, aws } = sandbox;
    section(`ferry local — cluster ${cluster}`);
    if (kubeEmulator) {
      const path = join(process.cwd(), '.ferry', 'kubeconfig');
      await kubeEmulator.writeKubeconfig(path);
      console.log(`Kubernetes: embedded API server at ${kubeEmulator.url} (kubeconfig written to ${path})`);
    } else {
      console.log(`Kubernetes: KUBECONFIG=${env.KUBECONFIG}`);
    }
    console.log(`AWS:        ${awsEmulator ? `embedded EC2 + ELBv2 at ${awsEmulator.endpoint}` : `AWS_ENDPOINT_URL=${env.AWS_ENDPOINT_URL}`} (${sandbox.region})`);
    console.log(`\nVPC ${seeded.vpcId}; subnets ${seeded.subnets.map((s) => `${s.id} (${s.zone}, ${s.role})`).join(', ')}`);
    console.log(`instances ${seeded.instances.map((i) => `${i.id} ${i.privateIp}`).join(', ')}`);
    if (kubeEmulator) console.log(`Nodes node-0 … node-${seeded.instances.length - 1}, providerID aws:///<az>/<instance-id>`);

    const core = sandbox.kc.makeApiClient(CoreV1Api);
    await applyExample(core, !kubeEmulator);
    section(`ferry reconcile ${serviceKey(EXAMPLE)}`);
    aws.calls.reset();
    console.log(formatReport(await reconciler.reconcile(EXAMPLE.namespace, EXAMPLE.name), aws.calls));

    section('what AWS holds for the Service');
    await showResources(sandbox);
    const service = await core.readNamespacedService(EXAMPLE);
    console.log(`\nService status.loadBalancer: ${JSON.stringify(service.status?.loadBalancer ?? {})}`);
    console.log(`Service finalizers: ${JSON.stringify(service.metadata?.finalizers ?? [])}`);

    section(`kubectl delete service ${EXAMPLE.name}; ferry reconcile ${serviceKey(EXAMPLE)}`);
    await core.deleteNamespacedService(EXAMPLE);
    aws.calls.reset();
    console.log(formatReport(await reconciler.reconcile(EXAMPLE.namespace, EXAMPLE.name), aws.calls));

    section('after the delete');
    await showResources(sandbox);
    const gone = await core.readNamespacedService(EXAMPLE).then(
      () => false,
      (err: unknown) => statusOf(err) === 404,
    );
    console.log(`Service ${serviceKey(EXAMPLE)}: ${gone ? 'gone (the finalizer was released after cleanup)' : 'still present'}`);
    return gone ? 0 : 1;
  } finally {
    await sandbox.close();
  }
}

async function applyExample(core: CoreV1Api, externalCluster: boolean): Promise<void> {
  const body: V1Service = {
    metadata: {
      ...EXAMPLE,
      annotations: {
        'ferry.io/scheme': 'internet-facing',
        'ferry.io/additional-tags': 'app=ferry-example',
        // A real cluster's nodes are not the emulator's instances; register them by address.
        ...(externalCluster ? { 'ferry.io/target-type': 'ip' } : {}),
      },
    },
    spec: {
      type: 'LoadBalancer',
      selector: { app: 'ferry-example' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ],
    },
  };
  await core.deleteNamespacedService(EXAMPLE).catch(() => undefined);
  const created = await core.createNamespacedService({ namespace: EXAMPLE.namespace, body });
  const ports = created.spec?.ports?.map((p) => `${p.port}/${p.protocol} → nodePort ${p.nodePort}`).join(', ');
  section(`kubectl apply: Service ${serviceKey(EXAMPLE)} (type LoadBalancer, ${ports})`);
}

async function showResources(sandbox: Sandbox): Promise<void> {
  const all = await inventory(sandbox.aws, sandbox.cluster, true);
  const mine = <T extends { tags: Record<string, string> }>(items: T[]) => items.filter((i) => i.tags[TAG_SERVICE] === serviceKey(EXAMPLE));
  console.log(
    formatInventory({
      loadBalancers: mine(all.loadBalancers),
      targetGroups: mine(all.targetGroups),
      securityGroups: mine(all.securityGroups),
    }),
  );
}

function section(title: string): void {
  console.log(`\n== ${title}`);
}
