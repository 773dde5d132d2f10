/**
 * What travels on the work queue. Level-based: a message only says "look at this Service"
 * (or "a Node changed, look at every load balancer"); the worker reads the current state.
 *
 * On SQS FIFO every message of one Service shares a message group, so two reconciles of one
 * Service never run at once; a fan-out message has its own group and turns into one message
 * per Service in that Service's group.
 */
export type WorkMessage =
  /** `deferred`: how many times it came back throttled or in progress (its backoff grows with it). */
  | { kind: 'service'; namespace: string; name: string; full?: boolean; deferred?: number }
  | { kind: 'fanout'; reason: string };

export interface QueuedMessage {
  message: WorkMessage;
  /** SQS FIFO MessageGroupId. */
  group: string;
  /** SQS FIFO MessageDeduplicationId: at most 128 characters. */
  dedupId: string;
  /**
   * Hold the message back this long (at most 900 s, SQS's limit): how the resync paces deep
   * checks across however many consumers run them.
   */
  delaySeconds?: number;
}

/** SQS holds a message back at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

export const FANOUT_GROUP = 'ferry.io/fanout';

/**
 * A namespace and Service name as the API server accepts them (DNS-1123 / DNS-1035 labels
 * of at most 63 characters). Anything else cannot name a Service: a message carrying it is
 * dropped rather than retried against an API server that can only refuse it.
 */
export function isServiceKey(namespace: string, name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace) && /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}

export function serviceMessage(namespace: string, name: string, dedupId: string, full = false, delaySeconds = 0): QueuedMessage {
  return {
    message: { kind: 'service', namespace, name, ...(full ? { full } : {}) },
    group: `${namespace}/${name}`,
    dedupId: dedupSafe(dedupId),
    ...(delaySeconds > 0 ? { delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds)) } : {}),
  };
}

export function fanoutMessage(reason: string, dedupId: string): QueuedMessage {
  return { message: { kind: 'fanout', reason }, group: FANOUT_GROUP, dedupId: dedupSafe(dedupId) };
}

/** SQS allows alphanumerics and punctuation, 128 characters at most; long ids keep a hash suffix. */
function dedupSafe(id: string): string {
  const clean = id.replace(/[^\x21-\x7e]/g, '_');
  if (clean.length <= 128) return clean;
  let h = 0;
  for (let i = 0; i < clean.length; i++) h = (Math.imul(h, 31) + clean.charCodeAt(i)) | 0;
  return `${clean.slice(0, 119)}~${(h >>> 0).toString(16).padStart(8, '0')}`;
}

export function encodeMessage(m: WorkMessage): string {
  return JSON.stringify(m);
}

/** Parses a queue body; undefined for anything that is not a WorkMessage (it is dropped, not retried). */
export function decodeMessage(body: string): WorkMessage | undefined {
  return asWorkMessage(parseObject(body));
}

/** A JSON object from a queue body; undefined for anything else. */
export function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A decoded value as a WorkMessage, checked field by field; undefined if it is not one. */
export function asWorkMessage(v: unknown): WorkMessage | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<string, unknown>;
  if (m.kind === 'service' && typeof m.namespace === 'string' && typeof m.name === 'string' && isServiceKey(m.namespace, m.name)) {
    const deferred = Number.isInteger(m.deferred) && (m.deferred as number) > 0 ? Math.min(m.deferred as number, 1000) : undefined;
    return { kind: 'service', namespace: m.namespace, name: m.name, ...(m.full === true ? { full: true } : {}), ...(deferred ? { deferred } : {}) };
  }
  if (m.kind === 'fanout' && typeof m.reason === 'string') return { kind: 'fanout', reason: m.reason };
  return undefined;
}

/** Where queued work goes: SQS FIFO in Lambda, an in-process queue in `ferry controller`. */
export interface WorkQueue {
  send(messages: readonly QueuedMessage[]): Promise<void>;
  /** Whether `delaySeconds` is honoured (SQS FIFO cannot delay one message: it takes a delay queue). */
  readonly delays?: boolean;
}
