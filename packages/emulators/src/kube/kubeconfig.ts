/**
 * A kubeconfig for the emulator. The server speaks plain HTTP, which client-node only
 * accepts when the cluster entry sets `insecure-skip-tls-verify: true`. Strings are written
 * as JSON literals, which YAML reads as-is.
 */

export interface KubeconfigOptions {
  server: string;
  token?: string;
  /** Context (and cluster and user) name; defaults to `ferry-emulator`. */
  context?: string;
  namespace?: string;
}

export function kubeconfigYaml(options: KubeconfigOptions): string {
  const name = JSON.stringify(options.context ?? 'ferry-emulator');
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${JSON.stringify(options.server)}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${name}`,
    options.token === undefined ? '  user: {}' : `  user:\n    token: ${JSON.stringify(options.token)}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    ...(options.namespace ? [`    namespace: ${JSON.stringify(options.namespace)}`] : []),
    `current-context: ${name}`,
    'preferences: {}',
  ];
  return `${lines.join('\n')}\n`;
}
