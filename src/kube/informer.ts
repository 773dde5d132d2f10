import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { describeError } from '../errors';
import { backoffDelay } from '../util/backoff';
import type { Log } from '../util/log';

/**
 * A list-then-watch cache that keeps going: client-go's Reflector, reduced to what ferry
 * needs. It replaces client-node 1.x's ListWatch + Watch (dist/cache.js, dist/watch.js in
 * 1.4), which leave the hard parts to the caller:
 *
 * - Watch sets `AbortSignal.timeout(30000)` and overwrites it on the next line
 *   (watch.js:28-30), so nothing bounds a watch; ListWatch asks for no `timeoutSeconds` and
 *   no bookmarks (cache.js:119-127). A watch whose connection died without a FIN or RST
 *   (a NAT or proxy dropping it) waits forever, and the informer hears nothing again.
 * - Watch hands back its AbortController only once the response headers are in
 *   (watch.js:41, 76), so a watch to a blackholed server can be neither timed out nor
 *   stopped; the list call has no timeout either.
 * - ListWatch emits `connect` before it lists (cache.js:104), so a backoff reset there resets
 *   on every attempt; on any error but 410 it emits `error` and stops (cache.js:96-99), and
 *   a watch that ends normally is reopened at once, however quickly it ended (a hot loop
 *   against a server that accepts and closes).
 *
 * So this informer:
 * - lists with a deadline (a plain GET: its objects are plain JSON, as the watch's events
 *   are, and the agent loads none of client-node's generated API), then watches with a
 *   random `timeoutSeconds` between the minimum and twice it (client-go's
 *   minWatchTimeout; 5–10 minutes by default) and
 *   `allowWatchBookmarks=true`; events and bookmarks advance the resourceVersion, so a
 *   watch that ended by its timeout resumes without a relist;
 * - treats a watch that has brought nothing (no event, no bookmark) for the minimum timeout
 *   as dead: the API server sends a bookmark every minute and one before the deadline, so a
 *   live watch is never silent that long. It is aborted and counted as a failure;
 * - after a failure relists (deleted objects are reported as removed); attempts start at
 *   least a backoff apart (1 s doubling up to 30 s, util/backoff), so one that already took
 *   that long — a watch presumed dead, a request past its deadline — is retried at once.
 *   The backoff resets only once a list has succeeded and the watch after it brought
 *   something: a server that lists but refuses or drops watches keeps backing off;
 * - after a 410 (history compacted) relists at once;
 * - logs a failure when the informer starts failing and once when it is back, each retry
 *   only at debug level.
 *
 * Whatever the caller derived from earlier events stays in force meanwhile.
 */
export interface InformerHandlers<T> {
  /** The object's current version (add or update). */
  upsert(obj: T): void;
  remove(obj: T): void;
  /** The first list has been delivered. */
  synced?(): void;
}

export interface InformerOptions {
  /** For log lines: what is being watched. */
  name: string;
  log: Log;
  labelSelector?: string;
  fieldSelector?: string;
  /** Delay before the first retry after a failure; doubles per failure up to {@link maxRetryMs}. Default 1 s. */
  retryMs?: number;
  /** Default 30 s (client-go's cap). */
  maxRetryMs?: number;
  /** The shortest watch asked for, in whole seconds; each watch asks for 1–2× this. Default 300. */
  watchTimeoutSeconds?: number;
  /** How long a list, or a watch's response headers, may take. Default 60 s. */
  requestTimeoutMs?: number;
  /** Test seam for the watch timeouts. */
  random?: () => number;
}

export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;
const DEFAULT_RETRY_MS = 1000;
const DEFAULT_MAX_RETRY_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** client-go's "very short watch": closed within a second with nothing in it. */
const SHORT_WATCH_MS = 1000;
/** Enough for any Status body; a longer error body is cut. */
const MAX_ERROR_BODY = 64 * 1024;

/** What the bounds are for a given minimum watch timeout (for health and for the README). */
export function informerBounds(watchTimeoutSeconds = DEFAULT_WATCH_TIMEOUT_SECONDS): { silentWatchMs: number; staleAfterMs: number } {
  return {
    // Never shorter than the shortest watch: a server that sends no periodic bookmarks
    // still ends its watch by then, and the restart is then a normal one.
    silentWatchMs: watchTimeoutSeconds * 1000,
    // Two and a half bookmark periods at the default; an informer that has heard nothing
    // that long is stale even while its watch is still presumed alive.
    staleAfterMs: watchTimeoutSeconds * 500,
  };
}

