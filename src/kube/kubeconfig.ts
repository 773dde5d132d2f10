import { KubeConfig } from '@kubernetes/client-node';

/** The kubeconfig at `path`, else client-node's default search (KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
