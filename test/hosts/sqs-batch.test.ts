import type { SQSRecord } from 'aws-lambda';
import { processBatch, type BatchDeps } from '../../src/hosts/sqs-batch';
import { encodeMessage, type QueuedMessage, type WorkMessage } from '../../src/queue/messages';
import type { ReconcileReport } from '../../src/reconcile/reconciler';
import { CLUSTER, newService } from '../support/fixtures';

function record(id: string, group: string, body: WorkMessage | string, receives = 1): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: typeof body === 'string' ? body : encodeMessage(body),
    attributes: {
      ApproximateReceiveCount: String(receives),
      SentTimestamp: '1764100000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1764100000001',
      MessageGroupId: group,
      MessageDeduplicationId: `dedup-${id}`,
      SequenceNumber: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ferry.fifo',
    awsRegion: 'us-east-1',
  };
}

function fakeDeps(fail: (name: string) => boolean) {
  const reconciled: string[] = [];
  const sent: QueuedMessage[] = [];
  const backoffs: Array<[string, number]> = [];
  const deps: BatchDeps = {
    kube: { listServices: async () => [newService('a'), newService('b'), newService('c', (s) => (s.spec!.type = 'ClusterIP'))] } as never,
    reconciler: {
      reconcile: async (namespace: string, name: string): Promise<ReconcileReport> => {
        if (fail(name)) throw new Error(`Throttling on ${name}`);
        reconciled.push(`${namespace}/${name}`);
        return { service: `${namespace}/${name}`, outcome: 'in-sync', actions: [] };
      },
    } as never,
    queue: { send: async (m) => void sent.push(...m) },
    config: CLUSTER,
    backoff: async (r, s) => void backoffs.push([r.messageId, s]),
    log: () => undefined,
  };
  return { deps, reconciled, sent, backoffs };
}

const svc = (name: string): WorkMessage => ({ kind: 'service', namespace: 'default', name });

describe('processBatch (SQS FIFO, partial batch failures)', () => {
  test('a failed message fails the rest of its group in this batch; other groups go on', async () => {
    const { deps, reconciled, backoffs } = fakeDeps((name) => name === 'a');
    const out = await processBatch(
      [record('1', 'default/a', svc('a'), 3), record('2', 'default/b', svc('b')), record('3', 'default/a', svc('a')), record('4', 'default/b', svc('b'))],
      deps,
    );
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: '1' }, { itemIdentifier: '3' }]);
    expect(reconciled).toEqual(['default/b', 'default/b']);
    // Third receive: 5 s doubled twice.
    expect(backoffs).toEqual([['1', 20]]);
  });

  test('a fan-out becomes one message per ferry Service, each in its own group', async () => {
    const { deps, sent } = fakeDeps(() => false);
    await processBatch([record('9', 'ferry.io/fanout', { kind: 'fanout', reason: 'node node-3 create' })], deps);
    expect(sent.map((m) => [m.group, m.dedupId])).toEqual([
      ['default/a', 'fanout-9-default/a'],
      ['default/b', 'fanout-9-default/b'],
    ]);
  });

  test('a body that is not ferry work is dropped, not retried', async () => {
    const { deps } = fakeDeps(() => false);
    expect((await processBatch([record('5', 'g', '{"hello":1}'), record('6', 'g', 'not json')], deps)).batchItemFailures).toEqual([]);
  });
});
