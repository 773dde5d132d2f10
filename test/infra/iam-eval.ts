/**
 * A small IAM evaluator for identity policies, so the tests can ask "is this call allowed?"
 * rather than re-stating the policy's shape. It implements what ferry's policy uses, with
 * IAM's documented semantics:
 * - an explicit Deny wins, else any matching Allow, else implicit deny;
 * - Action matching is case-insensitive with `*`/`?`, Resource matching case-sensitive;
 * - a condition key missing from the request fails positive operators and satisfies negated
 *   ones (`StringNotLike`), `Null: "true"` means missing;
 * - `ForAllValues:` is true when every request value matches (so also for none),
 *   `ForAnyValue:` when at least one does;
 * - an operator ending in `IfExists` is true when the key is missing.
 */
type Json = Record<string, any>;
export type RequestContext = Record<string, string | string[] | undefined>;

export interface Request {
  action: string;
  resource: string;
  context?: RequestContext;
}

const wildcard = (pattern: string, flags = '') =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function present(v: string | string[] | undefined): boolean {
  return v !== undefined && !(Array.isArray(v) && v.length === 0);
}

/** One value against the policy's values with a single-valued operator. */
function matches(operator: string, value: string, policyValues: string[]): boolean {
  switch (operator) {
    case 'StringEquals':
      return policyValues.includes(value);
    case 'StringNotEquals':
      return !policyValues.includes(value);
    case 'StringLike':
      return policyValues.some((p) => wildcard(p).test(value));
    case 'StringNotLike':
      return !policyValues.some((p) => wildcard(p).test(value));
    default:
      throw new Error(`iam-eval: operator ${operator} not implemented`);
  }
}

function conditionHolds(fullOperator: string, key: string, policyValue: unknown, context: RequestContext): boolean {
  const policyValues = asArray(policyValue as string | string[]).map(String);
  const value = context[key];
  if (fullOperator === 'Null') return policyValues[0] === 'true' ? !present(value) : present(value);
  if (fullOperator.endsWith('IfExists')) return !present(value) || conditionHolds(fullOperator.slice(0, -'IfExists'.length), key, policyValue, context);
  const [qualifier, operator] = fullOperator.includes(':') ? (fullOperator.split(':') as [string, string]) : [undefined, fullOperator];
  if (qualifier === 'ForAllValues') return asArray(value).every((v) => matches(operator, v, policyValues));
  if (qualifier === 'ForAnyValue') return asArray(value).some((v) => matches(operator, v, policyValues));
  if (!present(value)) return operator.includes('Not');
  if (Array.isArray(value)) throw new Error(`iam-eval: ${key} is multi-valued; use ForAllValues/ForAnyValue`);
  return matches(operator, value as string, policyValues);
}

function statementApplies(s: Json, req: Request): boolean {
  const actionOk = asArray<string>(s.Action).some((a) => wildcard(a, 'i').test(req.action));
  const resourceOk = asArray<string>(s.Resource).some((r) => wildcard(r).test(req.resource));
  if (!actionOk || !resourceOk) return false;
  return Object.entries((s.Condition ?? {}) as Json).every(([op, keys]) =>
    Object.entries(keys as Json).every(([key, v]) => conditionHolds(op, key, v, req.context ?? {})),
  );
}

export function isAllowed(statements: Json[], req: Request): boolean {
  const applying = statements.filter((s) => statementApplies(s, req));
  if (applying.some((s) => s.Effect === 'Deny')) return false;
  return applying.some((s) => s.Effect === 'Allow');
}

/** Replaces CloudFormation's `{Ref: AWS::Partition}` joins by plain ARNs (the stacks under test have a concrete env). */
export function resolvePartition(value: unknown, partition = 'aws'): any {
  if (Array.isArray(value)) return value.map((v) => resolvePartition(v, partition));
  if (value && typeof value === 'object') {
    const o = value as Json;
    if (o['Fn::Join']) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => resolvePartition(p, partition)).join(sep);
    }
    if (o.Ref === 'AWS::Partition') return partition;
    if (typeof o.Ref === 'string' && o.Ref.startsWith('AWS::')) throw new Error(`iam-eval: unresolved ${o.Ref}; give the stack a concrete env`);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolvePartition(v, partition)]));
  }
  return value;
}
