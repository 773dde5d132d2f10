/**
 * Low-level helpers of the datapath tests: run a command (bounded), check whether this
 * machine can run them at all, and talk to a net-client.js process in a namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, killing it after `timeoutMs`. */
export function exec(command: string, args: readonly string[], timeoutMs = 15_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Runs and throws with the command's stderr on failure. */
export async function sh(command: string, ...args: string[]): Promise<string> {
  const result = await exec(command, args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * Why the datapath tests cannot run here, or undefined. They need root (network
 * namespaces, nft, iptables) and the named tools.
 */
export function datapathSkipReason(tools: readonly string[] = ['ip', 'nft']): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root for network namespaces and netfilter; CI runs them as root';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'needs `ip netns` (iproute2)';
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs \`${tool}\` installed`;
  }
  return undefined;
}

export const SUPPORT_DIR = __dirname;

export type ClientReply = { ok: true; text: string } | { ok: false; error: string };

/** A net-client.js process inside a namespace: TCP and UDP probes from there. */
export class NetClient {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (reply: ClientReply) => void>();
  private nextId = 1;
  readonly ready: Promise<void>;

  constructor(readonly namespace: string) {
    this.child = spawn('ip', ['netns', 'exec', namespace, process.execPath, join(SUPPORT_DIR, 'net-client.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.on('error', () => {});
    let markReady!: () => void;
    this.ready = new Promise((resolve) => (markReady = resolve));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const reply = JSON.parse(line) as { id: number } & ClientReply;
      if (reply.id === 0) return markReady();
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  /** Sends a command; resolves with its reply, or a timeout error if the client does not answer. */
  async send(command: Record<string, unknown>): Promise<ClientReply> {
    await this.ready;
    const id = this.nextId++;
    const timeoutMs = ((command.timeoutMs as number | undefined) ?? 2000) + 2000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ ok: false, error: 'client did not answer' });
      }, timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill('SIGKILL');
  }
}
