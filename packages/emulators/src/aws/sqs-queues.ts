import type { JsonContext, JsonObject } from './json-protocol';
import { paginate } from './paging';
import { defaultAttributes, firstDifference, renderQueueAttributes, withAttributes } from './sqs-attributes';
import { sqsErrors } from './sqs-errors';
import { queueArn, queueUrl, resolveQueue, type SqsQueue } from './sqs-model';

/** The queue lifecycle: create, look up, configure, list, purge, delete. */

// "Queue names can have up to 80 characters … alphanumeric characters, hyphens, and
// underscores … a FIFO queue name must end with the .fifo suffix", which counts toward the 80.
const STANDARD_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
/** DeleteQueue and PurgeQueue both hold the name or the queue for 60 seconds. */
const COOL_DOWN_MS = 60_000;

export function createQueue(ctx: JsonContext): JsonObject {
  const { state, input } = ctx;
  const name = input.required('QueueName');
  const requested = input.stringMap('Attributes') ?? {};
  const tags = input.stringMap('tags') ?? {};
  const fifo = requested['FifoQueue']?.toLowerCase() === 'true';
  if (fifo && !FIFO_NAME.test(name)) {
    throw sqsErrors.invalidParameterValue(
      'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.',
    );
  }
  if (!fifo && !STANDARD_NAME.test(name)) throw sqsErrors.invalidParameterValue('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');

  const now = ctx.clock.now();
  const existing = state.queues.get(name);
  if (existing) {
    // CreateQueue is idempotent for the same name and attributes (tags are not compared).
    const differing = firstDifference(state, existing, requested);
    if (differing !== undefined) throw sqsErrors.queueNameExists(differing);
    return { QueueUrl: queueUrl(ctx, existing) };
  }
  const deletedAt = state.deletedQueues.get(name);
  if (deletedAt !== undefined && now - deletedAt < COOL_DOWN_MS) throw sqsErrors.queueDeletedRecently();

  const arn = queueArn(state, name);
  const queue: SqsQueue = {
    seq: state.nextSeq(),
    name,
    arn,
    fifo,
    createdAt: now,
    lastModifiedAt: now,
    attributes: withAttributes(state, { arn, fifo }, defaultAttributes(fifo), requested, true),
    tags: new Map(Object.entries(tags)),
    messages: [],
    dedup: new Map(),
    lastPurgeAt: undefined,
    receives: 0,
    sent: 0,
  };
  state.queues.set(name, queue);
  state.deletedQueues.delete(name);
  return { QueueUrl: queueUrl(ctx, queue) };
}

export function getQueueUrl(ctx: JsonContext): JsonObject {
  const name = ctx.input.required('QueueName');
  const owner = ctx.input.str('QueueOwnerAWSAccountId');
  const queue = owner === undefined || owner === ctx.state.accountId ? ctx.state.queues.get(name) : undefined;
  if (!queue) throw sqsErrors.queueDoesNotExist();
  return { QueueUrl: queueUrl(ctx, queue) };
}

export function getQueueAttributes(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  const names = ctx.input.strings('AttributeNames');
  return names === undefined ? {} : { Attributes: renderQueueAttributes(queue, names, ctx.clock.now()) };
}

export function setQueueAttributes(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  const next = withAttributes(ctx.state, queue, queue.attributes, ctx.input.stringMap('Attributes') ?? {}, false);
  queue.attributes.clear();
  for (const [name, value] of next) queue.attributes.set(name, value);
  queue.lastModifiedAt = ctx.clock.now();
  return {};
}

export function deleteQueue(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  ctx.state.queues.delete(queue.name);
  ctx.state.deletedQueues.set(queue.name, ctx.clock.now());
  ctx.signals.notify(queue.arn);
  return {};
}

export function listQueues(ctx: JsonContext): JsonObject {
  const prefix = ctx.input.str('QueueNamePrefix') ?? '';
  const queues = [...ctx.state.queues.values()].filter((q) => q.name.startsWith(prefix));
  const page = paginate(
    queues,
    ctx.input.str('NextToken'),
    ctx.input.int('MaxResults'),
    { defaultSize: 1000, min: 1, max: 1000 },
    {
      badToken: () => sqsErrors.invalidParameterValue('Invalid NextToken value.'),
      badSize: (size) => sqsErrors.invalidParameter('MaxResults', size, 'MaxResults must be an integer between 1 and 1000.'),
    },
  );
  return {
    ...(page.items.length > 0 ? { QueueUrls: page.items.map((q) => queueUrl(ctx, q)) } : {}),
    ...(page.next !== undefined ? { NextToken: page.next } : {}),
  };
}

export function purgeQueue(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  const now = ctx.clock.now();
  // "Only one PurgeQueue operation on a queue is allowed every 60 seconds."
  if (queue.lastPurgeAt !== undefined && now - queue.lastPurgeAt < COOL_DOWN_MS) throw sqsErrors.purgeInProgress(queue.name);
  queue.lastPurgeAt = now;
  queue.messages = [];
  return {};
}
