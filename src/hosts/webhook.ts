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
 * anything unauthenticated is refused before its body is looked at ({@link checkHead} needs
 * only the method, path and headers), bad bodies get a 4xx naming what is wrong, the work
 * per request is bounded whatever the body holds, the queue gets a bounded wait, and no
 * input yields a 5xx.
 */
export interface WebhookHead {
  method: string;
  /** The request path, e.g. `/admit/<token>`. */
  path: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
}

export interface WebhookRequest extends WebhookHead {
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
  /** Who ferry runs as (`FERRY_CONTROLLER_USERNAMES`): the only writers of `status.ferry.io/`. */
  controllerUsernames: readonly string[];
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

/**
 * An AdmissionReview of a Service or Node nests about 15 levels (managedFields included).
 * JSON.parse copes with any depth, but spends ~200 ms on a megabyte of `[[[…`; a byte scan
 * refuses that in about a millisecond.
 */
export const MAX_JSON_DEPTH = 100;

export function newWebhookStats(): WebhookStats {
  return { requests: 0, denied: 0, enqueued: 0, queueMisses: 0 };
}

/**
 * What can be decided from the method, path and headers alone: 401 without the token, 405
 * for anything but POST, 413 for a declared length over the limit. A host calls this before
 * it reads a byte of the body, and answers with the result if there is one.
 */
export function checkHead(head: WebhookHead, deps: Pick<WebhookDeps, 'token'>): WebhookResponse | undefined {
  if (!authorized(head, deps.token)) return text(401, 'unauthorized: give the webhook token in the path (/admit/<token>) or as a Bearer token');
  if (head.method !== 'POST') return text(405, `method ${head.method} not allowed: the webhook takes POST`);
  const declared = head.headers['content-length'];
  if (declared !== undefined) {
    if (!/^\d+$/.test(declared)) return text(400, `Content-Length ${JSON.stringify(declared.slice(0, 40))} is not a number of bytes`);
    if (Number(declared) > MAX_BODY_BYTES) return tooLarge(`request body of ${declared.slice(0, 40)} bytes`);
  }
  return undefined;
}

export function tooLarge(what: string): WebhookResponse {
  return text(413, `${what} is over the limit of ${MAX_BODY_BYTES}`);
}

export async function handleWebhook(req: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  deps.stats.requests++;
  let uid: string | undefined;
  try {
    const refused = checkHead(req, deps);
    if (refused) return refused;
    if (req.body.length > MAX_BODY_BYTES) return tooLarge(`request body of ${req.body.length} bytes`);
    if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) {
      return text(400, `request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels; an AdmissionReview needs far fewer`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch (err) {
      return text(400, `request body is not JSON: ${describeError(err).slice(0, 200)}`);
    }
    const review = parseAdmissionReview(parsed);
    if (!review.ok) return text(400, `request body is not an AdmissionReview v1: ${review.error}`);
    uid = review.request.uid;

    const decision = admit(review.request, deps.config, { controllerUsernames: deps.controllerUsernames });
    if (!decision.response.allowed) deps.stats.denied++;
    if (decision.enqueue.length > 0) await enqueue(decision.enqueue, deps);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: reviewResponse(decision.response) };
  } catch (err) {
    // A bug here must not block the cluster's writes; failurePolicy is Ignore on the
    // cluster side, and answering "allowed" keeps the same promise when we can answer.
    deps.log?.({ level: 'error', msg: 'webhook failed', error: describeError(err).slice(0, 500) });
    return uid
      ? { status: 200, headers: { 'content-type': 'application/json' }, body: reviewResponse({ uid, allowed: true }) }
      : text(400, 'request could not be processed');
  }
}

/** Whether JSON text opens more than `limit` arrays or objects at once (strings skipped). */
function nestsDeeperThan(body: Buffer, limit: number): boolean {
  // Each level takes at least one byte to open it.
  if (body.length <= limit) return false;
  let depth = 0;
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === 0x22) {
      // Most of an AdmissionReview is strings: jump from quote to quote (memchr for long
      // ones, a few bytes by hand first for the many short ones), and a quote closes the
      // string unless an odd run of backslashes precedes it.
      const start = ++i;
      for (;;) {
        let quote = -1;
        for (const end = Math.min(i + 24, body.length); i < end; i++) {
          if (body[i] === 0x22) {
            quote = i;
            break;
          }
        }
        if (quote < 0) quote = body.indexOf(0x22, i);
        if (quote < 0) return false;
        let slashes = 0;
        while (quote - slashes - 1 >= start && body[quote - slashes - 1] === 0x5c) slashes++;
        i = quote + 1;
        if (slashes % 2 === 0) break;
      }
    } else {
      if (c === 0x5b || c === 0x7b) {
        if (++depth > limit) return true;
      } else if (c === 0x5d || c === 0x7d) depth--;
      i++;
    }
  }
  return false;
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
function authorized(req: WebhookHead, token: string): boolean {
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

function text(status: number, message: string): WebhookResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${message}\n` };
}
