import { decodeDelayed, forwardDelayed } from '../../src/queue/sqs';
import { serviceMessage, type QueuedMessage } from '../../src/queue/messages';

describe('the delay queue', () => {
  const body = (m: unknown) => JSON.stringify(m);

  test('a due message goes into its Service\'s FIFO group as it was queued', async () => {
    const queued = serviceMessage('default', 'web', 'resync-7-deep-default/web', true, 120);
    const sent: QueuedMessage[] = [];
    const forwarded = await forwardDelayed({ send: async (m) => void sent.push(...m) }, [body({ group: queued.group, dedupId: queued.dedupId, message: queued.message })]);
    expect(forwarded).toBe(1);
    expect(sent).toEqual([{ group: 'default/web', dedupId: 'resync-7-deep-default/web', message: { kind: 'service', namespace: 'default', name: 'web', full: true } }]);
  });

  test.each([
    ['not JSON', 'nope'],
    ['work for one Service in another Service\'s group', body({ group: 'kube-system/dns', dedupId: 'x', message: { kind: 'service', namespace: 'default', name: 'web' } })],
    ['a key no Service can have', body({ group: 'default/Web', dedupId: 'x', message: { kind: 'service', namespace: 'default', name: 'Web' } })],
    ['a deduplication id SQS would refuse', body({ group: 'default/web', dedupId: 'x'.repeat(129), message: { kind: 'service', namespace: 'default', name: 'web' } })],
  ])('%s is dropped', (_, text) => {
    expect(decodeDelayed(text)).toBeUndefined();
  });
});
