/**
 * One `nft -f` transaction as text, written only in the command forms that keep `nft`
 * from reading the existing table first. nft 1.0.x fetches every chain of the table before
 * `add rule`, `add element` and any `delete` (at 10,000 Services × 10 endpoints that alone
 * took 1.2–1.8 s), but not before `add chain NAME { rules }` or `add map NAME { …;
 * elements = { … } }`. So rules are always written inside their chain's declaration and
 * elements inside their map's; only deletions pay for the fetch (`hasDelete`).
 */
import { TABLE, type Family } from './names';

/** Elements per declaration line: keeps lines short without many extra commands. */
const ELEMENT_CHUNK = 1000;

export class Transaction {
  private readonly lines: string[] = [];
  private deletes = false;

  constructor(
    readonly family: Family,
    readonly tableName: string = TABLE,
  ) {}

  /** Whether the transaction deletes anything (and so makes nft read the table first). */
  get hasDelete(): boolean {
    return this.deletes;
  }

  get isEmpty(): boolean {
    return this.lines.length === 0;
  }

  private get table(): string {
    return `${this.family} ${this.tableName}`;
  }

  /**
   * `comment`: only when creating the table. A table declaration with a body makes nft
   * read the whole table first; a bare one does not.
   */
  addTable(comment?: string): void {
    this.lines.push(comment ? `add table ${this.table} { comment ${JSON.stringify(comment)} ; }` : `add table ${this.table}`);
  }

  /** Creates the chain if needed and appends the rules (a base chain when `hook` is given). */
  addChain(name: string, rules: readonly string[] = [], hook?: string): void {
    const body = [...(hook ? [hook] : []), ...rules];
    this.lines.push(body.length === 0 ? `add chain ${this.table} ${name}` : `add chain ${this.table} ${name} { ${body.join(' ; ')} ; }`);
  }

  flushChain(name: string): void {
    this.lines.push(`flush chain ${this.table} ${name}`);
  }

  /** Makes an existing (or new) chain hold exactly `rules`. */
  replaceChain(name: string, rules: readonly string[]): void {
    this.addChain(name);
    this.flushChain(name);
    if (rules.length > 0) this.addChain(name, rules);
  }

  deleteChain(name: string): void {
    this.deletes = true;
    this.lines.push(`delete chain ${this.table} ${name}`);
  }

  declareMap(name: string, declaration: string): void {
    this.lines.push(`add map ${this.table} ${name} { ${declaration} ; }`);
  }

  declareSet(name: string, declaration: string): void {
    this.lines.push(`add set ${this.table} ${name} { ${declaration} ; }`);
  }

  flushSet(name: string): void {
    this.lines.push(`flush set ${this.table} ${name}`);
  }

  deleteSet(name: string): void {
    this.deletes = true;
    this.lines.push(`delete set ${this.table} ${name}`);
  }

  /** Adds `key : value` elements by re-declaring the map with them (no table fetch). */
  addMapElements(name: string, declaration: string, elements: ReadonlyArray<{ key: string; value: string }>): void {
    this.chunked(elements.map((e) => `${e.key} : ${e.value}`), (items) => `add map ${this.table} ${name} { ${declaration} ; elements = { ${items} } ; }`);
  }

  addSetElements(name: string, declaration: string, keys: readonly string[]): void {
    this.chunked([...keys], (items) => `add set ${this.table} ${name} { ${declaration} ; elements = { ${items} } ; }`);
  }

  deleteMapElements(name: string, keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.deletes = true;
    this.chunked([...keys], (items) => `delete element ${this.table} ${name} { ${items} }`);
  }

  private chunked(items: string[], line: (joined: string) => string): void {
    for (let i = 0; i < items.length; i += ELEMENT_CHUNK) this.lines.push(line(items.slice(i, i + ELEMENT_CHUNK).join(', ')));
  }

  text(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}
