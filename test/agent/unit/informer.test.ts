/**
 * ResilientInformer (src/kube/informer.ts, shared by the agent and `ferry controller
 * --watch`) against the embedded API server, through a proxy that records each request
 * line and can refuse or blackhole: what it asks for, how it resumes, how it backs off,
 * and that it always stops.
 */
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { KubeEmulator } from '@ferry/emulators';
import { ResilientInformer, type InformerOptions } from '../../../src/kube/informer';
import type { LogEntry } from '../../../src/util/log';
import { TcpProxy } from '../../faults/support/tcp-proxy';
import { sleep } from './userspace-support';

jest.setTimeout(20_000);

let kube: KubeEmulator;
let proxy: TcpProxy;
let kc: KubeConfig;
let informer: ResilientInformer<V1Service> | undefined;
const log: Array<LogEntry & { at: number }> = [];
const seen: string[] = [];

beforeEach(async () => {
  kube = await KubeEmulator.start({ bookmarkIntervalMs: 200 });
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(kube.url).port) });
  kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfigYaml().replace(kube.url, proxy.url));
  log.length = 0;
  seen.length = 0;
});
afterEach(async () => {
  await informer?.stop();
  informer = undefined;
  await proxy.close();
  await kube.close();
});

function start(options: Partial<InformerOptions> = {}): ResilientInformer<V1Service> {
  informer = new ResilientInformer<V1Service>(
    kc,
    '/api/v1/services',
    { upsert: (s) => seen.push(`upsert ${s.metadata?.name}`), remove: (s) => seen.push(`remove ${s.metadata?.name}`) },
    { name: 'services informer', log: (e) => log.push({ ...e, at: Date.now() }), watchTimeoutSeconds: 1, ...options },
  );
  informer.start();
  return informer;
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const watches = () => proxy.requests(/^GET \/api\/v1\/services\?.*watch=true/);
const lists = () => proxy.requests(/^GET \/api\/v1\/services(\?(?!.*watch=true)| )/);
const query = (line: string) => new URL(line.split(' ')[1]!, 'http://x').searchParams;
const messages = (level: LogEntry['level']) => log.filter((e) => e.level === level).map((e) => e.msg ?? '');

test('watches ask for bookmarks and a timeout between the minimum and twice it', async () => {
  let r = 0;
  const draws = [0, 0.999];
  start({ watchTimeoutSeconds: 3, random: () => draws[r++ % 2]! });
  await until('two watches', 10_000, () => watches().length >= 1);
  expect(query(watches()[0]!.requestLine!).get('allowWatchBookmarks')).toBe('true');
  expect(query(watches()[0]!.requestLine!).get('timeoutSeconds')).toBe('3');
  // The emulator ends it after 3 s; the next one asks for the longest.
  await until('the second watch', 10_000, () => watches().length >= 2);
  expect(query(watches()[1]!.requestLine!).get('timeoutSeconds')).toBe('5');
});

test('a watch that ended by its timeout resumes from the last bookmark, without a relist', async () => {
  start();
  await until('the first watch', 5_000, () => watches().length >= 1);
  const listed = Number(query(watches()[0]!.requestLine!).get('resourceVersion'));
  // Changes elsewhere move the server's resourceVersion; bookmarks carry it to this watch.
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: 'n1' } } });
  await core.createNode({ body: { metadata: { name: 'n2' } } });
  await until('a second watch', 5_000, () => watches().length >= 2);
  expect(Number(query(watches()[1]!.requestLine!).get('resourceVersion'))).toBeGreaterThan(listed);
  expect(lists()).toHaveLength(1);
  expect(messages('warn')).toEqual([]);
});

test('a server that lists but refuses every watch keeps the backoff growing: a list alone is no recovery', async () => {
  proxy.refusing = /watch=true/;
  start({ retryMs: 200, maxRetryMs: 1600 });
  await until('four lists', 10_000, () => lists().length >= 4);
  const at = lists().map((c) => c.at);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  // Attempts start 0.2, 0.4, 0.8 s apart (150 ms allowed for connection-time differences).
  expect(gaps.slice(0, 3).map((gap, i) => gap >= 200 * 2 ** i - 150)).toEqual([true, true, true]);
  expect(messages('warn')).toHaveLength(1);
  expect(messages('info')).toEqual([]);

  proxy.refusing = undefined;
  await until('"watching again"', 15_000, () => messages('info').some((m) => m.startsWith('services informer: watching again')));
  expect(Number(/after (\d+) failed attempts/.exec(messages('info')[0]!)?.[1])).toBeGreaterThanOrEqual(3);
});

test('the backoff stops doubling at its cap', async () => {
  start({ retryMs: 100, maxRetryMs: 400 });
  await until('the first watch', 5_000, () => watches().length >= 1);
  proxy.mode = 'refuse';
  proxy.reset();
  await until('seven refused lists', 15_000, () => proxy.connections.filter((c) => c.mode === 'refuse').length >= 7);
  // As the informer announces them: 0.1 s, 0.2 s, then 0.4 s each, less the time each attempt took.
  const announced = messages('debug').map((m) => Number(/next in ([\d.]+)s$/.exec(m)?.[1]));
  expect(announced.length).toBeGreaterThanOrEqual(5);
  expect(Math.max(...announced)).toBeLessThanOrEqual(0.4);
  expect(announced.slice(3, 5).every((s) => s > 0.2)).toBe(true);
});

test('stop() returns promptly while a list or a watch hangs on a blackholed server', async () => {
  start();
  await until('the first watch', 5_000, () => watches().length >= 1);
  proxy.mode = 'blackhole';
  proxy.sever();
  // The silent watch is given up after 1 s; the relist then hangs (its deadline is 60 s).
  await until('a blackholed list', 5_000, () => proxy.connections.some((c) => c.mode === 'blackhole'));
  const stopping = Date.now();
  await informer!.stop();
  expect(Date.now() - stopping).toBeLessThan(1000);
});

test('after 410 (history compacted) it relists at once, with no warning, and keeps delivering', async () => {
  // Without bookmarks the informer's resourceVersion stays where its list left it.
  await proxy.close();
  await kube.close();
  kube = await KubeEmulator.start({ bookmarkIntervalMs: 60_000 });
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(kube.url).port) });
  kc.loadFromString(kube.kubeconfigYaml().replace(kube.url, proxy.url));
  start({ watchTimeoutSeconds: 30 });
  await until('the first watch', 5_000, () => watches().length >= 1);
  // Past a second: a watch closed sooner with nothing in it counts as a failure.
  await sleep(1100);
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: 'n1' } } });
  kube.compact();
  await until('the relist', 5_000, () => lists().length === 2);
  await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'after' }, spec: { ports: [{ port: 80 }] } } });
  await until('the Service created after the 410', 5_000, () => seen.includes('upsert after'));
  expect(messages('info')).toEqual(['services informer: the API server no longer has the history to resume from; relisting']);
  expect(messages('warn')).toEqual([]);
});
