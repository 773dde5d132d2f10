/**
 * The one way the agent runs a system tool (nft, iptables-restore, ipvsadm, conntrack):
 * arguments as an array (no shell), input on stdin, bounded in time, with stderr in the
 * error so a failed sync says what the tool said.
 */
import { spawn } from 'node:child_process';
import { FerryError } from '../errors';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (command: string, args: readonly string[], input?: string) => Promise<CommandResult>;

export class CommandError extends FerryError {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    super(`${command} exited with ${result.code}: ${firstLines(result.stderr || result.stdout)}`);
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Runs the command; resolves with its exit code (never rejects for a non-zero exit). */
export function runCommand(command: string, args: readonly string[], input?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new FerryError(`cannot run ${command}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\nkilled by ${signal}` : ''),
      });
    });
    // A tool that exits before reading all input (a syntax error) closes the pipe: not our error.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Like {@link runCommand} but throws a {@link CommandError} on a non-zero exit. */
export async function runChecked(runner: CommandRunner, command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await runner(command, args, input);
  if (result.code !== 0) throw new CommandError([command, ...args].join(' '), result);
  return result.stdout;
}

function firstLines(text: string, max = 8): string {
  const lines = text.trim().split('\n');
  return lines.length > max ? `${lines.slice(0, max).join('\n')}\n… (${lines.length - max} more lines)` : lines.join('\n');
}
