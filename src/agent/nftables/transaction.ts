/**
 * One `nft -f` transaction as text, written only in the command forms that keep `nft`
 * from reading the existing table first: nft 1.0.x fetches the table before `add rule` and
 * `add element`, but not before `add chain NAME { rules }` or `add map NAME { …; elements
 * = { … } }`. So rules are always written inside their chain's declaration and elements
 * inside their map's. Deletions make nft read the table's chains and set declarations
 * (not their elements), which costs little in a table of a few dozen chains.
 */
import { TABLE, type Family } from './names';

/** Elements per declaration line: keeps lines short without many extra commands. */
const ELEMENT_CHUNK = 1000;

export class Transaction {
  private readonly lines: string[] = [];

  constructor(
    readonly family: Family,
    readonly tableName: string = TABLE,
  ) {}

  get isEmpty(): boolean {
    return this.lines.length === 0;
  }

  get table(): string {
    return `${this.family} ${this.tableName}`;
  }

  /** `comment`: only when creating the table (a table declaration with a body makes nft read the table). */
  addTable(comment?: string): void {
    this.lines.push(comment ? `add table ${this.table} { comment ${JSON.stringify(comment)} ; }` : `add table ${this.table}`);
  }

  deleteTable(): void {
    this.lines.push(`delete table ${this.table}`);
  }

  /** Creates the chain if needed and appends the rules (a base chain when `hook` is given). */
  addChain(name: string, rules: readonly string[] = [], hook?: string): void {
    const body = [...(hook ? [hook] : []), ...rules];
    this.lines.push(body.length === 0 ? `add chain ${this.table} ${name}` : `add chain ${this.table} ${name} { ${body.join(' ; ')} ; }`);
  }

  flushChain(name: string): void {
    this.lines.push(`flush chain ${this.table} ${name}`);
  }

  deleteChain(name: string): void {
    this.lines.push(`delete chain ${this.table} ${name}`);
  }

  /** Declares a map or set (`kind`), idempotently. */
  declare(kind: 'map' | 'set', name: string, declaration: string): void {
    this.lines.push(`add ${kind} ${this.table} ${name} { ${declaration} ; }`);
  }

  flush(kind: 'map' | 'set', name: string): void {
    this.lines.push(`flush ${kind} ${this.table} ${name}`);
  }

  deleteSet(name: string): void {
    this.lines.push(`delete set ${this.table} ${name}`);
  }

  /** Adds elements (`key : value`, or `key` where value is empty) by re-declaring the map or set with them. */
  addElements(kind: 'map' | 'set', name: string, declaration: string, elements: Iterable<readonly [key: string, value: string]>): void {
    const items: string[] = [];
    for (const [key, value] of elements) items.push(value === '' ? key : `${key} : ${value}`);
    this.chunked(items, (joined) => `add ${kind} ${this.table} ${name} { ${declaration} ; elements = { ${joined} } ; }`);
  }

  deleteElements(name: string, keys: readonly string[]): void {
    this.chunked([...keys], (joined) => `delete element ${this.table} ${name} { ${joined} }`);
  }

  private chunked(items: string[], line: (joined: string) => string): void {
    for (let i = 0; i < items.length; i += ELEMENT_CHUNK) this.lines.push(line(items.slice(i, i + ELEMENT_CHUNK).join(', ')));
  }

  text(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}
