/**
 * The userspace Proxier over loopback (no root): listener reconcile, no-endpoint
 * rejection, policies, redirect rules through a recording nft, drain on close, and no
 * file descriptor leak under churn.
 */
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { servicePortMapKey } from '../../../src/agent/state';
import type { Endpoint, ProxyState, ServicePort } from '../../../src/agent/types';
import { UserspaceProxier, type UserspaceOptions } from '../../../src/agent/userspace';
import type { CommandRunner } from '../../../src/agent/exec';
import {
  loopbackAddress,
  openConnection,
  tcpEcho,
  tcpRequest,
  udpClient,
  udpEcho,
  waitFor,
  type EchoServer,
} from './userspace-support';

const servers: EchoServer[] = [];
const proxiers: UserspaceProxier[] = [];
afterEach(async () => {
  await Promise.all(proxiers.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function proxier(over: Partial<UserspaceOptions> = {}): UserspaceProxier {
  const p = new UserspaceProxier({ scheduler: 'rr', redirectClusterIPs: false, drainTimeoutMs: 2_000, ...over });
  proxiers.push(p);
  return p;
}

let nextNodePort = 30000 + Math.floor(Math.random() * 2000);
const endpoint = (s: EchoServer, over: Partial<Endpoint> = {}): Endpoint => ({
  ip: s.address,
  port: s.port,
  nodeName: 'node-a',
  local: true,
  ready: true,
  serving: true,
  terminating: false,
  ...over,
});

function service(name: string, endpoints: Endpoint[], over: Partial<ServicePort> = {}): ServicePort {
  return {
    key: `default/${name}:`,
    namespace: 'default',
    name,
    portName: '',
    protocol: 'TCP',
    clusterIPs: ['10.96.0.10'],
    port: 80,
    nodePort: nextNodePort++,
    externalLocal: false,
    internalLocal: false,
    healthCheckNodePort: undefined,
    affinity: undefined,
    scheduler: undefined,
    endpoints,
    ...over,
  };
}

function state(nodeIP: string, ...ports: ServicePort[]): ProxyState {
  return { nodeName: 'node-a', nodeIPs: [nodeIP], services: new Map(ports.map((p) => [servicePortMapKey(p), p])) };
}

async function echoes(n: number, kind: 'tcp' | 'udp' = 'tcp'): Promise<EchoServer[]> {
  const made = await Promise.all(Array.from({ length: n }, (_, i) => (kind === 'tcp' ? tcpEcho : udpEcho)(`ep${i}`)));
  servers.push(...made);
  return made;
}

const names = async (address: string, port: number, n: number, localAddress?: string): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await tcpRequest(address, port, 'x', localAddress)).split(':')[0]!);
  return out;
};

