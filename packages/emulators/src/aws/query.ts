/**
 * Decoding of AWS query-protocol requests (POST, application/x-www-form-urlencoded).
 *
 * The body is flat (`Names.member.1=a&Filter.1.Value.2=b`); {@link Params} gives a
 * structured view over it without building an intermediate tree. The two query
 * dialects differ only in how lists are spelled, as the SDK's serializers show:
 * awsQuery (ELBv2) writes `Tags.member.1.Key`, ec2Query writes `TagSpecification.1.Tag.1.Key`.
 * An empty list is sent by awsQuery as a bare `SecurityGroups=`.
 */
export type ListStyle = 'member' | 'flat';

export interface ParamErrors {
  /** A required parameter is absent. `field` is the wire name (`LoadBalancerArn`). */
  missing(field: string): Error;
  /** A parameter is not of its type (an integer that does not parse, a bad boolean). */
  invalid(field: string, value: string): Error;
}

/** Decodes one or more form-encoded strings (later ones win) into a prototype-free record. */
export function decodeForm(...bodies: string[]): Record<string, string> {
  // No prototype: a parameter named "constructor" or "__proto__" is just a parameter.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const body of bodies) for (const [key, value] of new URLSearchParams(body)) out[key] = value;
  return out;
}

export class Params {
  constructor(
    private readonly raw: Readonly<Record<string, string>>,
    private readonly style: ListStyle,
    private readonly errors: ParamErrors,
    private readonly prefix = '',
  ) {}

  has(name: string): boolean {
    const key = this.prefix + name;
    return Object.keys(this.raw).some((k) => k === key || k.startsWith(`${key}.`));
  }

  str(name: string): string | undefined {
    return this.raw[this.prefix + name];
  }

  required(name: string): string {
    const value = this.str(name);
    if (value === undefined || value === '') throw this.errors.missing(name);
    return value;
  }

  int(name: string): number | undefined {
    const value = this.str(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value.trim())) throw this.errors.invalid(name, value);
    return Number(value);
  }

  bool(name: string): boolean | undefined {
    const value = this.str(name);
    if (value === undefined) return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw this.errors.invalid(name, value);
  }

  /** A list of scalars; `undefined` when the list is absent, `[]` when sent empty. */
  list(name: string): string[] | undefined {
    const indices = this.indices(name);
    if (indices.length === 0) return this.str(name) === '' ? [] : undefined;
    return indices.map((i) => this.raw[`${this.itemPrefix(name)}${i}`] ?? '');
  }

  /** A list of structures, each as its own view. */
  structs(name: string): Params[] | undefined {
    const indices = this.indices(name);
    if (indices.length === 0) return this.str(name) === '' ? [] : undefined;
    return indices.map((i) => new Params(this.raw, this.style, this.errors, `${this.itemPrefix(name)}${i}.`));
  }

  /** A nested structure (`Matcher.HttpCode`), or undefined when none of it was sent. */
  struct(name: string): Params | undefined {
    return this.has(name) ? new Params(this.raw, this.style, this.errors, `${this.prefix}${name}.`) : undefined;
  }

  private itemPrefix(name: string): string {
    return this.style === 'member' ? `${this.prefix}${name}.member.` : `${this.prefix}${name}.`;
  }

  private indices(name: string): number[] {
    const head = this.itemPrefix(name);
    const seen = new Set<number>();
    for (const key of Object.keys(this.raw)) {
      if (!key.startsWith(head)) continue;
      const match = /^(\d+)(?:\.|$)/.exec(key.slice(head.length));
      if (match?.[1] !== undefined) seen.add(Number(match[1]));
    }
    return [...seen].sort((a, b) => a - b);
  }
}
