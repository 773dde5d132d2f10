/**
 * The processes `bench/agent-userspace.ts` runs inside its network namespaces (Node cannot
 * enter a namespace itself, so each runs under `ip netns exec`):
 *
 *   server <ip>                                  source on :5001 (sends the bytes asked for), echo on :5002
 *   proxy <listen ip> <server ip>                ferry's userspace proxy: :30001 → :5001, :30002 → :5002
 *   throughput <ip> <port> <connections> <bytes> prints {"bytes","ms"}
 *   latency <ip> <port> <round trips>            prints {"p50Us","p99Us"}
 */
import net from 'node:net';
import { createUserspaceProxier } from '../src/agent/userspace';
import type { ProxyState, ServicePort } from '../src/agent/types';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const REQUEST_SIZE = 64;

function server(ip: string): void {
  // :5001 — the client sends the byte count as a decimal line; the server streams that many bytes and ends.
  net
    .createServer((socket) => {
      socket.once('data', (line) => {
        let left = Number(line.toString().trim());
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, CHUNK.length);
            left -= n;
            if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void socket.once('drain', pump);
          }
          socket.end();
        };
        pump();
      });
      socket.on('error', () => {});
    })
    .listen(5001, ip);
  // :5002 — echo, for request/response round trips.
  net
    .createServer({ noDelay: true }, (socket) => {
      socket.on('data', (d) => socket.write(d));
      socket.on('error', () => {});
    })
    .listen(5002, ip, () => console.log('ready'));
}

async function proxy(listenIp: string, serverIp: string): Promise<void> {
  const port = (name: string, nodePort: number, target: number): ServicePort => ({
    key: `bench/${name}:`,
    namespace: 'bench',
    name,
    portName: '',
    protocol: 'TCP',
    clusterIPs: ['10.96.0.1'],
    port: 80,
    nodePort,
    externalLocal: false,
    internalLocal: false,
    healthCheckNodePort: undefined,
    affinity: undefined,
    scheduler: undefined,
    endpoints: [
      { ip: serverIp, port: target, nodeName: 'server', local: false, ready: true, serving: true, terminating: false },
    ],
  });
  const services = new Map([
    ['bench/source:/TCP', port('source', 30001, 5001)],
    ['bench/echo:/TCP', port('echo', 30002, 5002)],
  ]);
  const state: ProxyState = { nodeName: 'proxy', nodeIPs: [listenIp], services };
  const proxier = createUserspaceProxier({ scheduler: 'rr', redirectClusterIPs: false });
  await proxier.sync(state, undefined);
  console.log('ready');
  process.once('SIGTERM', () => void proxier.close().then(() => process.exit(0)));
}

async function throughput(ip: string, port: number, connections: number, bytes: number): Promise<void> {
  const start = process.hrtime.bigint();
  const received = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<number>((resolve, reject) => {
          let total = 0;
          const socket = net.connect({ host: ip, port }, () => socket.write(`${bytes}\n`));
          socket.on('data', (d) => (total += d.length));
          socket.on('end', () => resolve(total));
          socket.on('error', reject);
        }),
    ),
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(JSON.stringify({ bytes: received.reduce((a, b) => a + b, 0), ms }));
}

async function latency(ip: string, port: number, count: number): Promise<void> {
  const socket = net.connect({ host: ip, port, noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  const request = Buffer.alloc(REQUEST_SIZE, 'r');
  const warmup = Math.min(500, count);
  const samples: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (d: Buffer): void => {
        got += d.length;
        if (got >= REQUEST_SIZE) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.write(request);
    });
    if (i >= warmup) samples.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  socket.destroy();
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  console.log(JSON.stringify({ p50Us: at(0.5), p99Us: at(0.99) }));
}

const [role, ...args] = process.argv.slice(2);
const run: Record<string, () => unknown> = {
  server: () => server(args[0]!),
  proxy: () => proxy(args[0]!, args[1]!),
  throughput: () => throughput(args[0]!, Number(args[1]), Number(args[2]), Number(args[3])),
  latency: () => latency(args[0]!, Number(args[1]), Number(args[2])),
};
if (role === undefined || run[role] === undefined) {
  console.error(`unknown role ${role ?? ''}`);
  process.exit(2);
}
void Promise.resolve(run[role]!()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
