import { AwsError } from './errors';
import type { JsonContext, JsonInput, JsonObject } from './json-protocol';
import { batchEntries, runBatch } from './sqs-batch';
import { sqsErrors } from './sqs-errors';
import { checkFifoId, deduplicationId, findDuplicate, nextSequenceNumber, rememberAccepted } from './sqs-fifo';
import { md5Hex, md5OfAttributes } from './sqs-md5';
import { intAttribute, resolveQueue, type SqsMessage, type SqsMessageAttribute, type SqsQueue } from './sqs-model';

/** SendMessage and SendMessageBatch. */

// The characters SQS accepts in bodies and string attributes (the XML 1.0 set).
const VALID_TEXT = /^[\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/;
const ATTRIBUTE_TYPE = /^(String|Number|Binary)(\..+)?$/;
const MAX_ATTRIBUTES = 10;
/** "The maximum total payload size (the sum of the individual lengths of all of the batched messages) is 1 MiB." */
const MAX_BATCH_BYTES = 1_048_576;

interface Outgoing {
  readonly body: string;
  readonly attributes: Map<string, SqsMessageAttribute>;
  readonly awsTraceHeader: string | undefined;
  readonly delaySeconds: number | undefined;
  readonly groupId: string | undefined;
  readonly dedupId: string | undefined;
  readonly bytes: number;
}

export function sendMessage(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  return enqueue(ctx, queue, readOutgoing(queue, ctx.input, false));
}

export function sendMessageBatch(ctx: JsonContext): JsonObject {
  const queue = resolveQueue(ctx);
  const entries = batchEntries(ctx.input, 'SendMessageBatchRequestEntry');
  // Checked for the whole batch before any entry is sent: AWS fails the request, not the entry.
  if (queue.fifo) {
    for (const entry of entries) {
      if (!entry.str('MessageGroupId')) throw sqsErrors.invalidParameterValue('The request must contain the parameter MessageGroupId.');
      // Throws when the queue has neither this entry's id nor content-based deduplication.
      deduplicationId(queue, entry.str('MessageDeduplicationId'), entry.str('MessageBody') ?? '');
    }
  }
  const total = entries.reduce((sum, entry) => sum + entryBytes(entry), 0);
  if (total > MAX_BATCH_BYTES) throw sqsErrors.batchTooLong(MAX_BATCH_BYTES, total);
  return runBatch(entries, (entry) => enqueue(ctx, queue, readOutgoing(queue, entry, true)));
}

function readOutgoing(queue: SqsQueue, entry: JsonInput, inBatch: boolean): Outgoing {
  const body = entry.str('MessageBody');
  if (body === undefined || body === '') throw sqsErrors.missingParameter('MessageBody');
  if (!VALID_TEXT.test(body)) throw sqsErrors.invalidMessageContents();
  const attributes = readAttributes(entry);
  const awsTraceHeader = readTraceHeader(entry);
  const bytes = Buffer.byteLength(body) + attributeBytes(attributes);
  const limit = intAttribute(queue, 'MaximumMessageSize');
  if (bytes > limit) throw sqsErrors.invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`);

  const delaySeconds = entry.int('DelaySeconds');
  const groupId = entry.str('MessageGroupId');
  const explicitDedupId = entry.str('MessageDeduplicationId');
  if (groupId !== undefined && groupId !== '') checkFifoId('MessageGroupId', groupId);
  if (!queue.fifo) {
    if (explicitDedupId !== undefined) throw sqsErrors.wrongQueueType('MessageDeduplicationId', explicitDedupId);
    if (delaySeconds !== undefined && (delaySeconds < 0 || delaySeconds > 900)) {
      throw sqsErrors.invalidParameter('DelaySeconds', delaySeconds, 'DelaySeconds must be >= 0 and <= 900.');
    }
    // A group id on a standard queue marks a tenant of a fair queue; it orders nothing.
    return { body, attributes, awsTraceHeader, delaySeconds, groupId, dedupId: undefined, bytes };
  }
  // FIFO queues delay only per queue; an explicit 0 is harmless.
  if (delaySeconds !== undefined && delaySeconds !== 0) throw sqsErrors.wrongQueueType('DelaySeconds', delaySeconds);
  if (groupId === undefined || groupId === '') {
    throw inBatch ? sqsErrors.invalidParameterValue('The request must contain the parameter MessageGroupId.') : sqsErrors.missingParameter('MessageGroupId');
  }
  if (explicitDedupId !== undefined) checkFifoId('MessageDeduplicationId', explicitDedupId);
  return { body, attributes, awsTraceHeader, delaySeconds: undefined, groupId, dedupId: deduplicationId(queue, explicitDedupId, body), bytes };
}

function enqueue(ctx: JsonContext, queue: SqsQueue, out: Outgoing): JsonObject {
  const now = ctx.clock.now();
  const digests = {
    MD5OfMessageBody: md5Hex(out.body),
    MD5OfMessageAttributes: md5OfAttributes(out.attributes),
    MD5OfMessageSystemAttributes: out.awsTraceHeader === undefined ? undefined : md5OfAttributes(traceHeaderAttributes(out.awsTraceHeader)),
  };
  let sequenceNumber: string | undefined;
  if (queue.fifo) {
    const duplicate = findDuplicate(queue, out.groupId!, out.dedupId!, now);
    // A duplicate is accepted (the sender cannot tell) but not delivered a second time.
    if (duplicate) return { ...digests, MessageId: duplicate.messageId, SequenceNumber: duplicate.sequenceNumber };
    sequenceNumber = nextSequenceNumber(queue);
  }
  const delaySeconds = out.delaySeconds ?? intAttribute(queue, 'DelaySeconds');
  const message: SqsMessage = {
    seq: ctx.state.nextSeq(),
    messageId: ctx.state.uuid(),
    body: out.body,
    md5OfBody: digests.MD5OfMessageBody,
    messageAttributes: out.attributes,
    awsTraceHeader: out.awsTraceHeader,
    sentAt: now,
    groupId: out.groupId,
    dedupId: out.dedupId,
    sequenceNumber,
    visibleAt: now + delaySeconds * 1000,
    receiveCount: 0,
    firstReceivedAt: undefined,
    receivedAt: undefined,
    receipt: undefined,
    deadLetterSourceArn: undefined,
  };
  queue.messages.push(message);
  if (queue.fifo) rememberAccepted(queue, out.groupId!, out.dedupId!, message.messageId, sequenceNumber!, now);
  ctx.signals.notify(queue.arn);
  return { ...digests, MessageId: message.messageId, SequenceNumber: sequenceNumber };
}

/** MessageAttributes, checked as SQS checks them (names, types, non-empty values, at most 10). */
function readAttributes(entry: JsonInput): Map<string, SqsMessageAttribute> {
  const given = entry.structMap('MessageAttributes') ?? new Map<string, JsonInput>();
  if (given.size > MAX_ATTRIBUTES) throw sqsErrors.invalidParameterValue(`Number of message attributes [${given.size}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
  const out = new Map<string, SqsMessageAttribute>();
  for (const [name, value] of given) {
    if (!ATTRIBUTE_NAME.test(name) || /^(aws|amazon)\./i.test(name)) throw sqsErrors.invalidParameterValue(`Message (user) attribute name '${name}' is invalid.`);
    const type = value.str('DataType') ?? '';
    if (!ATTRIBUTE_TYPE.test(type)) {
      throw sqsErrors.invalidParameterValue(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    const kind = type.split('.')[0]!;
    if (kind === 'Binary') {
      const binary = value.str('BinaryValue');
      if (!binary) throw sqsErrors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`);
      out.set(name, { DataType: type, BinaryValue: binary });
      continue;
    }
    const text = value.str('StringValue');
    if (!text) throw sqsErrors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type '${kind}'.`);
    if (kind === 'Number' && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
      throw sqsErrors.invalidParameterValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
    }
    if (!VALID_TEXT.test(text)) throw sqsErrors.invalidMessageContents();
    out.set(name, { DataType: type, StringValue: text });
  }
  return out;
}

/** MessageSystemAttributes: AWSTraceHeader is the only one a sender may set. */
function readTraceHeader(entry: JsonInput): string | undefined {
  const given = entry.structMap('MessageSystemAttributes');
  if (!given) return undefined;
  for (const name of given.keys()) if (name !== 'AWSTraceHeader') throw sqsErrors.invalidParameterValue(`Message system attribute name '${name}' is invalid.`);
  const trace = given.get('AWSTraceHeader');
  return trace ? (trace.str('StringValue') ?? undefined) : undefined;
}

function traceHeaderAttributes(value: string): Map<string, SqsMessageAttribute> {
  return new Map([['AWSTraceHeader', { DataType: 'String', StringValue: value }]]);
}

/** An entry's size for the batch limit; a malformed entry counts its body only (it fails on its own later). */
function entryBytes(entry: JsonInput): number {
  const body = Buffer.byteLength(entry.str('MessageBody') ?? '');
  try {
    return body + attributeBytes(readAttributes(entry));
  } catch (error) {
    if (error instanceof AwsError) return body;
    throw error;
  }
}

/** Attribute names, types and values all count toward the message size. */
function attributeBytes(attributes: ReadonlyMap<string, SqsMessageAttribute>): number {
  let total = 0;
  for (const [name, value] of attributes) {
    total += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    total += value.BinaryValue !== undefined ? Buffer.from(value.BinaryValue, 'base64').length : Buffer.byteLength(value.StringValue ?? '');
  }
  return total;
}
