import type { SQSRecord } from 'aws-lambda';
import { ThrottledError } from '../../src/errors';
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

function fakeDeps(fail: (name: string) => boolean | Error, delays = false) {
  const reconciled: string[] = [];
  const sent: QueuedMessage[] = [];
  const backoffs: Array<[string, number]> = [];
  const deps: BatchDeps = {
    kube: { listServices: async () => [newService('a'), newService('b'), newService('c', (s) => (s.spec!.type = 'ClusterIP'))] } as never,
    reconciler: {
      reconcile: async (namespace: string, name: string): Promise<ReconcileReport> => {
        const failure = fail(name);
        if (failure instanceof Error) throw failure;
        if (failure) throw new Error(`Throttling on ${name}`);
        reconciled.push(`${namespace}/${name}`);
        return { service: `${namespace}/${name}`, outcome: 'in-sync', actions: [] };
      },
      nodesChanged: async () => ({ done: [] }),
    } as never,
    queue: { delays, send: async (m) => void sent.push(...m) },
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
    const out = await processBatch([record('9', 'ferry.io/fanout', { kind: 'fanout', reason: 'node node-3 create' })], deps);
    expect(out.batchItemFailures).toEqual([]);
    expect(sent.map((m) => [m.group, m.dedupId])).toEqual([
      ['default/a', 'fanout-9-default/a'],
      ['default/b', 'fanout-9-default/b'],
    ]);
  });

  test('throttled work is deferred, not failed: a fresh delayed message, so no receive counts toward the dead-letter queue', async () => {
    const throttled = () => new ThrottledError('RegisterTargets: Throttling: Rate exceeded', { retryAfterMs: 10_000 });
    const { deps, sent, backoffs } = fakeDeps((name) => (name === 'a' ? throttled() : false), true);
    const out = await processBatch([record('1', 'default/a', { kind: 'service', namespace: 'default', name: 'a', full: true, deferred: 3 }, 1), record('2', 'default/b', svc('b'))], deps);
    expect(out.batchItemFailures).toEqual([]);
    expect(backoffs).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ group: 'default/a', dedupId: 'deferred-1', message: { kind: 'service', name: 'a', full: true, deferred: 4 } });
    // Jittered, at least the throttle's own hint (10 s), at most 5 s · 2³.
    expect(sent[0]!.delaySeconds).toBeGreaterThanOrEqual(10);
    expect(sent[0]!.delaySeconds).toBeLessThanOrEqual(40);
  });

  test('without a queue that can delay, throttled work falls back to a failure with backoff', async () => {
    const { deps, sent, backoffs } = fakeDeps((name) => (name === 'a' ? new ThrottledError('Throttling') : false), false);
    const out = await processBatch([record('1', 'default/a', svc('a'), 2)], deps);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: '1' }]);
    expect(sent).toEqual([]);
    expect(backoffs).toHaveLength(1);
  });

  test('a body that is not ferry work is dropped, not retried', async () => {
    const { deps } = fakeDeps(() => false);
    expect((await processBatch([record('5', 'g', '{"hello":1}'), record('6', 'g', 'not json')], deps)).batchItemFailures).toEqual([]);
  });
});
