import type { KubeConfig } from '@kubernetes/client-node';
import { createAwsClients, type AwsClientOptions, type AwsClients } from '../aws/clients';
import { AwsEmulator, KubeEmulator, type AwsEmulatorOptions } from '@ferry/emulators';
import { ClientNodeKubeApi, type KubeApi } from '../kube/api';
import { loadKubeConfig } from '../kube/kubeconfig';
import { Reconciler, type ReconcilerOptions } from '../reconcile/reconciler';
import { seedAws, seedNodes, type SeedOptions, type Seeded } from './seed';

/**
 * A cluster and an AWS account to play in: the embedded emulators (or KUBECONFIG /
 * AWS_ENDPOINT_URL when given), a seeded VPC with instances and their Nodes, and a
 * reconciler over both. Shared by `ferry local`, the integration tests and the benchmarks.
 */
export interface Sandbox {
  cluster: string;
  region: string;
  /** undefined when KUBECONFIG was given. */
  kubeEmulator: KubeEmulator | undefined;
  /** undefined when AWS_ENDPOINT_URL was given. */
  awsEmulator: AwsEmulator | undefined;
  kc: KubeConfig;
  kube: KubeApi;
  aws: AwsClients;
  seeded: Seeded;
  options: ReconcilerOptions;
  reconciler: Reconciler;
  close(): Promise<void>;
}

export interface SandboxOptions {
  cluster: string;
  /** Use this AWS endpoint instead of starting the emulator. */
  awsEndpoint?: string;
  /** Options of the embedded AWS emulator (its fidelity mode, its data plane). */
  emulator?: Omit<AwsEmulatorOptions, 'region'>;
  region?: string;
  /** Use this kubeconfig instead of starting the emulator; no Nodes are created then. */
  kubeconfig?: string;
  seed?: SeedOptions;
  aws?: Partial<AwsClientOptions>;
  awsConcurrency?: number;
  /** Where the embedded Kubernetes API server listens (default 127.0.0.1): node namespaces need an address they can reach. */
  kubeHost?: string;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const awsEmulator = options.awsEndpoint ? undefined : await AwsEmulator.start({ ...options.emulator, ...(options.region ? { region: options.region } : {}) });
  const kubeEmulator = options.kubeconfig
    ? undefined
    : await KubeEmulator.start(options.kubeHost ? { host: options.kubeHost } : {}).catch(async (err: unknown) => {
        await awsEmulator?.close();
        throw err;
      });
  try {
    const region = awsEmulator?.region ?? options.region ?? 'us-east-1';
    const aws = createAwsClients({ region, endpoint: awsEmulator?.endpoint ?? options.awsEndpoint!, ...options.aws });
    const seeded = await seedAws(aws, options.cluster, region, options.seed);
    const kc = kubeEmulator ? kubeEmulator.kubeConfig() : loadKubeConfig(options.kubeconfig);
    if (kubeEmulator) await seedNodes(kc, seeded.instances);
    const kube = new ClientNodeKubeApi(kc);
    const reconcilerOptions: ReconcilerOptions = {
      clusterName: options.cluster,
      claimUnclassedServices: true,
      nodeHealthPort: 10256,
      awsConcurrency: options.awsConcurrency ?? 4,
      vpcId: seeded.vpcId,
    };
    return {
      cluster: options.cluster,
      region,
      kubeEmulator,
      awsEmulator,
      kc,
      kube,
      aws,
      seeded,
      options: reconcilerOptions,
      reconciler: new Reconciler(kube, aws, reconcilerOptions),
      async close() {
        if (!awsEmulator) await seeded.remove(aws).catch(() => undefined);
        aws.destroy();
        await Promise.all([kubeEmulator?.close(), awsEmulator?.close()]);
      },
    };
  } catch (err) {
    await Promise.all([kubeEmulator?.close(), awsEmulator?.close()]);
    throw err;
  }
}
