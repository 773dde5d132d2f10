/**
 * Hostile externalIPs and load balancer ingress IPs (a Service author writes the first; any
 * controller with status access the second) fed through the state builder into the
 * nftables, iptables and ipvs renderers, and hostile bytes sent to the health servers in
 * place of a PROXY protocol header. Only checked values may reach a rule; a header that is
 * not one closes the connection, and nothing buffers without bound.
 */
import type { V1Service } from '@kubernetes/client-node';
import { connect } from 'node:net';
import { planRestore } from '../../src/agent/iptables/restore';
import { renderCompanion } from '../../src/agent/ipvs/companion';
import { ipvsRestoreInput, renderIpvs } from '../../src/agent/ipvs/render';
import { ProxyHealth, startHealthServer } from '../../src/agent/health';
import { boundPort, closeServer } from '../../src/agent/http';
import { tableContent } from '../../src/agent/nftables/content';
import { planTable } from '../../src/agent/nftables/plan';
import { renderServicePort } from '../../src/agent/nftables/service';
import { V2_SIGNATURE } from '../../src/agent/proxy-protocol';
import { buildProxyState } from '../../src/agent/state';

const NODE = 'node1';
const HOSTILE = ['203.0.113.1 . tcp . 80 : goto x', '10.0.0.1\n-A INPUT -j ACCEPT', '198.51.100.1 } ; flush ruleset', 'fe80::1%eth0', '::ffff:10.0.0.1 }'];

test('externalIPs and ingress IPs that are not addresses are dropped, named, and never rendered', () => {
  const service: V1Service = {
    metadata: { namespace: 'default', name: 'evil' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], externalIPs: [...HOSTILE, '203.0.113.9'], ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: [...HOSTILE.map((ip) => ({ ip })), { ip: '198.51.100.9' }] } },
  };
  const log: string[] = [];
  const node = { metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } };
  const state = buildProxyState([service], [], node, { nodeName: NODE, log: (l) => log.push(l) });
  const port = state.services.get('default/evil:http/TCP')!;
  expect([port.externalIPs, port.loadBalancerIPs]).toEqual([['203.0.113.9'], ['198.51.100.9']]);
  expect(log).toHaveLength(2 * HOSTILE.length);
  const nft = (['ip', 'ip6'] as const).map((f) => planTable({ family: f, table: 'ferry', desired: tableContent(f, [...state.services.values()].flatMap((p) => renderServicePort(p, f) ?? []), []), listed: 'absent', pending: new Map(), now: 0, collect: true }).tx.text()).join('');
  const iptables = ([4, 6] as const).map((family) => planRestore({ family, state, previous: new Map(), changed: undefined, existing: new Set() }).text).join('');
  const desired = renderIpvs(state, 'rr');
  const ipvs = ipvsRestoreInput([], desired.virtualServers) + renderCompanion(desired, state.nodeIPs);
  for (const text of [nft, iptables, ipvs]) {
    for (const fragment of ['goto x', 'INPUT -j ACCEPT', 'flush ruleset', '%eth0', '::ffff:']) expect(text).not.toContain(fragment);
    expect(text).toContain('203.0.113.9');
  }
});

/** Sends `bytes`, resolves with what came back and whether the server closed the connection within `timeoutMs`. */
function send(port: number, bytes: Buffer, timeoutMs = 3000): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false });
    }, timeoutMs);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
  });
}

describe('hostile bytes where a PROXY header may be', () => {
  let server: Awaited<ReturnType<typeof startHealthServer>>;
  beforeAll(async () => {
    const health = new ProxyHealth(60_000);
    health.updated();
    server = await startHealthServer('127.0.0.1', 0, health, () => ({ metadata: { name: NODE } }));
  });
  afterAll(() => closeServer(server));

  test.each([
    ['a v2 header claiming 65,535 bytes', Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff]), Buffer.alloc(4096)])],
    ['a v1 line that never ends', Buffer.from(`PROXY TCP4 ${'9'.repeat(200)}`, 'latin1')],
    ['a v1 line with a NUL', Buffer.from('PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n\r\n', 'latin1')],
    ['two v2 signatures, the second as payload', Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 0x04]), V2_SIGNATURE])],
  ])('%s: closed without an answer, at once', async (_, bytes) => {
    const started = Date.now();
    expect(await send(boundPort(server), bytes)).toEqual({ answer: '', closed: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