describe('userspace proxier: listeners', () => {
  it('serves a NodePort on the node address and reaches every endpoint', async () => {
    const node = loopbackAddress();
    const eps = await echoes(3);
    const svc = service('web', eps.map((e) => endpoint(e)));
    const p = proxier();
    expect(await p.sync(state(node, svc), undefined)).toEqual({ rules: 1, endpoints: 3 });
    expect(new Set(await names(node, svc.nodePort!, 6))).toEqual(new Set(['ep0', 'ep1', 'ep2']));
  });

  it('a Service without endpoints is not listened on: connections are refused, not left hanging', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const empty = service('empty', []);
    const notReady = service('not-ready', [endpoint(e!, { ready: false, serving: false })]);
    const p = proxier();
    expect(await p.sync(state(node, empty, notReady), undefined)).toEqual({ rules: 0, endpoints: 0 });
    await expect(tcpRequest(node, empty.nodePort!, 'x')).rejects.toThrow(/ECONNREFUSED/);
    await expect(tcpRequest(node, notReady.nodePort!, 'x')).rejects.toThrow(/ECONNREFUSED/);

    // Endpoints arrive (incremental sync) → served; they go → refused again.
    const filled = { ...empty, endpoints: [endpoint(e!)] };
    await p.sync(state(node, filled, notReady), new Set([servicePortMapKey(empty)]));
    expect(await tcpRequest(node, empty.nodePort!, 'x')).toBe('ep0:x');
    await p.sync(state(node, empty, notReady), new Set([servicePortMapKey(empty)]));
    await expect(tcpRequest(node, empty.nodePort!, 'x')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('uses serving-terminating endpoints only when none is ready', async () => {
    const node = loopbackAddress();
    const [a, b] = await echoes(2);
    const svc = service('rolling', [endpoint(a!, { ready: false, serving: true, terminating: true }), endpoint(b!)]);
    const p = proxier();
    await p.sync(state(node, svc), undefined);
    expect(new Set(await names(node, svc.nodePort!, 4))).toEqual(new Set(['ep1']));
    const onlyTerminating = { ...svc, endpoints: [svc.endpoints[0]!] };
    await p.sync(state(node, onlyTerminating), undefined);
    expect(new Set(await names(node, svc.nodePort!, 2))).toEqual(new Set(['ep0']));
  });

  it('externalTrafficPolicy Local: the NodePort uses only local endpoints, and none means refused', async () => {
    const node = loopbackAddress();
    const [local, remote] = await echoes(2);
    const svc = service('etp', [endpoint(local!), endpoint(remote!, { local: false, nodeName: 'node-b' })], {
      externalLocal: true,
    });
    const p = proxier();
    await p.sync(state(node, svc), undefined);
    expect(new Set(await names(node, svc.nodePort!, 4))).toEqual(new Set(['ep0']));
    // The pod sees the proxy's (the node's) address, not the client's.
    expect(local!.peers.every((peer) => peer === '127.0.0.1')).toBe(true);
    const remoteOnly = { ...svc, endpoints: [svc.endpoints[1]!] };
    await p.sync(state(node, remoteOnly), undefined);
    await expect(tcpRequest(node, svc.nodePort!, 'x')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a deleted Service stops being served (full and incremental sync)', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const a = service('a', [endpoint(e!)]);
    const b = service('b', [endpoint(e!)]);
    const p = proxier();
    await p.sync(state(node, a, b), undefined);
    await p.sync(state(node, b), undefined); // full: a is gone from the state
    await expect(tcpRequest(node, a.nodePort!, 'x')).rejects.toThrow(/ECONNREFUSED/);
    await p.sync(state(node), new Set([servicePortMapKey(b)]));
    await expect(tcpRequest(node, b.nodePort!, 'x')).rejects.toThrow(/ECONNREFUSED/);
    expect(p.stats.listeners).toBe(0);
  });

  it('a NodePort moving from one Service to another in one sync is rebound', async () => {
    const node = loopbackAddress();
    const [x, y] = await echoes(2);
    const a = service('a', [endpoint(x!)]);
    const b = service('b', [endpoint(y!)], { nodePort: a.nodePort });
    const p = proxier();
    await p.sync(state(node, a), undefined);
    await p.sync(state(node, b), new Set([servicePortMapKey(a), servicePortMapKey(b)]));
    expect(await tcpRequest(node, a.nodePort!, 'x')).toBe('ep1:x');
  });

  it('a busy port fails the sync after the other Services are applied', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const squatter = net.createServer();
    const busy = service('busy', [endpoint(e!)]);
    await new Promise<void>((resolve) => squatter.listen(busy.nodePort, node, resolve));
    const fine = service('fine', [endpoint(e!)]);
    const p = proxier();
    await expect(p.sync(state(node, busy, fine), undefined)).rejects.toThrow(/cannot listen: .*busy.*EADDRINUSE/);
    expect(await tcpRequest(node, fine.nodePort!, 'x')).toBe('ep0:x');
    await new Promise((resolve) => squatter.close(resolve));
    await p.sync(state(node, busy, fine), undefined); // the forced full sync retries
    expect(await tcpRequest(node, busy.nodePort!, 'x')).toBe('ep0:x');
  });
});

describe('userspace proxier: schedulers and affinity through sockets', () => {
  it('ClientIP affinity pins each client address to one endpoint', async () => {
    const node = loopbackAddress();
    const eps = await echoes(3);
    const svc = service('sticky', eps.map((e) => endpoint(e)), { affinity: { timeoutSeconds: 60 } });
    const p = proxier();
    await p.sync(state(node, svc), undefined);
    const chosen = new Set<string>();
    for (const client of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      const picks = new Set(await names(node, svc.nodePort!, 4, client));
      expect(picks.size).toBe(1);
      chosen.add([...picks][0]!);
    }
    expect(chosen.size).toBe(3); // rr spread the three clients
  });

  it('the Service scheduler overrides the default (sh: stable per client source)', async () => {
    const node = loopbackAddress();
    const eps = await echoes(3);
    const svc = service('hashed', eps.map((e) => endpoint(e)), { scheduler: 'sh' });
    const p = proxier({ scheduler: 'rr' });
    await p.sync(state(node, svc), undefined);
    for (const client of ['127.0.0.5', '127.0.0.6']) expect(new Set(await names(node, svc.nodePort!, 4, client)).size).toBe(1);
  });
});

describe('userspace proxier: UDP', () => {
  it('serves a UDP NodePort and ends idle sessions', async () => {
    const node = loopbackAddress();
    const eps = await echoes(2, 'udp');
    const svc = service('dns', eps.map((e) => endpoint(e)), { protocol: 'UDP' });
    const p = proxier({ udpIdleTimeoutMs: 150 });
    await p.sync(state(node, svc), undefined);
    const c = await udpClient();
    expect(await c.ask(node, svc.nodePort!, 'q')).toBe('ep0:q');
    expect(p.stats.udpSessions).toBe(1);
    await waitFor(() => p.stats.udpSessions === 0, 1_000);
    c.close();
  });
});

describe('userspace proxier: close() drains', () => {
  it('stops listening at once, lets a new proxier bind, and keeps established connections until they end', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const svc = service('restart', [endpoint(e!)]);
    const old = proxier();
    await old.sync(state(node, svc), undefined);
    const kept = await openConnection(node, svc.nodePort!);
    expect(await kept.ask('before')).toBe('ep0:before');
    let closed = false;
    const closing = old.close().then(() => (closed = true));
    const successor = proxier();
    await successor.sync(state(node, svc), undefined); // binds the same NodePort while the old one drains
    expect(await tcpRequest(node, svc.nodePort!, 'new')).toBe('ep0:new');
    expect(await kept.ask('during')).toBe('ep0:during');
    expect(closed).toBe(false);
    kept.socket.end();
    await closing;
    expect(old.stats.connections).toBe(0);
  });

  it('resets what is left after the drain timeout', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const svc = service('stuck', [endpoint(e!)]);
    const p = proxier({ drainTimeoutMs: 100 });
    await p.sync(state(node, svc), undefined);
    const kept = await openConnection(node, svc.nodePort!);
    const ended = new Promise((resolve) => kept.socket.once('close', resolve));
    await p.close();
    await ended;
    await expect(p.sync(state(node, svc), undefined)).rejects.toThrow(/closed/);
  });
});

