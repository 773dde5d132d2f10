/**
 * WATCH streams as the apiserver's watch cache serves them
 * (staging/src/k8s.io/apiserver/pkg/storage/cacher):
 *
 * - no resourceVersion, or "0": synthetic ADDED events for the current state, then changes;
 *   with sendInitialEvents=true a BOOKMARK annotated `k8s.io/initial-events-end` follows
 *   the initial state;
 * - a resourceVersion: every change after it, or — when the history no longer reaches back
 *   that far — HTTP 200 and one ERROR event with a 410 Expired Status
 *   `too old resource version: X (Y)`, after which the stream ends;
 * - selectors are applied to both the old and the new object of each change
 *   (cacheWatcher.convertToWatchEvent): an object that starts matching arrives as ADDED,
 *   one that stops matching as DELETED with its previous content and the new resourceVersion;
 * - allowWatchBookmarks=true: periodic BOOKMARKs and one before the stream times out;
 * - the stream ends on timeoutSeconds, client disconnect, or server shutdown.
 */
import type { ServerResponse } from 'node:http';
import { errors, type Status } from './errors';
import type { KubeObject } from './json';
import { apiVersionOf, type ResourceType, resourceId } from './resources/types';
import type { ObjectStore, StoreEvent } from './store';

export interface WatchRequest {
  rt: ResourceType;
  filter: (obj: KubeObject) => boolean;
  /** Raw `resourceVersion` query value. */
  resourceVersion?: string | null;
  sendInitialEvents?: boolean;
  allowBookmarks: boolean;
  timeoutMs: number;
  bookmarkIntervalMs: number;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchStream {
  close(): void;
}

/** Validates the request before any byte is written: a bad resourceVersion is a plain 400. */
export function parseWatchResourceVersion(raw: string | null | undefined): number | undefined {
  if (raw === undefined || raw === null || raw === '' || raw === '0') return undefined;
  if (!/^\d+$/.test(raw)) throw errors.badRequest(`invalid resource version: ${raw}`);
  return Number(raw);
}

function withResourceVersion(obj: KubeObject, rv: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
}

/** convertToWatchEvent: filter the new and the previous state of a change. */
export function toWatchEvent(event: StoreEvent, filter: (obj: KubeObject) => boolean): { type: WatchEventType; object: KubeObject } | undefined {
  const current = event.type !== 'DELETED' && filter(event.object);
  const previous = event.prev !== undefined && filter(event.prev);
  if (current && !previous) return { type: 'ADDED', object: event.object };
  if (current && previous) return { type: 'MODIFIED', object: event.object };
  if (!current && previous && event.prev) return { type: 'DELETED', object: event.type === 'DELETED' ? event.object : withResourceVersion(event.prev, event.rv) };
  return undefined;
}

export function serveWatch(res: ServerResponse, store: ObjectStore, request: WatchRequest, onEnd: () => void): WatchStream {
  const { rt, filter } = request;
  const since = parseWatchResourceVersion(request.resourceVersion);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};
  const write = (type: WatchEventType, object: KubeObject | Status) => {
    if (!closed && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>) =>
    write('BOOKMARK', { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: { resourceVersion: String(store.resourceVersion), ...(annotations ? { annotations } : {}) } });
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const timer of timers) clearTimeout(timer);
    if (!res.writableEnded) res.end();
    onEnd();
  };
  res.on('close', close);

  if (since === undefined) {
    if (request.sendInitialEvents !== false || request.resourceVersion !== '0') {
      for (const obj of store.list(resourceId(rt))) if (filter(obj)) write('ADDED', obj);
    }
    if (request.sendInitialEvents && request.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const history = store.eventsSince(resourceId(rt), since);
    if (!Array.isArray(history)) {
      write('ERROR', errors.expired(`too old resource version: ${since} (${history.expired})`).status);
      close();
      return { close };
    }
    for (const event of history) {
      const out = toWatchEvent(event, filter);
      if (out) write(out.type, out.object);
    }
  }

  unsubscribe = store.subscribe(resourceId(rt), (event) => {
    const out = toWatchEvent(event, filter);
    if (out) write(out.type, out.object);
  });
  timers.push(
    setTimeout(() => {
      if (request.allowBookmarks) bookmark();
      close();
    }, request.timeoutMs),
  );
  if (request.allowBookmarks) {
    const tick = () => {
      bookmark();
      timers.push(setTimeout(tick, request.bookmarkIntervalMs).unref());
    };
    timers.push(setTimeout(tick, request.bookmarkIntervalMs).unref());
  }
  return { close };
}
