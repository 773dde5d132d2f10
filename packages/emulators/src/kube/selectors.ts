/**
 * Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels and
 * pkg/fields. Parse errors become 400 BadRequest, as the list/watch handlers return them.
 */
import { errors } from './errors';

export type Labels = Readonly<Record<string, string>>;

type Requirement =
  | { op: 'exists' | '!'; key: string }
  | { op: '=' | '!=' | 'in' | 'notin'; key: string; values: readonly string[] }
  | { op: 'gt' | 'lt'; key: string; value: number };

export interface LabelSelector {
  readonly empty: boolean;
  matches(labels: Labels | undefined): boolean;
}

const special = new Set(['(', ')', ',', '!', '=', '<', '>']);

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '!' || c === '=') {
      const two = input.slice(i, i + 2);
      const isTwo = two === '!=' || two === '==';
      tokens.push(isTwo ? two : c);
      i += isTwo ? 2 : 1;
    } else if (special.has(c)) {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < input.length && !special.has(input.charAt(j)) && !/\s/.test(input.charAt(j))) j++;
      tokens.push(input.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const isIdentifier = (t: string | undefined): t is string => t !== undefined && !special.has(t) && t !== '!=' && t !== '==';

function bad(message: string): never {
  throw errors.badRequest(`unable to parse requirement: ${message}`);
}

export function parseLabelSelector(input: string | null | undefined): LabelSelector {
  const requirements: Requirement[] = [];
  const tokens = tokenize(input ?? '');
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  while (pos < tokens.length) {
    const first = next();
    if (first === '!') {
      const key = next();
      if (!isIdentifier(key)) bad(`found '${key ?? ''}', expected: identifier`);
      requirements.push({ op: '!', key });
    } else if (isIdentifier(first)) {
      const op = peek();
      if (op === undefined || op === ',') {
        requirements.push({ op: 'exists', key: first });
      } else if (op === '=' || op === '==' || op === '!=') {
        next();
        const value = isIdentifier(peek()) ? (next() ?? '') : '';
        requirements.push({ op: op === '!=' ? '!=' : '=', key: first, values: [value] });
      } else if (op === 'in' || op === 'notin') {
        next();
        if (next() !== '(') bad(`found '${tokens[pos - 1] ?? ''}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const t = next();
          if (t === ')') break;
          if (t === ',') continue;
          if (!isIdentifier(t)) bad(`found '${t ?? ''}', expected: ',', ')' or identifier`);
          values.push(t);
        }
        if (values.length === 0) bad("for 'in', 'notin' operators, values set can't be empty");
        requirements.push({ op, key: first, values });
      } else if (op === '<' || op === '>') {
        next();
        const raw = next();
        const value = Number(raw);
        if (!raw || !Number.isInteger(value)) bad(`for 'Gt', 'Lt' operators, the value must be an integer`);
        requirements.push({ op: op === '>' ? 'gt' : 'lt', key: first, value });
      } else {
        bad(`found '${op}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    } else {
      bad(`found '${first ?? ''}', expected: !, identifier, or 'end of string'`);
    }
    const sep = next();
    if (sep !== undefined && sep !== ',') bad(`found '${sep}', expected: ',' or 'end of string'`);
  }
  return {
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => matchRequirement(r, labels ?? {})),
  };
}

function matchRequirement(r: Requirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(value ?? '');
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'gt':
    case 'lt': {
      const n = Number(value);
      if (!has || !Number.isInteger(n)) return false;
      return r.op === 'gt' ? n > r.value : n < r.value;
    }
  }
}

// ---------------------------------------------------------------------------------------

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  matches(fields: Readonly<Record<string, string>>): boolean;
}

/** Splits on separators not escaped with a backslash, as fields.ParseSelector does. */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (c === '\\' && i + 1 < input.length) {
      current += c + input.charAt(++i);
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** `allowed` lists the fields the resource can be selected by (its SelectableFields). */
export function parseFieldSelector(input: string | null | undefined, allowed: ReadonlySet<string>): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (input) {
    for (const term of splitUnescaped(input, ',')) {
      if (term === '') continue;
      const match = /^((?:[^\\!=]|\\.)*)(!=|==|=)(.*)$/.exec(term);
      if (!match) throw errors.badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
      const name = unescape(match[1] ?? '');
      if (!allowed.has(name)) throw errors.badRequest(`field label not supported: ${name}`);
      requirements.push({ field: name, op: match[2] === '!=' ? '!=' : '=', value: unescape(match[3] ?? '') });
    }
  }
  return {
    requirements,
    matches: (fields) => requirements.every((r) => ((fields[r.field] ?? '') === r.value) === (r.op === '=')),
  };
}
