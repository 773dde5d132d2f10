import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkHead, handleWebhook, MAX_BODY_BYTES, tooLarge, type WebhookDeps, type WebhookHead, type WebhookResponse } from '../webhook';
import type { TlsPair } from '../tls';

/**
 * What one client may hold of `ferry controller`'s webhook server. The API server sends a
 * small body at once, waits 3 s (`ferry manifests`; 30 s at most) and reuses connections:
 * anything slower, bigger or idler is not the API server, and every byte or socket it holds
 * is memory the controller does not have.
 */
export interface HttpLimits {
  /** A TCP connection that has not finished its TLS handshake. */
  handshakeTimeoutMs: number;
  /** From a request's first byte (or a new connection) to the end of its headers. */
  headersTimeoutMs: number;
  /** From a request's first byte to the end of its body; a slow sender is cut with 408. */
  requestTimeoutMs: number;
  /** An idle connection between two requests (only authorized requests keep theirs). */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed as soon as they are accepted. */
  maxConnections: number;
  /** Bytes of authorized request bodies held at once, over all connections; beyond it, 503. */
  maxBufferedBytes: number;
}

export const HTTP_LIMITS: Readonly<HttpLimits> = {
  handshakeTimeoutMs: 3_000,
  headersTimeoutMs: 3_000,
  requestTimeoutMs: 5_000,
  // Longer than a webhook call, so the API server's next admission reuses the connection
  // rather than paying for a TLS handshake; shorter than Go's 90 s idle timeout is fine,
  // since Go retries a request on a connection the server closed while it was idle.
  keepAliveTimeoutMs: 30_000,
  maxConnections: 256,
  maxBufferedBytes: 32 * MAX_BODY_BYTES,
};

/**
 * The webhook over HTTPS for `ferry controller`. Everything that can be decided from the
 * request line and headers is decided before a byte of the body is read: no token (401),
 * not POST (405), a declared length over the limit (413); those answers close the
 * connection at once, so an unauthenticated client costs a socket for a few milliseconds.
 * An authorized body is read up to the limit and no further.
 */
export async function serveWebhook(
  tls: TlsPair,
  listen: { host: string; port: number },
  deps: WebhookDeps,
  overrides: Partial<HttpLimits> = {},
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const limits = { ...HTTP_LIMITS, ...overrides };
  let buffered = 0;
  const busy: WebhookResponse = {
    status: 503,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: `webhook busy: more than ${limits.maxBufferedBytes} bytes of request bodies in flight; failurePolicy Ignore lets this write through and the resync catches up\n`,
  };

  const serve = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const head: WebhookHead = {
      method: req.method ?? 'GET',
      path: pathOf(req.url),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
    };
    const refused = checkHead(head, deps);
    if (refused) {
      deps.stats.requests++;
      return answer(req, res, refused, true);
    }
    // The client waits for this before it sends the body, so a refusal above cost it nothing.
    if (expectsContinue) res.writeContinue();

    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    let done = false;
    const stop = () => {
      done = true;
      buffered -= held;
      held = 0;
    };
    const cut = (out: WebhookResponse) => {
      if (done) return;
      stop();
      deps.stats.requests++;
      answer(req, res, out, true);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      // A chunked body declares no length; it is cut the moment it passes the limit.
      if (size > MAX_BODY_BYTES) return cut(tooLarge(`request body of more than ${MAX_BODY_BYTES} bytes`));
      if (buffered + chunk.length > limits.maxBufferedBytes) return cut(busy);
      buffered += chunk.length;
      held += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      const body = Buffer.concat(chunks, size);
      chunks.length = 0;
      void handleWebhook({ ...head, body }, deps).then(
        (out) => {
          stop();
          answer(req, res, out, false);
        },
        () => {
          // handleWebhook answers every input itself; this is a last resort.
          stop();
          answer(req, res, { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'request could not be processed\n' }, true);
        },
      );
    });
    // Cut by requestTimeout (Node answers 408), or by the client: give back what it held.
    req.on('close', () => {
      if (!req.complete) stop();
    });
    req.on('error', () => res.destroy());
  };

  const server = createServer(
    {
      cert: tls.cert,
      key: tls.key,
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(500, limits.headersTimeoutMs),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => serve(req, res, false),
  );
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => serve(req, res, true));
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    server,
    url: `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes the answer. `close` ends the connection as soon as the answer is out, and
 * destroys it rather than draining: a body still on its way is never read.
 */
function answer(req: IncomingMessage, res: ServerResponse, out: WebhookResponse, close: boolean): void {
  if (res.headersSent || res.destroyed) {
    if (close) req.socket.destroy();
    return;
  }
  if (!close) {
    res.writeHead(out.status, out.headers).end(out.body);
    return;
  }
  res.shouldKeepAlive = false;
  res.writeHead(out.status, { ...out.headers, connection: 'close' });
  // A client that stops reading must not keep the socket by not taking the answer either.
  const fallback = setTimeout(() => req.socket.destroy(), 1_000);
  fallback.unref();
  res.end(out.body, () => {
    clearTimeout(fallback);
    req.socket.destroy();
  });
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'https://webhook').pathname;
  } catch {
    return '/';
  }
}
