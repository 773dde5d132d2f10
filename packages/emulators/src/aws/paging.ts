/**
 * The one paging helper for every Describe call (ELBv2 `Marker`/`PageSize`, EC2
 * `NextToken`/`MaxResults`). Tokens name the creation sequence of the last item
 * returned rather than an offset, so deleting items between two pages neither skips
 * nor repeats survivors, the guarantee callers of AWS pagination rely on.
 */
export interface PageLimits {
  readonly defaultSize: number;
  readonly min: number;
  readonly max: number;
}

export interface PageErrors {
  badToken(token: string): Error;
  badSize(size: number, limits: PageLimits): Error;
}

export interface Page<T> {
  readonly items: T[];
  readonly next: string | undefined;
}

export function paginate<T extends { readonly seq: number }>(
  items: readonly T[],
  token: string | undefined,
  size: number | undefined,
  limits: PageLimits,
  errors: PageErrors,
): Page<T> {
  if (size !== undefined && (size < limits.min || size > limits.max)) throw errors.badSize(size, limits);
  const pageSize = size ?? limits.defaultSize;
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  let after = -Infinity;
  if (token !== undefined && token !== '') {
    const decoded = /^seq:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (decoded?.[1] === undefined) throw errors.badToken(token);
    after = Number(decoded[1]);
  }
  const rest = sorted.filter((item) => item.seq > after);
  const pageItems = rest.slice(0, pageSize);
  const last = pageItems[pageItems.length - 1];
  const next = rest.length > pageSize && last ? Buffer.from(`seq:${last.seq}`, 'utf8').toString('base64url') : undefined;
  return { items: pageItems, next };
}
