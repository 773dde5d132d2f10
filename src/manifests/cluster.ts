/**
 * What a cluster needs for ferry's serverless controller: the ValidatingWebhookConfiguration
 * that calls the webhook, and the identity whose token the kubeconfig secret holds — with
 * exactly the permissions the reconciler and resync use, nothing more.
 */
export interface ClusterManifestOptions {
  /** The webhook's base URL (the Lambda Function URL, or `ferry controller`'s). */
  webhookUrl: string;
  token: string;
  /** PEM of the CA that signed the webhook's certificate; omit for a publicly trusted one (Lambda). */
  caBundle?: string;
  namespace?: string;
}

export const NAMESPACE = 'ferry-system';
export const SERVICE_ACCOUNT = 'ferry-controller';

export function clusterManifests(options: ClusterManifestOptions): object[] {
  const namespace = options.namespace ?? NAMESPACE;
  const base = options.webhookUrl.replace(/\/+$/, '');
  const url = `${base}/admit/${encodeURIComponent(options.token)}`;
  const labels = { 'app.kubernetes.io/name': 'ferry', 'app.kubernetes.io/component': 'controller' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace, labels } },
    {
      // A long-lived token for the kubeconfig in Secrets Manager; Lambda cannot use projected tokens.
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: `${SERVICE_ACCOUNT}-token`, namespace, labels, annotations: { 'kubernetes.io/service-account.name': SERVICE_ACCOUNT } },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'ferry-controller', labels },
      rules: [
        { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        // Finalizer and ferry's status.ferry.io/ annotations; then the NLB's hostname in status.
        { apiGroups: [''], resources: ['services'], verbs: ['patch'] },
        { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
        // Events are bumped on repeat, hence get beside create and patch.
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'ferry-controller', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ferry-controller' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace }],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'ferry', labels },
      webhooks: [webhook('services.ferry.io', 'services', url, options.caBundle), webhook('nodes.ferry.io', 'nodes', url, options.caBundle)],
    },
  ];
}

function webhook(name: string, resource: string, url: string, caBundle: string | undefined): object {
  return {
    name,
    admissionReviewVersions: ['v1'],
    // ferry must never block the cluster: if the webhook is down, writes go through and the resync catches up.
    failurePolicy: 'Ignore',
    timeoutSeconds: 3,
    sideEffects: 'NoneOnDryRun',
    matchPolicy: 'Equivalent',
    clientConfig: { url, ...(caBundle ? { caBundle: Buffer.from(caBundle).toString('base64') } : {}) },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: [resource], scope: '*' }],
  };
}