describe('userspace proxier: ClusterIP redirect rules (recording nft)', () => {
  /** Records nft scripts and conntrack calls; `previous` is what `nft -j list map` shows. */
  function recordingRun(previous?: string): CommandRunner & { scripts: string[]; conntrack: string[][] } {
    const scripts: string[] = [];
    const conntrack: string[][] = [];
    const run = async (command: string, args: readonly string[], input?: string) => {
      if (command === 'conntrack') conntrack.push([...args]);
      else if (args[0] === '-f') scripts.push(input ?? '');
      else if (previous !== undefined) return { code: 0, stdout: previous, stderr: '' };
      else return { code: 1, stdout: '', stderr: 'Error: No such file or directory' };
      return { code: 0, stdout: '', stderr: '' };
    };
    return Object.assign(run, { scripts, conntrack });
  }

  it('redirects each IPv4 ClusterIP port to its listener, rejects those without endpoints, and updates incrementally', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const nft = recordingRun();
    const p = proxier({ redirectClusterIPs: true, run: nft });
    const web = service('web', [endpoint(e!)], { clusterIPs: ['10.96.0.10', 'fd00::10'], nodePort: undefined });
    const empty = service('empty', [], { clusterIPs: ['10.96.0.11'], nodePort: undefined });
    await p.sync(state(node, web, empty), undefined);
    expect(nft.scripts).toHaveLength(1);
    const full = nft.scripts[0]!;
    expect(full).toMatch(/^add table ip ferry\ndelete table ip ferry\ntable ip ferry \{/);
    const port = Number(/10\.96\.0\.10 \. tcp \. 80 : (\d+)/.exec(full)?.[1]);
    expect(full).toContain('elements = { 10.96.0.11 . tcp . 80 }');
    expect(full).not.toContain('fd00::10');
    // The ClusterIP listener answers on the redirected port (any local address).
    expect(await tcpRequest('127.0.0.1', port, 'x')).toBe('ep0:x');

    // Incremental: web loses its endpoints → its redirect becomes a reject.
    await p.sync(state(node, { ...web, endpoints: [] }, empty), new Set([servicePortMapKey(web)]));
    expect(nft.scripts[1]).toBe(
      [
        `delete element ip ferry cluster-redirects { 10.96.0.10 . tcp . 80 }`,
        `add element ip ferry no-endpoints { 10.96.0.10 . tcp . 80 }`,
        '',
      ].join('\n'),
    );
    await expect(tcpRequest('127.0.0.1', port, 'x')).rejects.toThrow(/ECONNREFUSED/);
    // Nothing changed → no nft call.
    await p.sync(state(node, { ...web, endpoints: [] }, empty), new Set([servicePortMapKey(empty)]));
    expect(nft.scripts).toHaveLength(2);
    await p.cleanup();
    expect(nft.scripts[2]).toBe('add table ip ferry\ndelete table ip ferry\n');
  });

  it('clears UDP conntrack entries of a ClusterIP port whose redirect target changed', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1, 'udp');
    const run = recordingRun();
    const p = proxier({ redirectClusterIPs: true, run });
    const dns = service('dns', [endpoint(e!)], { protocol: 'UDP', clusterIPs: ['10.96.0.53'], port: 53, nodePort: undefined });
    const key = new Set([servicePortMapKey(dns)]);
    const deletion = ['-D', '-p', 'udp', '--orig-dst', '10.96.0.53', '--dport', '53'];
    await p.sync(state(node, dns), undefined);
    expect(run.conntrack).toEqual([deletion]); // new redirect
    await p.sync(state(node, dns), key);
    expect(run.conntrack).toHaveLength(1); // unchanged: nothing to clear
    await p.sync(state(node, { ...dns, endpoints: [] }), key);
    expect(run.conntrack).toHaveLength(1); // rejected now; old entries end at a closed port
    await p.sync(state(node, dns), key);
    expect(run.conntrack).toEqual([deletion, deletion]); // endpoints after none
  });

  it('a restarted agent binds the local port the previous one redirected to', async () => {
    const node = loopbackAddress();
    const [e] = await echoes(1);
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const previous = JSON.stringify({
      nftables: [{ map: { name: 'cluster-redirects', elem: [[{ concat: ['10.96.0.20', 'tcp', 80] }, free]] } }],
    });
    const nft = recordingRun(previous);
    const p = proxier({ redirectClusterIPs: true, run: nft });
    await p.sync(state(node, service('web', [endpoint(e!)], { clusterIPs: ['10.96.0.20'], nodePort: undefined })), undefined);
    expect(nft.scripts[0]).toContain(`10.96.0.20 . tcp . 80 : ${free}`);
  });
});

