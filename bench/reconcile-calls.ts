import { CoreV1Api } from '@kubernetes/client-node';
import { collectGarbage } from '../src/reconcile/gc';
import { startSandbox } from '../src/local/sandbox';
import { launchInstance, nodeFor } from '../src/local/seed';

/**
 * AWS calls by operation for the life of a two-port Service on 3, 30 and 300 nodes, as the
 * embedded emulator recorded them on the wire. Calls answered with an error count too (a
 * lookup by name of a resource that does not exist yet is a call all the same).
 */
export interface CallsRow {
  nodes: number;
  step: string;
  total: number;
  writes: number;
  byOperation: Record<string, number>;
}

const STEPS = ['create (the cluster\'s first)', 'create (after a resync)', 'unchanged (checkpoint)', 'unchanged --full', 'one node added', 'delete'] as const;

export async function measureReconcileCalls(nodeCounts = [3, 30, 300]): Promise<CallsRow[]> {
  const rows: CallsRow[] = [];
  for (const nodes of nodeCounts) {
    const sandbox = await startSandbox({ cluster: 'bench', seed: { instances: nodes } });
    try {
      const emulator = sandbox.awsEmulator!;
      const core = sandbox.kc.makeApiClient(CoreV1Api);
      await core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name: 'web' },
          spec: {
            type: 'LoadBalancer',
            ports: [
              { name: 'http', port: 80, targetPort: 8080 },
              { name: 'https', port: 443, targetPort: 8443 },
            ],
          },
        },
      });
      const step = async (name: (typeof STEPS)[number], before: () => Promise<unknown>, full = false, service = 'web') => {
        await before();
        emulator.clearCalls();
        await sandbox.reconciler.reconcile('default', service, { full });
        const byOperation = emulator.countCalls({ includeFailed: true });
        const writes = Object.values(emulator.countCalls({ mutating: true, includeFailed: true })).reduce((a, b) => a + b, 0);
        rows.push({ nodes, step: name, total: Object.values(byOperation).reduce((a, b) => a + b, 0), writes, byOperation });
      };
      const none = async () => undefined;
      await step("create (the cluster's first)", none);
      // The first Service also makes the cluster's backend group and opens the nodes to it;
      // once a resync's sweep has recorded that, later Services need no look at the nodes.
      await step(
        'create (after a resync)',
        async () => {
          await collectGarbage(sandbox.kube, sandbox.aws, { ...sandbox.options, awsConcurrency: 4 });
          await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'api' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'https', port: 443, targetPort: 8443 }] } } });
        },
        false,
        'api',
      );
      await step('unchanged (checkpoint)', none);
      await step('unchanged --full', none, true);
      await step('one node added', async () => {
        const subnet = sandbox.seeded.subnets.find((s) => s.role === 'private')!;
        const instance = await launchInstance(sandbox.aws, subnet, `node-${nodes}`, sandbox.seeded.nodeSecurityGroupId);
        await core.createNode({ body: nodeFor(instance, nodes) });
      });
      await step('delete', () => core.deleteNamespacedService({ namespace: 'default', name: 'web' }));
    } finally {
      await sandbox.close();
    }
  }
  return rows;
}

export function formatCallsTable(rows: CallsRow[]): string {
  const lines = ['| nodes | step | AWS calls | of which writes | by operation |', '|---:|---|---:|---:|---|'];
  for (const r of rows) {
    const ops = Object.entries(r.byOperation)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    lines.push(`| ${r.nodes} | ${r.step} | ${r.total} | ${r.writes} | ${ops || '—'} |`);
  }
  return lines.join('\n');
}
