/**
 * Issue 9, item 2: the node agent against an API server it loses the ways networks lose
 * one — watches cut silently, connections refused, connections blackholed — through a
 * TCP proxy (support/tcp-proxy.ts) in front of the embedded Kubernetes API server. The agent
 * runs in userspace mode over loopback (no root, nothing touched on the host), so "served"
 * means a connection to the NodePort reaches the Service's endpoint.
 *
 * Short timings: watches ask for 2–4 s (minimum 2 s), so a watch silent for 2 s is presumed
 * dead and an informer that heard nothing for 1 s makes /healthz stale; the API server
 * sends a bookmark every 200 ms, as a real one does every minute.
 */
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeEmulator } from '@ferry/emulators';
import { startAgent, type AgentHandle } from '../../src/agent/run';
import { UserspaceProxier } from '../../src/agent/userspace';
import { informerBounds } from '../../src/kube/informer';
import type { LogEntry } from '../../src/util/log';
import { loopbackAddress, sleep, tcpEcho, tcpRequest, type EchoServer } from '../agent/unit/userspace-support';
import { TcpProxy } from './support/tcp-proxy';

const WATCH_TIMEOUT_S = 2;
const { staleAfterMs } = informerBounds(WATCH_TIMEOUT_S);
const INFORMERS = ['/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices', '/api/v1/nodes'] as const;

interface Rig {
  kube: KubeEmulator;
  proxy: TcpProxy;
  agent: AgentHandle;
  echo: EchoServer;
  nodeIP: string;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  log: Array<LogEntry & { at: number }>;
}

let rig: Rig | undefined;

afterEach(async () => {
  if (!rig) return;
  const { agent, proxy, kube, echo } = rig;
  rig = undefined;
  await agent.stop();
  await proxy.close();
  await kube.close();
  await echo.close();
});

jest.setTimeout(40_000);

let nextNodePort = 30000 + Math.floor(Math.random() * 2500);

async function start(tuning: { retryMs?: number; requestTimeoutMs?: number } = {}): Promise<Rig> {
  const kube = await KubeEmulator.start({ bookmarkIntervalMs: 200 });
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(kube.url).port) });
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  const discovery = kube.kubeConfig().makeApiClient(DiscoveryV1Api);
  const nodeIP = loopbackAddress();
  const echo = await tcpEcho('web', loopbackAddress());
  await core.createNode({ body: { metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: nodeIP }] } } });
  const log: Rig['log'] = [];
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfigYaml().replace(kube.url, proxy.url));
  const agent = await startAgent({
    mode: 'userspace',
    nodeName: 'node1',
    kubeconfig: undefined,
    scheduler: 'rr',
    healthzBind: '127.0.0.1:0',
    metricsBind: '',
    syncPeriodMs: 30_000,
    minSyncIntervalMs: 50,
    nodePortAddresses: [],
    kubeConfig: kc,
    proxier: new UserspaceProxier({ scheduler: 'rr', redirectClusterIPs: false, drainTimeoutMs: 200 }),
    logger: (entry) => log.push({ ...entry, at: Date.now() }),
    informers: { watchTimeoutSeconds: WATCH_TIMEOUT_S, ...tuning },
  });
  rig = { kube, proxy, agent, echo, nodeIP, core, discovery, log };
  await agent.firstSync;
  return rig;
}

/** A NodePort Service whose one endpoint is the echo server. */
async function createService(r: Rig, name: string): Promise<number> {
  const nodePort = nextNodePort++;
  await r.core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name }, spec: { type: 'NodePort', ports: [{ name: 'tcp', port: 80, targetPort: r.echo.port, nodePort, protocol: 'TCP' }] } },
  });
  await r.discovery.createNamespacedEndpointSlice({
    namespace: 'default',
    body: {
      metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'tcp', port: r.echo.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [r.echo.address], nodeName: 'node1', conditions: { ready: true } }],
    },
  });
  return nodePort;
}

async function serves(r: Rig, nodePort: number): Promise<boolean> {
  return tcpRequest(r.nodeIP, nodePort, 'ping').then(
    (reply) => reply === 'web:ping',
    () => false,
  );
}