/** The API server answered a watch with 410 Gone / Expired: the history is compacted. */
class Expired extends Error {}
class Stopped extends Error {}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly known = new Map<string, T>();
  /** undefined: list before the next watch. */
  private resourceVersion: string | undefined;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private failures = 0;
  private failingSince = 0;
  private attemptStartedAt = 0;
  private heardAt = Date.now();
  private isSynced = false;
  private readonly watchTimeoutSeconds: number;
  private readonly silentWatchMs: number;

  constructor(
    private readonly kc: KubeConfig,
    /** The collection, as `/api/v1/services`. */
    private readonly path: string,
    private readonly handlers: InformerHandlers<T>,
    private readonly options: InformerOptions,
  ) {
    this.watchTimeoutSeconds = Math.max(1, Math.round(options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS));
    this.silentWatchMs = informerBounds(this.watchTimeoutSeconds).silentWatchMs;
  }

  start(): void {
    this.heardAt = Date.now();
    this.loop ??= this.run();
  }

  /** Aborts whatever request is open; resolves when nothing of this informer is left running. */
  async stop(): Promise<void> {
    this.stopper.abort(new Stopped(`${this.options.name} informer stopped`));
    await this.loop;
  }

  /** When the API server was last heard from (a list, an event or a bookmark), in ms since the epoch; the start before that. */
  get lastHeardAt(): number {
    return this.heardAt;
  }

  private get stopping(): boolean {
    return this.stopper.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.attemptStartedAt = Date.now();
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watch();
      } catch (err) {
        if (this.stopping) return;
        if (err instanceof Expired) {
          this.options.log({ level: 'info', msg: `${this.options.name}: the API server no longer has the history to resume from; relisting` });
          this.resourceVersion = undefined;
          continue;
        }
        await this.failed(err);
      }
    }
  }

  private async relist(): Promise<void> {
    const list = await this.withDeadline((signal) => this.list(signal), 'the list');
    const next = new Map<string, T>();
    for (const obj of list.items ?? []) next.set(keyOf(obj), obj);
    for (const [key, old] of this.known) {
      if (!next.has(key)) {
        this.known.delete(key);
        this.handlers.remove(old);
      }
    }
    for (const [key, obj] of next) {
      const old = this.known.get(key);
      this.known.set(key, obj);
      // A relist after a failure brings everything again; only what moved is a change.
      if (old === undefined || old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.handlers.upsert(obj);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.heard();
    if (!this.isSynced) {
      this.isSynced = true;
      this.handlers.synced?.();
    }
  }

  private async withDeadline<R>(call: (signal: AbortSignal) => Promise<R>, what: string): Promise<R> {
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`${what} got no answer within ${seconds(timeoutMs)}`)), timeoutMs);
    const signal = AbortSignal.any([this.stopper.signal, deadline.signal]);
    let onAbort!: () => void;
    // The call may ignore the signal; the informer must not wait for it regardless.
    const aborted = new Promise<never>((_, reject) => (onAbort = () => reject(signal.reason)));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([call(signal), aborted]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A GET of the collection with this informer's selectors and `query`, with the TLS, proxy
   * and credentials client-node uses (exec plugins refresh here).
   */
  private async get(query: URLSearchParams, signal?: AbortSignal): Promise<http.ClientRequest> {
    if (this.options.labelSelector !== undefined) query.set('labelSelector', this.options.labelSelector);
    if (this.options.fieldSelector !== undefined) query.set('fieldSelector', this.options.fieldSelector);
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(`${cluster.server}${this.path}?${query}`);
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    if (this.stopping) throw new Stopped();
    const client = url.protocol === 'https:' ? https : http;
    const headers = { ...options.headers, Accept: 'application/json' };
    return client.request(url, { ...options, method: 'GET', headers, ...(signal ? { signal } : {}) });
  }

  /** The whole collection in one response (the API server's default: no `limit`). */
  private async list(signal: AbortSignal): Promise<KubernetesListObject<T>> {
    const request = await this.get(new URLSearchParams(), signal);
    const response = new Promise<http.IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
    request.end();
    const res = await response;
    if (res.statusCode !== 200) throw statusError('the list', res.statusCode, await readStatus(res));
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubernetesListObject<T>;
  }

  private async watch(): Promise<void> {
    const timeoutSeconds = Math.floor(this.watchTimeoutSeconds * (1 + (this.options.random ?? Math.random)()));
    const query = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
    if (this.resourceVersion) query.set('resourceVersion', this.resourceVersion);
    const request = await this.get(query);
    const headersTimeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const startedAt = Date.now();
    let received = 0;

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stopper.signal.removeEventListener('abort', onStop);
        request.destroy();
        if (err === undefined) resolve();
        else reject(err);
      };
      const onStop = () => finish(new Stopped());
      const expect = (ms: number, failure: () => Error) => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(failure()), ms);
      };
      const silent = () =>
        new Error(`the watch brought no event and no bookmark for ${seconds(this.silentWatchMs)}; presuming the connection dead`);

      request.on('response', (response) => {
        if (response.statusCode !== 200) {
          readStatus(response).then((status) => finish(status.code === 410 ? new Expired() : statusError('the watch', response.statusCode, status)), finish);
          return;
        }
        expect(this.silentWatchMs, silent);
        response.setEncoding('utf8');
        let pending = '';
        response.on('data', (chunk: string) => {
          pending += chunk;
          for (let newline = pending.indexOf('\n'); newline >= 0 && !settled; newline = pending.indexOf('\n')) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line === '') continue;
            try {
              this.apply(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              finish(err);
              return;
            }
            received += 1;
            expect(this.silentWatchMs, silent);
          }
        });
        response.on('end', () => {
          if (received === 0 && Date.now() - startedAt < SHORT_WATCH_MS) {
            finish(new Error('the API server closed the watch within a second without sending anything'));
          } else {
            finish();
          }
        });
        response.on('error', finish);
        response.on('close', () => finish(new Error('the watch connection closed before the stream ended')));
      });
      request.on('error', finish);
      this.stopper.signal.addEventListener('abort', onStop, { once: true });
      expect(headersTimeoutMs, () => new Error(`the watch got no response within ${seconds(headersTimeoutMs)}`));
      request.end();
    });
    // A watch that ran its course after a relist proves the informer works again.
    this.recovered();
  }

  private apply(event: WatchEvent<T>): void {
    const { type, object } = event;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        this.known.set(keyOf(object), object);
        this.handlers.upsert(object);
        break;
      case 'DELETED':
        this.known.delete(keyOf(object));
        this.handlers.remove(object);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = object as unknown as Status;
        throw status.code === 410 ? new Expired() : statusError('the watch', status.code, status);
      }
      default:
        throw new Error(`the watch sent an event of unknown type ${JSON.stringify(type)}`);
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    this.heard();
    this.recovered();
  }

  private heard(): void {
    this.heardAt = Date.now();
  }

  private recovered(): void {
    if (this.failures === 0) return;
    this.options.log({
      level: 'info',
      msg: `${this.options.name}: watching again after ${this.failures} failed attempt${this.failures === 1 ? '' : 's'} over ${seconds(Date.now() - this.failingSince)}`,
    });
    this.failures = 0;
  }

  private async failed(err: unknown): Promise<void> {
    this.failures += 1;
    // Whatever the watch missed, a list brings: deletions included.
    this.resourceVersion = undefined;
    const policy = { baseMs: this.options.retryMs ?? DEFAULT_RETRY_MS, maxMs: this.options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS };
    // Attempts start at least the backoff apart; one that already took that long (a watch
    // presumed dead after minutes of silence, a request past its deadline) is retried at once.
    const delay = Math.max(0, backoffDelay(policy, this.failures, err) - (Date.now() - this.attemptStartedAt));
    if (this.failures === 1) {
      this.failingSince = Date.now();
      this.options.log({
        level: 'warn',
        msg: `${this.options.name}: ${describeError(err)}; retrying with backoff (attempts ${seconds(policy.baseMs)} apart, doubling up to ${seconds(policy.maxMs)}) until it lists and watches again`,
      });
    } else {
      this.options.log({ level: 'debug', msg: `${this.options.name}: attempt ${this.failures} failed: ${describeError(err)}; next in ${seconds(delay)}` });
    }
    await this.sleep(delay);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopper.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopper.signal.addEventListener('abort', done, { once: true });
    });
  }
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

interface Status {
  code?: number;
  reason?: string;
  message?: string;
}

function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function statusError(what: string, code: number | undefined, status: Status): Error {
  const detail = status.message ?? status.reason ?? '';
  return Object.assign(new Error(`${what} got HTTP ${code ?? '?'}${detail ? `: ${detail}` : ''}`), { code });
}

function readStatus(response: http.IncomingMessage): Promise<Status> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (body.length < MAX_ERROR_BODY) body += chunk;
    });
    response.on('end', () => {
      try {
        resolve(JSON.parse(body) as Status);
      } catch {
        resolve({ code: response.statusCode, message: body.slice(0, 200) || response.statusMessage });
      }
    });
    response.on('error', reject);
  });
}


function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
