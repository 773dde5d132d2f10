/**
 * The node agent's cluster objects for `ferry manifests`: its ServiceAccount, a ClusterRole
 * that can only read Services, EndpointSlices and Nodes, the binding, and the DaemonSet.
 *
 * The DaemonSet runs on every node (it tolerates every taint), in the host network
 * namespace (it programs the node's netfilter and listens on NodePorts), as root but with
 * every capability dropped except NET_ADMIN (netfilter, conntrack, IPVS) and NET_RAW (the
 * raw socket iptables opens to read and replace its tables) — not privileged, no privilege
 * escalation, read-only root filesystem. It starts the image's agent entry point directly. iptables mode also gets
 * the host's /run/xtables.lock so it takes turns with other iptables users on the node.
 * Liveness probes /livez (stale rules), readiness /healthz (also: node being deleted).
 */
import { NAMESPACE } from './cluster';
import { AGENT_ENTRYPOINT } from './image';
import type { ProxyMode } from '../agent/types';

export const AGENT_NAME = 'ferry-agent';
export const HEALTHZ_PORT = 10256;
/** What the agent container may do as root; the DaemonSet drops every other capability. */
export const AGENT_CAPABILITIES: readonly string[] = ['NET_ADMIN', 'NET_RAW'];
export const METRICS_PORT = 10249;

export interface AgentManifestOptions {
  image: string;
  namespace?: string;
  /** @default 'nftables' */
  mode?: ProxyMode;
}

export function agentManifests(options: AgentManifestOptions): object[] {
  const namespace = options.namespace ?? NAMESPACE;
  const mode = options.mode ?? 'nftables';
  const labels = { 'app.kubernetes.io/name': 'ferry', 'app.kubernetes.io/component': 'agent' };
  const xtables = mode === 'iptables';
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_NAME, namespace, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: AGENT_NAME, labels },
      rules: [
        { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: AGENT_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AGENT_NAME },
      subjects: [{ kind: 'ServiceAccount', name: AGENT_NAME, namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: AGENT_NAME, namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: AGENT_NAME,
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            // Longer than the userspace mode's connection drain (20 s) on a rolling update.
            terminationGracePeriodSeconds: 30,
            // Service traffic of every node depends on it, as on kube-proxy.
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists' }],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            containers: [
              {
                name: 'agent',
                image: options.image,
                command: [...AGENT_ENTRYPOINT],
                args: ['--mode', mode, '--node-name', '$(NODE_NAME)', `--healthz-bind=0.0.0.0:${HEALTHZ_PORT}`, `--metrics-bind=0.0.0.0:${METRICS_PORT}`],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                ports: [
                  { name: 'healthz', containerPort: HEALTHZ_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                ],
                livenessProbe: { httpGet: { path: '/livez', port: HEALTHZ_PORT }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 3 },
                readinessProbe: { httpGet: { path: '/healthz', port: HEALTHZ_PORT }, periodSeconds: 5 },
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
                securityContext: {
                  privileged: false,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  // Root for netlink and raw sockets, with only the capabilities the data path needs.
                  runAsUser: 0,
                  capabilities: { drop: ['ALL'], add: [...AGENT_CAPABILITIES] },
                },
                volumeMounts: [
                  { name: 'tmp', mountPath: '/tmp' },
                  ...(xtables ? [{ name: 'xtables-lock', mountPath: '/run/xtables.lock' }] : []),
                ],
              },
            ],
            volumes: [
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
              ...(xtables ? [{ name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } }] : []),
            ],
          },
        },
      },
    },
  ];
}