async function healthz(r: Rig): Promise<{ status: number; body: { healthy: boolean; reason?: string } }> {
  const res = await fetch(`http://127.0.0.1:${r.agent.healthzPort}/healthz`);
  return { status: res.status, body: (await res.json()) as { healthy: boolean; reason?: string } };
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Log messages at `level` logged after `since`. */
function logged(r: Rig, level: LogEntry['level'], since: number): string[] {
  return r.log.filter((e) => e.level === level && e.at >= since).map((e) => e.msg ?? '');
}

test('after the watches die silently, a new Service is served within 2 × the watch timeout; /healthz is 503 with a reason in between', async () => {
  const r = await start();
  const web = await createService(r, 'web');
  await until('the first Service to be served', 10_000, () => serves(r, web));
  await until('/healthz 200', 5_000, async () => (await healthz(r)).status === 200);

  r.proxy.sever();
  const lostAt = Date.now();
  const late = await createService(r, 'late');
  let stale: { after: number; status: number; reason?: string } | undefined;
  let servedAfter: number | undefined;
  while (Date.now() - lostAt < 5 * WATCH_TIMEOUT_S * 1000) {
    const h = await healthz(r);
    if (h.status === 503 && !stale) stale = { after: Date.now() - lostAt, status: h.status, reason: h.body.reason };
    if (await serves(r, late)) {
      servedAfter = Date.now() - lostAt;
      break;
    }
    await sleep(20);
  }
  // The figure issue 9 asks for (13 minutes and counting before the fix).
  console.log(`agent-watch: new Service served ${servedAfter} ms after a silent watch loss (watch timeout ${WATCH_TIMEOUT_S} s; /healthz 503 from ${stale?.after} ms)`);
  expect(servedAfter).toBeDefined();
  expect(servedAfter!).toBeLessThan(2 * WATCH_TIMEOUT_S * 1000);
  expect(stale).toMatchObject({ status: 503, reason: expect.stringMatching(`^no word from the API server past ${staleAfterMs / 1000}s`) });
  expect(stale!.after).toBeLessThan(servedAfter!);
  expect(await serves(r, web)).toBe(true);

  await until('/healthz 200 again', 5_000, async () => (await healthz(r)).status === 200);
  await until('"healthy again" and each informer\'s "watching again" in the log', 5_000, () => {
    const infos = logged(r, 'info', lostAt);
    return infos.includes('healthy again') && infos.filter((m) => / informer: watching again/.test(m)).length === 3;
  });
  // Each condition logged once when it started and once when it ended.
  const warnings = logged(r, 'warn', lostAt);
  expect(warnings.filter((m) => m.startsWith('unhealthy'))).toHaveLength(1);
  for (const informer of ['services', 'endpointslices', 'node']) {
    expect(warnings.filter((m) => m.startsWith(`${informer} informer: the watch brought no event and no bookmark for 2s`))).toHaveLength(1);
    expect(logged(r, 'info', lostAt).filter((m) => m.startsWith(`${informer} informer: watching again after 1 failed attempt`))).toHaveLength(1);
  }
  expect(warnings).toHaveLength(4);
});

test('while the API server refuses, each informer retries with a doubling delay, /healthz turns 503 once, and all catch up when it returns', async () => {
  const r = await start({ retryMs: 250 });
  const web = await createService(r, 'web');
  await until('the Service to be served', 10_000, () => serves(r, web));

  r.proxy.mode = 'refuse';
  const refusedFrom = Date.now();
  r.proxy.reset();
  await r.core.deleteNamespacedService({ namespace: 'default', name: 'web' });
  const refusedLists = (path: string) => r.proxy.requests(new RegExp(`^GET ${path}\\?(?!.*watch=true)`), refusedFrom).filter((c) => c.mode === 'refuse');
  await until('four refused lists per informer', 15_000, () => INFORMERS.every((path) => refusedLists(path).length >= 4));
  const unhealthy = await healthz(r);
  r.proxy.mode = 'forward';

  // The first list follows the reset at once (that watch had run long enough); then attempts
  // start 0.5 s, 1 s, 2 s apart (before the fix: the first delay, every time). The proxy sees
  // connections, not attempts: 150 ms allow for one request taking longer to connect than the next.
  for (const path of INFORMERS) {
    const at = refusedLists(path).map((c) => c.at);
    const gaps = at.slice(1, 4).map((t, i) => t - at[i]!);
    expect({ path, gaps: gaps.map((gap, i) => gap >= 250 * 2 ** (i + 1) - 150) }).toEqual({ path, gaps: [true, true, true] });
  }
  expect(unhealthy).toMatchObject({ status: 503, body: { healthy: false, reason: expect.stringMatching(/^no word from the API server/) } });

  // Back: the deletion that happened during the outage reaches the data path.
  await until('the deleted Service to stop being served', 15_000, async () => !(await serves(r, web)));
  await until('/healthz 200 again', 10_000, async () => (await healthz(r)).status === 200);
  const warnings = logged(r, 'warn', refusedFrom);
  for (const informer of ['services', 'endpointslices', 'node']) {
    expect(warnings.filter((m) => m.startsWith(`${informer} informer:`))).toHaveLength(1);
    // Every retry is there for whoever turns on debug logging.
    expect(logged(r, 'debug', refusedFrom).filter((m) => m.startsWith(`${informer} informer: attempt`)).length).toBeGreaterThanOrEqual(3);
  }
  expect(warnings.filter((m) => m.startsWith('unhealthy'))).toHaveLength(1);
});

test('against a blackholed API server every list and watch gives up after its deadline and is retried; a Service created meanwhile is served once it answers again', async () => {
  const r = await start({ retryMs: 100, requestTimeoutMs: 500 });
  r.proxy.mode = 'blackhole';
  const from = Date.now();
  r.proxy.sever();
  const late = await createService(r, 'late');
  const heldLists = (path: string) => r.proxy.requests(new RegExp(`^GET ${path}\\?(?!.*watch=true)`), from).filter((c) => c.mode === 'blackhole');
  await until('two blackholed lists per informer', 15_000, () => INFORMERS.every((path) => heldLists(path).length >= 2));
  for (const path of INFORMERS) {
    const [first, second] = heldLists(path);
    // The first list was abandoned at its 0.5 s deadline, and the retry waited for it (no pile-up of hung requests).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(500 - 5);
  }
  expect((await healthz(r)).status).toBe(503);
  expect(await serves(r, late)).toBe(false);

  r.proxy.mode = 'forward';
  await until('the Service created during the blackhole to be served', 15_000, () => serves(r, late));
  await until('/healthz 200 again', 10_000, async () => (await healthz(r)).status === 200);
  const warnings = logged(r, 'warn', from);
  expect(warnings.filter((m) => / informer: /.test(m))).toHaveLength(3);
});
