import { randomBytes } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import type { AwsEmulator, KubeEmulator } from '@ferry/emulators';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/local/sandbox';
import { launchInstance, nodeFor } from '../../src/local/seed';
import type { ReconcileReport } from '../../src/reconcile/reconciler';

/**
 * A whole world for integration tests: the Kubernetes emulator, "AWS" (the embedded
 * emulator, or LocalStack when AWS_ENDPOINT_URL is set), a seeded VPC with instances and
 * their Nodes, and a reconciler speaking to both over real HTTP through the real clients.
 */
export interface World extends Sandbox {
  kubeEmulator: KubeEmulator;
  /** undefined when the suite runs against LocalStack. */
  awsEmulator: AwsEmulator | undefined;
  core: CoreV1Api;
  reconcile(name: string, full?: boolean): Promise<ReconcileReport>;
  createService(name: string, spec?: Partial<NonNullable<V1Service['spec']>>, annotations?: Record<string, string>): Promise<V1Service>;
  /**
   * Switches a two-port Service between LoadBalancer (on fixed NodePorts, so that the model
   * is the same every time) and ClusterIP (which ferry must clean up after).
   */
  setType(name: string, type: 'LoadBalancer' | 'ClusterIP'): Promise<void>;
  addNode(): Promise<void>;
}

export const FIXED_PORTS = {
  ports: [
    { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 },
    { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 30443 },
  ],
};

export const EMBEDDED = !process.env.AWS_ENDPOINT_URL;

/** Registers a test that needs the embedded emulator (its fault injection, call log or snapshot). */
export function embeddedTest(name: string, fn: () => Promise<void>, timeout?: number): void {
  if (EMBEDDED) test(name, fn, timeout);
  // Against LocalStack there is no fault injection or normalised snapshot to use.
  else test.skip(`${name} [skipped: needs the embedded AWS emulator, AWS_ENDPOINT_URL is set]`, fn);
}

export async function startWorld(
  options: { nodes?: number; backoffBaseMs?: number; maxAttempts?: number; awsConcurrency?: number; emulator?: SandboxOptions['emulator'] } = {},
): Promise<World> {
  const sandbox = await startSandbox({
    cluster: `it-${randomBytes(3).toString('hex')}`,
    ...(EMBEDDED ? {} : { awsEndpoint: process.env.AWS_ENDPOINT_URL!, region: process.env.AWS_REGION ?? 'us-east-1' }),
    seed: { instances: options.nodes ?? 3, cidrBase: randomBytes(1)[0]! },
    aws: { backoffBaseMs: options.backoffBaseMs ?? 5, maxBackoffMs: 200, maxAttempts: options.maxAttempts ?? 10 },
    ...(options.awsConcurrency ? { awsConcurrency: options.awsConcurrency } : {}),
    ...(options.emulator ? { emulator: options.emulator } : {}),
  });
  const { kc, aws, seeded, reconciler } = sandbox;
  const core = kc.makeApiClient(CoreV1Api);
  let nodeCount = seeded.instances.length;

  return {
    ...sandbox,
    kubeEmulator: sandbox.kubeEmulator!,
    core,
    reconcile: (name, full = false) => reconciler.reconcile('default', name, { full }),
    async createService(name, spec = {}, annotations = {}) {
      return core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name, annotations },
          spec: {
            type: 'LoadBalancer',
            selector: { app: name },
            ports: [
              { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
              { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
            ],
            ...spec,
          },
        },
      });
    },
    async setType(name, type) {
      const nodePort = (port: number) => (type === 'LoadBalancer' ? { nodePort: port } : {});
      await core.patchNamespacedService(
        {
          namespace: 'default',
          name,
          body: {
            spec: {
              type,
              ports: [
                { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', ...nodePort(30080) },
                { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', ...nodePort(30443) },
              ],
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async addNode() {
      const subnet = seeded.subnets.find((s) => s.role === 'private')!;
      const instance = await launchInstance(aws, subnet, `node-${nodeCount}`, seeded.nodeSecurityGroupId);
      seeded.instances.push(instance);
      await core.createNode({ body: nodeFor(instance, nodeCount++) });
    },
  };
}
