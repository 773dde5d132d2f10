import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadOrGenerateTls, type TlsPair } from '../../src/hosts/tls';
import type { HttpLimits } from '../../src/hosts/controller/https';
import { flood, probe, requestHead, type Outcome } from './webhook-clients';
import { CHILD_TOKEN, type FromChild, type Memory, type ToChild } from './webhook-memory-child';

/**
 * The probe that took `ferry controller` from 130 to 558 MiB: 400 connections without a
 * token, each declaring 1 MiB and sending all of it but the last byte, then holding on.
 * Measured in a child process that runs nothing
 * but the webhook server, before (idle, after a collection) and at the highest point
 * during the attack. Target: under 50 MiB above idle.
 */

const MiB = 1024 * 1024;
const CONNECTIONS = 400;

class Child {
  private readonly process: ChildProcess;
  private readonly waiting: Array<(m: FromChild) => void> = [];

  constructor() {
    this.process = fork(join(__dirname, 'webhook-memory-child.ts'), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (m: FromChild) => this.waiting.shift()?.(m));
  }

  ask<T extends FromChild>(message: ToChild, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the webhook child did not answer ${JSON.stringify(Object.keys(message))} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      this.process.send(message);
    });
  }

  stop(): void {
    this.process.kill();
  }
}

interface Figures {
  base: Memory;
  peak: Memory;
  outcomes: Outcome[];
  requests: number;
  dropped: number;
}

async function attack(tls: TlsPair, limits: Partial<HttpLimits>): Promise<Figures> {
  const child = new Child();
  try {
    const { url } = await child.ask<{ url: string }>({ start: { tls, limits } });
    const target = { host: '127.0.0.1', port: Number(new URL(url).port), ca: tls.ca };
    // Warm up the paths the attack takes (TLS, the 401, a real admission), so the baseline includes their code.
    for (let i = 0; i < 20; i++) {
      await probe(target, requestHead('/admit', { 'Content-Length': MiB }), flood(MiB), 5_000);
      await probe(target, requestHead(`/admit/${CHILD_TOKEN}`, { 'Content-Length': 2, Connection: 'close' }), (s) => s.write('{}'), 5_000);
    }
    const { baseline: base } = await child.ask<{ baseline: Memory }>({ baseline: true });
    const outcomes = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => probe(target, requestHead('/admit', { 'Content-Length': MiB }), flood(MiB - 1), 30_000)),
    );
    const { peak, requests, dropped } = await child.ask<{ peak: Memory; requests: number; dropped: number }>({ peak: true });
    return { base, peak, outcomes, requests, dropped };
  } finally {
    child.stop();
  }
}

function report(label: string, f: Figures): string {
  const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  const count = (p: (o: Outcome) => boolean) => f.outcomes.filter(p).length;
  return (
    `${label}: RSS ${mib(f.base.rss)} idle → ${mib(f.peak.rss)} peak (+${mib(f.peak.rss - f.base.rss)}); ` +
    `heap +${mib(f.peak.heapUsed - f.base.heapUsed)}; buffers +${mib(f.peak.arrayBuffers - f.base.arrayBuffers)}; ` +
    `${count((o) => o.status === 401)} answered 401, ${count((o) => o.status === undefined)} cut without an answer ` +
    `(${f.dropped} at the connection cap); slowest closed after ${Math.max(...f.outcomes.map((o) => o.closedAfterMs))} ms`
  );
}

describe('memory under 400 unauthenticated 1 MiB connections', () => {
  let tls: TlsPair;
  beforeAll(async () => {
    tls = await loadOrGenerateTls({ names: ['localhost', '127.0.0.1'] });
  }, 60_000);

  test.each([
    ['with the default limits', {}],
    // With the cap out of the way every one of the 400 reaches the handler, so the figure
    // is the token check's, not the cap's.
    ['with the connection cap raised to 1,024', { maxConnections: 1024 }],
  ])('%s: under 50 MiB above idle, and every connection answered or cut, none held', async (label, limits) => {
    const f = await attack(tls, limits);
    console.log(report(`400 × 1 MiB without a token, ${label}`, f));
    expect(f.outcomes.every((o) => o.ended !== 'deadline')).toBe(true);
    expect(f.outcomes.every((o) => o.status === undefined || o.status === 401)).toBe(true);
    expect(f.peak.rss - f.base.rss).toBeLessThan(50 * MiB);
    // The bodies (400 MiB together) are never kept: what buffers there are outside the heap
    // are sockets' reads in flight, up to 64 KiB each.
    expect(f.peak.arrayBuffers - f.base.arrayBuffers).toBeLessThan(40 * MiB);
  }, 120_000);
});
