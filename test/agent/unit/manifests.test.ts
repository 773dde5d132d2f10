import { agentManifests } from '../../../src/manifests/agent';
import { DEFAULT_AGENT_IMAGE } from '../../../src/manifests/image';

test('the DaemonSet, its ServiceAccount and read-only RBAC (golden)', () => {
  expect(agentManifests({ image: 'ghcr.io/example/ferry:1.0.0' })).toMatchSnapshot();
});

test('least privilege: NET_ADMIN and NET_RAW only, not privileged, read-only root; RBAC can only read', () => {
  const [, role, , daemonSet] = agentManifests({ image: 'img', namespace: 'infra' }) as any[];
  const container = daemonSet.spec.template.spec.containers[0];
  expect(container.securityContext).toEqual({
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsUser: 0,
    capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
  });
  expect(daemonSet.spec.template.spec.hostNetwork).toBe(true);
  expect(daemonSet.metadata.namespace).toBe('infra');
  expect(role.rules.flatMap((r: { verbs: string[] }) => r.verbs)).toEqual(['get', 'list', 'watch', 'get', 'list', 'watch']);
  expect(container.livenessProbe.httpGet).toEqual({ path: '/livez', port: 10256 });
  expect(container.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 10256 });
});

test('iptables mode shares the host xtables lock; other modes do not mount it', () => {
  const mounts = (mode: 'iptables' | 'nftables') => (agentManifests({ image: 'img', mode })[3] as any).spec.template.spec.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath);
  expect(mounts('iptables')).toContain('/run/xtables.lock');
  expect(mounts('nftables')).not.toContain('/run/xtables.lock');
});

test("the default image is this release's: ghcr.io/ferry-io/ferry:<package.json version>", () => {
  const { version } = require('../../../package.json') as { version: string };
  expect(DEFAULT_AGENT_IMAGE).toBe(`ghcr.io/ferry-io/ferry:${version}`);
});
