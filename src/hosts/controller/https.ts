import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleWebhook, MAX_BODY_BYTES, type WebhookDeps } from '../webhook';
import type { TlsPair } from '../tls';

/**
 * The webhook over HTTPS for `ferry controller`. The body is read until it passes the
 * limit and no further, so an oversized request costs at most a megabyte and a chunk.
 */
export async function serveWebhook(
  tls: TlsPair,
  listen: { host: string; port: number },
  deps: WebhookDeps,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = async () => {
      if (done) return;
      done = true;
      const out = await handleWebhook(
        {
          method: req.method ?? 'GET',
          path: new URL(req.url ?? '/', 'https://webhook').pathname,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
          body: Buffer.concat(chunks),
        },
        deps,
      );
      res.writeHead(out.status, out.headers).end(out.body);
      if (size > MAX_BODY_BYTES) req.destroy();
    };
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY_BYTES) return;
      size += chunk.length;
      chunks.push(chunk);
      // Over the limit: answer 413 now rather than read the rest.
      if (size > MAX_BODY_BYTES) void finish();
    });
    req.on('end', () => void finish());
    req.on('error', () => res.destroy());
  });
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