describe('userspace proxier: no leaks under churn', () => {
  const openFds = (): number => readdirSync('/proc/self/fd').length;

  it('opens and closes TCP and UDP listeners, connections and sessions without leaking file descriptors', async () => {
    const node = loopbackAddress();
    const tcp = await echoes(2);
    const udp = await echoes(2, 'udp');
    const p = proxier({ udpIdleTimeoutMs: 50 });
    const all = (round: number): ServicePort[] =>
      Array.from({ length: 20 }, (_, i) => {
        const udpPort = i % 2 === 1;
        return service(`churn-${i}`, (udpPort ? udp : tcp).map((e) => endpoint(e)), {
          protocol: udpPort ? 'UDP' : 'TCP',
          nodePort: 31000 + i,
          scheduler: (['rr', 'lc', 'sh'] as const)[round % 3],
          affinity: round % 2 === 0 ? { timeoutSeconds: 1 } : undefined,
        });
      });
    // Warm up (module loading, first sockets), then measure.
    await p.sync(state(node, ...all(0)), undefined);
    await p.sync(state(node), undefined);
    const before = openFds();
    const client = await udpClient();
    for (let round = 0; round < 30; round++) {
      const ports = all(round).filter((_, i) => (i + round) % 3 !== 0); // a different subset each round
      await p.sync(state(node, ...ports), round % 5 === 0 ? undefined : new Set(all(round).map(servicePortMapKey)));
      const tcpPort = ports.find((s) => s.protocol === 'TCP')!;
      const udpPort = ports.find((s) => s.protocol === 'UDP')!;
      await tcpRequest(node, tcpPort.nodePort!, 'x');
      await client.ask(node, udpPort.nodePort!, 'x');
    }
    client.close();
    await p.sync(state(node), undefined);
    await waitFor(() => p.stats.connections === 0 && p.stats.udpSessions === 0 && p.stats.listeners === 0);
    await waitFor(() => openFds() <= before, 2_000);
    expect(openFds()).toBeLessThanOrEqual(before);
  });
});
