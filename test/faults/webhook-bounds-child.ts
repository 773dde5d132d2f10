/**
 * Times the webhook handler on the worst Services in a process of its own, for
 * webhook-bounds.test.ts: Jest's own heap (and its collections) would otherwise be part of
 * every figure. Prints one JSON array. Run as `node --import tsx webhook-bounds-child.ts`.
 */
import { handleWebhook, newWebhookStats } from '../../src/hosts/webhook';
import { worstCaseReviews } from './webhook-hostile';

export interface Measured {
  name: string;
  bodyBytes: number;
  /** The least CPU time of the runs, in ms: CPU time does not grow while the machine runs others. */
  cpuMs: number;
  /** The median and the slowest wall time of the runs, in ms. */
  wallMs: number;
  maxWallMs: number;
  status: number;
  reply: string;
}

export const CHILD_TOKEN = 'bounds-child-token-0123456789abcdef';

export async function measure(runs: number): Promise<Measured[]> {
  const deps = {
    token: CHILD_TOKEN,
    queue: { send: async () => undefined },
    config: { claimUnclassedServices: true },
    controllerUsernames: ['system:serviceaccount:ferry-system:ferry-controller'],
    enqueueTimeoutMs: 100,
    stats: newWebhookStats(),
  };
  const out: Measured[] = [];
  for (const { name, body: review } of worstCaseReviews()) {
    const body = Buffer.from(JSON.stringify(review));
    const request = { method: 'POST', path: `/admit/${CHILD_TOKEN}`, headers: {}, body };
    let cpuMs = Infinity;
    const walls: number[] = [];
    let reply = { status: 0, body: '' };
    for (let i = 0; i < runs; i++) {
      const cpu = process.cpuUsage();
      const wall = process.hrtime.bigint();
      reply = await handleWebhook(request, deps);
      walls.push(Number(process.hrtime.bigint() - wall) / 1e6);
      const used = process.cpuUsage(cpu);
      cpuMs = Math.min(cpuMs, (used.user + used.system) / 1000);
    }
    walls.sort((a, b) => a - b);
    out.push({ name, bodyBytes: body.length, cpuMs, wallMs: walls[Math.floor(runs / 2)]!, maxWallMs: walls[runs - 1]!, status: reply.status, reply: reply.body });
  }
  return out;
}

if (require.main === module) {
  void measure(Number(process.argv[2] ?? 9)).then((m) => process.stdout.write(JSON.stringify(m)));
}
