/**
 * How a sync's transactions reach the kernel: `nft -f -`, once or in parallel processes
 * over disjoint tables (README.md, "Cost").
 */
import { runChecked, type CommandRunner } from '../exec';

/**
 * Runs the tables' transactions: a small sync as one `nft -f -` at the end; a large one in
 * `parallel` nft processes over disjoint tables, the first started as soon as about its
 * share of the text is planned, so nft parses it while the rest is still being planned.
 * Each table is in exactly one process, so each still changes in one transaction.
 */
export class Applier {
  private batch: string[] = [];
  private batchBytes = 0;
  private bytes = 0;
  private planned = 0;
  private readonly running: Array<Promise<void>> = [];
  private error: unknown;

  constructor(
    private readonly run: CommandRunner,
    private readonly parallel: number,
    private readonly parallelBytes: number,
    /** Tables that may be planned: the share of the text each process gets is estimated from it. */
    private readonly expectedTables: number,
  ) {}

  add(text: string): void {
    this.planned++;
    if (text.length === 0) return;
    this.batch.push(text);
    this.batchBytes += text.length;
    this.bytes += text.length;
    const expected = (this.bytes / this.planned) * Math.max(this.planned, this.expectedTables);
    if (this.bytes >= this.parallelBytes && this.running.length < this.parallel - 1 && this.batchBytes >= expected / this.parallel) this.start(this.batch);
  }

  async finish(extra: readonly string[]): Promise<void> {
    const rest = [...this.batch, ...extra];
    const size = rest.reduce((n, t) => n + t.length, 0);
    const slots = this.parallel - this.running.length;
    if (size > 0 && (this.bytes < this.parallelBytes || slots < 2 || rest.length < 2)) this.start(rest);
    else if (size > 0) for (const group of balanced(rest, slots)) this.start(group);
    await Promise.all(this.running);
    if (this.error !== undefined) throw this.error;
  }

  private start(texts: readonly string[]): void {
    const input = texts.join('');
    this.batch = [];
    this.batchBytes = 0;
    // Caught at once: a process that fails early must not be an unhandled rejection.
    this.running.push(runChecked(this.run, 'nft', ['-f', '-'], input).then(() => undefined, (err: unknown) => void (this.error ??= err)));
  }
}

/** `texts` in `groups` groups of about equal size (largest first into the smallest group). */
function balanced(texts: readonly string[], groups: number): string[][] {
  const out: string[][] = Array.from({ length: groups }, () => []);
  const sizes = out.map(() => 0);
  for (const text of [...texts].sort((a, b) => b.length - a.length)) {
    const smallest = sizes.indexOf(Math.min(...sizes));
    out[smallest]!.push(text);
    sizes[smallest]! += text.length;
  }
  return out.filter((g) => g.length > 0);
}
