import { createAwsClients, type AwsClients } from '../aws/clients';
import type { FerryConfig } from '../config/env';
import type { KubeConfig } from '@kubernetes/client-node';
import { ClientNodeKubeApi, type KubeApi } from '../kube/api';
import { loadKubeConfig } from '../kube/kubeconfig';
import { Reconciler } from '../reconcile/reconciler';
import type { ResyncOptions } from '../reconcile/resync';

/** The wired-up core for one process: Kubernetes, AWS and the reconciler over them. */
export interface Ferry {
  config: FerryConfig;
  kube: KubeApi;
  aws: AwsClients;
  reconciler: Reconciler;
  close(): void;
}

/** Wires the core from configuration; the kubeconfig comes from `KUBECONFIG` unless given. */
export function connect(config: FerryConfig, kc: KubeConfig = loadKubeConfig(config.kubeconfig)): Ferry {
  const kube = new ClientNodeKubeApi(kc);
  const aws = createAwsClients({ region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) });
  const reconciler = new Reconciler(kube, aws, {
    clusterName: config.clusterName,
    claimUnclassedServices: config.claimUnclassedServices,
    nodeHealthPort: config.nodeHealthPort,
    awsConcurrency: config.awsConcurrency,
    ...(config.vpcId ? { vpcId: config.vpcId } : {}),
  });
  return { config, kube, aws, reconciler, close: () => aws.destroy() };
}

/** The resync's settings from configuration, for the run at `now` (the schedule's time). */
export function resyncOptions(config: FerryConfig, now: number): ResyncOptions {
  return {
    clusterName: config.clusterName,
    claimUnclassedServices: config.claimUnclassedServices,
    nodeHealthPort: config.nodeHealthPort,
    awsConcurrency: config.awsConcurrency,
    readBudget: config.readBudget,
    intervalSeconds: config.resyncIntervalSeconds,
    now,
  };
}
