/**
 * Child processes of `ferry local --kernel`: commands run to set up namespaces (bounded in
 * time, failing with their stderr), and long-running scripts (agents, pods) started inside
 * a namespace, whose JSON lines are read and whose stop is SIGTERM, then SIGKILL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

/** How long a setup command (`ip …`) may take. */
const COMMAND_TIMEOUT_MS = 15_000;
/** How long a stopped process has after SIGTERM (an agent drains, a pod finishes its grace). */
const STOP_TIMEOUT_MS = 10_000;
const KEPT_LINES = 200;

/** Runs a command to completion and returns its stdout; throws with its stderr when it fails. */
export function run(command: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? 'killed'}): ${stderr.trim()}`));
    });
  });
}

/** {@link run} for the places that must not wait (a data plane hook is synchronous). */
export function runNow(command: string, ...args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? 'killed'}): ${(result.stderr ?? '').trim()}`);
}

/**
 * The command line that runs one of ferry's scripts with this Node.js: compiled JavaScript
 * as it is, TypeScript sources (npm start, the tests) through tsx's loader.
 */
export function scriptCommand(path: string): string[] {
  if (!path.endsWith('.ts')) return [process.execPath, path];
  return [process.execPath, '--import', pathToFileURL(require.resolve('tsx')).href, path];
}

/** A long-running child: its recent output, a wait for a line, and a clean stop. */
export class Child {
  private readonly lines: string[] = [];
  private readonly waiters = new Set<(line: string) => void>();
  private readonly process: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    readonly what: string,
    argv: readonly string[],
  ) {
    // Its own process group, so the stop reaches `ip netns exec`'s child too.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => this.keep(`failed to start: ${err.message}`));
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => this.keep(line));
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves with the first line (from now on, or already seen) that `match` accepts; fails when the child exits or after `timeoutMs`. */
  waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, line?: string): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (error) reject(error);
        else resolve(line!);
      };
      const waiter = (line: string): void => {
        if (match(line)) done(undefined, line);
      };
      const timer = setTimeout(() => done(new Error(`${this.what}: nothing expected after ${timeoutMs / 1000} s:\n${this.output()}`)), timeoutMs);
      this.waiters.add(waiter);
      void this.exited.then(() => done(new Error(`${this.what} exited:\n${this.output()}`)));
    });
  }

  onLine(listener: (line: string) => void): void {
    this.waiters.add(listener);
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** SIGTERM to the group, SIGKILL after a bound; resolves when it has exited. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL to the group, now (the playground's process is ending). */
  kill(): void {
    if (this.running) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.process.pid!, signal);
    } catch {
      // gone already
    }
  }

  private keep(line: string): void {
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    for (const waiter of [...this.waiters]) waiter(line);
  }
}
