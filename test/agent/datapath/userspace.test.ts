/**
 * The userspace mode with real packets (topology.ts): `ferry agent --mode userspace` in
 * node1 against the Kubernetes emulator, pods with TCP and UDP echo servers, a client
 * namespace. ClusterIPs reach the proxy through its nft redirect, NodePorts directly.
 * Unlike the kernel modes, the pod always sees node1's address, and a Local NodePort
 * without a local endpoint refuses instead of dropping (nothing listens on it).
 *
 * Without root (or without `ip netns`/`nft`) the suite is skipped and its title says why.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { V1Service } from '@kubernetes/client-node';
import { sh } from './support/netns';
import { datapathSkipReason, TCP_PORT, Topology, UDP_PORT, waitUntil, type EndpointSpec, type Pod } from './topology';

const PORTS = [
  { name: 'tcp', port: 80, targetPort: TCP_PORT, protocol: 'TCP' },
  { name: 'udp', port: 53, targetPort: UDP_PORT, protocol: 'UDP' },
];

const reason = datapathSkipReason(['ip', 'nft']);
const maybe = reason ? describe.skip : describe;

maybe(`userspace datapath: real packets through namespaces${reason ? ` (skipped: ${reason})` : ''}`, () => {
  jest.setTimeout(60_000);
  let t: Topology;
  let a: Pod;
  let b: Pod;
  /** node1's addresses, one of which every pod sees as the client. */
  let node1Addresses: Set<string>;

  beforeAll(async () => {
    t = await Topology.create({ mode: 'userspace' });
    [a, b] = await Promise.all([t.addPod('a', 'node1'), t.addPod('b', 'node2')]);
    node1Addresses = new Set((await t.inNode1('ip', '-4', '-o', 'addr', 'show')).match(/(?<=inet )[\d.]+/g));
    await t.startAgent();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  /** A NodePort Service without a selector, fed by the test's hand-made EndpointSlice. */
  async function service(name: string, spec: Partial<NonNullable<V1Service['spec']>>, pods: EndpointSpec[], annotations?: Record<string, string>) {
    const svc = await t.createService(name, { type: 'NodePort', ports: PORTS, ...spec }, annotations);
    await t.setEndpoints(name, pods);
    return { ip: svc.spec!.clusterIP!, tcpNodePort: svc.spec!.ports![0]!.nodePort!, udpNodePort: svc.spec!.ports![1]!.nodePort!, spec: svc.spec! };
  }

  /** Who answered (`name address-the-pod-saw`), probing until `done` holds or `tries` runs out. */
  async function answers(probe: () => Promise<{ ok: boolean; text?: string; error?: string }>, done: (seen: Set<string>) => boolean = () => false, tries = 40) {
    const seen = new Set<string>();
    for (let i = 0; i < tries && !done(seen); i++) {
      const reply = await probe();
      seen.add(reply.ok ? reply.text!.split(' ').slice(0, 2).join(' ') : `error:${reply.error}`);
    }
    return seen;
  }
  const names = (seen: Set<string>) => new Set([...seen].map((s) => s.split(' ')[0]));
  const seenAddresses = (seen: Set<string>) => [...seen].map((s) => s.split(' ')[1]!);
  const both = (seen: Set<string>) => names(seen).has('a') && names(seen).has('b');
  /** One datagram from a connected UDP socket in the client namespace: the reply, or the error code. */
  const connectedUdp = (host: string, port: number): Promise<string> => {
    const script = `const s = require('dgram').createSocket('udp4');
      const done = (text) => { console.log(text); process.exit(0); };
      setTimeout(() => done('timeout'), 1000);
      s.on('error', (e) => done(e.code)); s.on('message', (m) => done(m.toString()));
      s.connect(${port}, '${host}', () => s.send('ping'));`;
    return sh('ip', 'netns', 'exec', t.client.namespace, process.execPath, '-e', script).then((out) => out.trim());
  };
  const redirects = () => t.inNode1('nft', 'list', 'map', 'ip', 'ferry', 'cluster-redirects');

  test('ClusterIP (through the redirect) and NodePort reach every endpoint, TCP and UDP; the pods see node1', async () => {
    const s = await service('web', {}, [{ pod: a }, { pod: b }]);
    await waitUntil('web to answer', 10_000, async () => (await t.tcp(s.ip, 80)).ok);
    expect(await redirects()).toContain(`${s.ip} . tcp . 80 : `);
    const seen = [
      await answers(() => t.tcp(s.ip, 80), both),
      await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), both),
      await answers(() => t.udp(s.ip, 53), both),
      await answers(() => t.udp(t.node1.ip, s.udpNodePort), both),
    ];
    for (const s of seen) {
      expect(names(s)).toEqual(new Set(['a', 'b']));
      // The proxy opens its own connection: the pod sees node1's address, never the client's.
      for (const address of seenAddresses(s)) expect(node1Addresses).toContain(address);
    }
  });

  test('ClientIP affinity pins a client to one endpoint', async () => {
    const s = await service('sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, [{ pod: a }, { pod: b }]);
    await waitUntil('sticky to answer', 10_000, async () => (await t.tcp(s.ip, 80)).ok);
    expect((await answers(() => t.tcp(s.ip, 80), undefined, 15)).size).toBe(1);
    expect((await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), undefined, 15)).size).toBe(1);
  });

  test('the ferry.io/ipvs-scheduler annotation picks the scheduler (sh: one endpoint per client)', async () => {
    const s = await service('hashed', {}, [{ pod: a }, { pod: b }], { 'ferry.io/ipvs-scheduler': 'sh' });
    await waitUntil('hashed to answer', 10_000, async () => (await t.tcp(t.node1.ip, s.tcpNodePort)).ok);
    expect((await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), undefined, 10)).size).toBe(1);
  });

  test('externalTrafficPolicy Local uses only local endpoints (the pod sees node1) and refuses without one', async () => {
    const s = await service('local', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }, [{ pod: a }, { pod: b }]);
    await waitUntil('local to answer', 10_000, async () => (await t.tcp(t.node1.ip, s.tcpNodePort)).ok);
    const tcp = await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), undefined, 10);
    const udp = await answers(() => t.udp(t.node1.ip, s.udpNodePort), undefined, 6);
    for (const seen of [tcp, udp]) {
      expect(names(seen)).toEqual(new Set(['a']));
      for (const address of seenAddresses(seen)) expect(node1Addresses).toContain(address);
    }
    await t.setEndpoints('local', [{ pod: b }]);
    // Nothing listens on the NodePort any more: refused at once, not left hanging.
    await waitUntil('the Local NodePort to refuse', 10_000, async () => (await t.tcp(t.node1.ip, s.tcpNodePort, undefined, 500)).ok === false);
    expect(await t.tcp(t.node1.ip, s.tcpNodePort, undefined, 500)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    // ClusterIP traffic still goes anywhere (internalTrafficPolicy Cluster).
    expect(names(await answers(() => t.tcp(s.ip, 80), undefined, 3))).toEqual(new Set(['b']));
  });

  test('a Service without endpoints rejects at once (ClusterIP and NodePort, TCP and UDP)', async () => {
    const s = await service('empty', {}, []);
    await waitUntil('empty to reject', 10_000, async () => (await t.tcp(s.ip, 80, undefined, 500)).ok === false);
    expect(await t.tcp(s.ip, 80)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(await t.tcp(t.node1.ip, s.tcpNodePort)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    // ICMP port unreachable: only a connected UDP socket hears it (net-client's does not).
    expect(await connectedUdp(s.ip, 53)).toBe('ECONNREFUSED');
    expect(await connectedUdp(t.node1.ip, s.udpNodePort)).toBe('ECONNREFUSED');
  });

  test('a removed endpoint gets no new traffic, UDP included', async () => {
    const s = await service('shrink', {}, [{ pod: a }, { pod: b }]);
    await waitUntil('shrink to answer', 10_000, async () => (await t.udp(s.ip, 53, { session: 'shrink' })).ok);
    // One UDP session (same source port) stays with whoever answered first…
    const first = await t.udp(s.ip, 53, { session: 'shrink' });
    const pinned = first.ok ? first.text.split(' ')[0] : '';
    const [gone, kept] = pinned === 'a' ? [a, b] : [b, a];
    const open = await t.clientIn().send({ op: 'open', conn: 'shrink', host: s.ip, port: 80, timeoutMs: 1500 });
    expect(open.ok).toBe(true);
    await t.setEndpoints('shrink', [{ pod: kept }]);
    // …until its endpoint is removed: the session ends and the next datagram goes elsewhere.
    await waitUntil(`the session to move off ${gone.name}`, 10_000, async () => {
      const reply = await t.udp(s.ip, 53, { session: 'shrink', timeoutMs: 500 });
      return reply.ok && reply.text.startsWith(`${kept.name} `);
    });
    expect(names(await answers(() => t.udp(s.ip, 53, { session: 'shrink' }), undefined, 5))).toEqual(new Set([kept.name]));
    expect(names(await answers(() => t.tcp(s.ip, 80), undefined, 10))).toEqual(new Set([kept.name]));
    // A TCP connection opened before the change drains: it still works.
    expect(await t.clientIn().send({ op: 'send', conn: 'shrink', data: 'still', timeoutMs: 1500 })).toMatchObject({ ok: true });
    await t.clientIn().send({ op: 'close', conn: 'shrink' });
  });

  test('a deleted Service stops being served and its redirect is gone', async () => {
    const s = await service('doomed', {}, [{ pod: a }]);
    await waitUntil('doomed to answer', 10_000, async () => (await t.tcp(s.ip, 80)).ok);
    await t.core.deleteNamespacedService({ namespace: 'default', name: 'doomed' });
    await t.discovery.deleteNamespacedEndpointSlice({ namespace: 'default', name: 'doomed-ferry' });
    await waitUntil('doomed to stop answering', 10_000, async () => !(await t.tcp(s.ip, 80, undefined, 500)).ok);
    expect(await t.tcp(t.node1.ip, s.tcpNodePort)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(await redirects()).not.toContain(`${s.ip} .`);
  });

  /**
   * A `ferry agent` process of the test's own, as `node --import tsx` (no npx/tsx wrapper
   * that would relay a second SIGTERM), so `terminate()` delivers exactly one SIGTERM, as
   * the kubelet does. Each gets its own healthz and metrics ports: the agent core keeps
   * those open while the proxier drains, so a successor on the same ports would wait.
   */
  async function launchAgent(healthzPort: number, metricsPort: number) {
    const metrics = `${t.agentAddress}:${metricsPort}`;
    const argv = ['netns', 'exec', t.node1.namespace, process.execPath, '--import', 'tsx', 'src/agent/cli.ts', '--mode', 'userspace',
      '--node-name', 'node1', '--kubeconfig', t.kubeconfig, '--sync-period', '3s', '--min-sync-interval', '100ms',
      '--healthz-bind', `0.0.0.0:${healthzPort}`, '--metrics-bind', metrics];
    // `ip netns exec` execs, so the child is the agent itself.
    const child = spawn('ip', argv, { cwd: resolve(__dirname, '../../..'), stdio: 'ignore' });
    const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
    const agent = {
      exited,
      terminate: () => child.kill('SIGTERM'),
      async stop() {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
    const after = Date.now();
    try {
      await waitUntil(`the agent on :${metricsPort} to sync`, 30_000, async () => {
        if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}`);
        const text = await fetch(`http://${metrics}/metrics`).then((r) => r.text()).catch(() => '');
        const last = /^(?:kubeproxy|ferry_agent)_sync_proxy_rules_last_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
        return last !== null && Number(last[1]) * 1000 >= after;
      });
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return agent;
  }

  test('restarting the agent does not break an established connection', async () => {
    await t.stopAgent();
    const old = await launchAgent(10256, 10249);
    let successor: Awaited<ReturnType<typeof launchAgent>> | undefined;
    try {
      const s = await service('steady', {}, [{ pod: a }, { pod: b }]);
      await waitUntil('steady to answer', 10_000, async () => (await t.tcp(s.ip, 80)).ok);
      const client = t.clientIn();
      const viaClusterIP = await client.send({ op: 'open', conn: 'steady-c', host: s.ip, port: 80, timeoutMs: 1500 });
      const viaNodePort = await client.send({ op: 'open', conn: 'steady-n', host: t.node1.ip, port: s.tcpNodePort, timeoutMs: 1500 });
      expect([viaClusterIP.ok, viaNodePort.ok]).toEqual([true, true]);
      const server = (reply: typeof viaClusterIP) => (reply.ok ? reply.text.split(' ')[0] : '');
      // SIGTERM: the old agent stops listening at once and drains; the new one binds meanwhile.
      old.terminate();
      successor = await launchAgent(10266, 10259);
      for (const [conn, opened] of [['steady-c', viaClusterIP], ['steady-n', viaNodePort]] as const) {
        const reply = await client.send({ op: 'send', conn, data: 'after-restart', timeoutMs: 1500 });
        expect(reply).toMatchObject({ ok: true, text: `${server(opened)} after-restart` });
      }
      // New connections reach the new agent, on the NodePort and through the redirect.
      expect(names(await answers(() => t.tcp(s.ip, 80), both))).toEqual(new Set(['a', 'b']));
      expect(names(await answers(() => t.tcp(t.node1.ip, s.tcpNodePort), both))).toEqual(new Set(['a', 'b']));
      // Once its connections close, the old agent exits.
      await client.send({ op: 'close', conn: 'steady-c' });
      await client.send({ op: 'close', conn: 'steady-n' });
      await old.exited;
    } finally {
      await old.stop();
      await successor?.stop();
    }
  });

  test('--cleanup removes the redirect table', async () => {
    await t.stopAgent();
    expect(await t.inNode1('nft', 'list', 'tables')).toContain('table ip ferry');
    await sh('ip', 'netns', 'exec', t.node1.namespace, 'npx', 'tsx', 'src/agent/cli.ts', '--cleanup');
    expect(await t.inNode1('nft', 'list', 'tables')).not.toContain('table ip ferry');
  });
});
