/**
 * The webhook server alone in its own process, for webhook-memory.test.ts: the parent
 * attacks it and asks for its memory, so that neither Jest's heap nor the attacking
 * clients blur the figure. Run as `node --expose-gc --import tsx webhook-memory-child.ts`.
 *
 * Protocol (IPC): parent sends {start: {tls, limits}} → child answers {url}; {baseline} →
 * child collects garbage, answers its memory and starts sampling; {peak} → child answers
 * the highest sample since and what the server counted.
 */
import { serveWebhook, type HttpLimits } from '../../src/hosts/controller/https';
import type { TlsPair } from '../../src/hosts/tls';
import { newWebhookStats } from '../../src/hosts/webhook';

export const CHILD_TOKEN = 'memory-child-token-0123456789abcdef';

export interface Memory {
  rss: number;
  heapUsed: number;
  /** Buffers outside the heap: where request bodies live. */
  arrayBuffers: number;
}

export type ToChild = { start: { tls: TlsPair; limits: Partial<HttpLimits> } } | { baseline: true } | { peak: true };
export type FromChild = { url: string } | { baseline: Memory } | { peak: Memory; requests: number; dropped: number };

function memory(): Memory {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

if (require.main === module) {
  const stats = newWebhookStats();
  let dropped = 0;
  let peak: Memory | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const send = (m: FromChild) => process.send!(m);
  const gc = () => (globalThis as { gc?: () => void }).gc?.();

  process.on('message', async (message: ToChild) => {
    if ('start' in message) {
      const server = await serveWebhook(
        message.start.tls,
        { host: '127.0.0.1', port: 0 },
        { token: CHILD_TOKEN, queue: { send: async () => undefined }, config: { claimUnclassedServices: true }, controllerUsernames: [], enqueueTimeoutMs: 100, stats },
        message.start.limits,
      );
      server.server.on('drop', () => dropped++);
      send({ url: server.url });
    } else if ('baseline' in message) {
      gc();
      gc();
      await new Promise((r) => setTimeout(r, 200));
      const base = memory();
      peak = { ...base };
      sampler = setInterval(() => {
        const m = memory();
        peak = { rss: Math.max(peak!.rss, m.rss), heapUsed: Math.max(peak!.heapUsed, m.heapUsed), arrayBuffers: Math.max(peak!.arrayBuffers, m.arrayBuffers) };
      }, 5);
      send({ baseline: base });
    } else if ('peak' in message) {
      clearInterval(sampler);
      send({ peak: peak!, requests: stats.requests, dropped });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
