import { createHash, timingSafeEqual } from 'node:crypto';
import { admit } from '../admission/admit';
import { parseAdmissionReview, reviewResponse } from '../admission/review';
import { describeError } from '../errors';
import type { ServiceClassConfig } from '../model/service';
import type { WorkQueue } from '../queue/messages';
import type { Log } from '../util/log';

/**
 * The admission webhook over plain HTTP request/response data, shared by the Lambda
 * Function URL and `ferry controller`. It must never hold the cluster up or fall over:
 * anything unauthenticated is refused before its body is looked at, bad bodies get a 4xx
 * naming what is wrong, the queue gets a bounded wait, and no input yields a 5xx.
 */
export interface WebhookRequest {
  method: string;
  /** The request path, e.g. `/admit/<token>`. */
  path: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface WebhookDeps {
  token: string;
  queue: WorkQueue;
  config: ServiceClassConfig;
  /** How long an admission answer may wait for the queue (the API server's timeout is short). */
  enqueueTimeoutMs: number;
  stats: WebhookStats;
  log?: Log;
}

export interface WebhookStats {
  requests: number;
  denied: number;
  enqueued: number;
  /** Admissions whose messages could not be queued in time; the resync catches up. */
  queueMisses: number;
}

export const MAX_BODY_BYTES = 1024 * 1024;

export function newWebhookStats(): WebhookStats {
  return { requests: 0, denied: 0, enqueued: 0, queueMisses: 0 };
}

export async function handleWebhook(req: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  deps.stats.requests++;
  try {
    if (!authorized(req, deps.token)) return text(401, 'unauthorized: give the webhook token in the path (/admit/<token>) or as a Bearer token');
    if (req.method !== 'POST') return text(405, `method ${req.method} not allowed: the webhook takes POST`);
    if (req.body.length > MAX_BODY_BYTES) return text(413, `request body of ${req.body.length} bytes is over the limit of ${MAX_BODY_BYTES}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch (err) {
      return text(400, `request body is not JSON: ${describeError(err)}`);
    }
    const review = parseAdmissionReview(parsed);
    if (!review.ok) return text(400, `request body is not an AdmissionReview v1: ${review.error}`);

    const decision = admit(review.request, deps.config);
    if (!decision.response.allowed) deps.stats.denied++;
    if (decision.enqueue.length > 0) await enqueue(decision.enqueue, deps);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: reviewResponse(decision.response) };
  } catch (err) {
    // A bug here must not block the cluster's writes; failurePolicy is Ignore on the
    // cluster side, and answering "allowed" keeps the same promise when we can answer.
    deps.log?.({ level: 'error', msg: 'webhook failed', error: describeError(err) });
    const uid = safeUid(req.body);
    return uid
      ? { status: 200, headers: { 'content-type': 'application/json' }, body: reviewResponse({ uid, allowed: true }) }
      : text(400, 'request could not be processed');
  }
}

async function enqueue(messages: Parameters<WorkQueue['send']>[0], deps: WebhookDeps): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue did not answer within ${deps.enqueueTimeoutMs} ms`)), deps.enqueueTimeoutMs);
  });
  try {
    await Promise.race([deps.queue.send(messages), timeout]);
    deps.stats.enqueued += messages.length;
  } catch (err) {
    deps.stats.queueMisses++;
    deps.log?.({ level: 'warn', msg: 'could not queue admission work; the resync will catch up', error: describeError(err), messages: messages.length });
  } finally {
    clearTimeout(timer);
  }
}

/** The token from `/admit/<token>` or `Authorization: Bearer <token>`, compared in constant time. */
function authorized(req: WebhookRequest, token: string): boolean {
  if (!token) return false;
  const fromPath = /^\/admit\/([^/?#]+)\/?$/.exec(req.path)?.[1];
  const fromHeader = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  return [fromPath, fromHeader].some((given) => given !== undefined && sameSecret(decodeSafe(given), token));
}

function sameSecret(given: string, token: string): boolean {
  // Hashing first gives equal lengths, so timingSafeEqual never leaks the token's length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function safeUid(body: Buffer): string | undefined {
  try {
    const uid = (JSON.parse(body.toString('utf8')) as { request?: { uid?: unknown } }).request?.uid;
    return typeof uid === 'string' && uid.length > 0 && uid.length <= 128 ? uid : undefined;
  } catch {
    return undefined;
  }
}

function text(status: number, message: string): WebhookResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${message}\n` };
}
