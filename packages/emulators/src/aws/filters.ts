import type { TagSet } from './tags';

/**
 * EC2's `Filter.N.Name` / `Filter.N.Value.M` semantics, shared by every Describe call:
 * filters are ANDed, the values of one filter ORed, values are case-sensitive and may
 * use `*` (any run of characters) and `?` (one character) as wildcards. `tag:<Key>`,
 * `tag-key` and `tag-value` work on every taggable resource.
 */
export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** The values a filter name reads from one resource. */
export type FilterField<T> = (item: T) => string | readonly (string | undefined)[] | undefined;
export type FilterFields<T> = Readonly<Record<string, FilterField<T>>>;

function wildcard(pattern: string): RegExp {
  // EC2 lets a backslash escape a literal * or ?.
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegex(pattern.charAt(++i));
    else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += escapeRegex(c);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function anyMatches(candidates: readonly (string | undefined)[], patterns: readonly string[]): boolean {
  const regexes = patterns.map(wildcard);
  return candidates.some((c) => c !== undefined && regexes.some((r) => r.test(c)));
}

function isTagFilter(name: string): boolean {
  return name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value';
}

/** The name of the first filter this resource type does not know, if any. */
export function unknownFilter<T>(filters: readonly Filter[], fields: FilterFields<T>): string | undefined {
  return filters.find((f) => !isTagFilter(f.name) && !(f.name in fields))?.name;
}

export function matchesFilters<T extends { readonly tags: TagSet }>(
  item: T,
  filters: readonly Filter[],
  fields: FilterFields<T>,
): boolean {
  return filters.every((filter) => {
    if (filter.name.startsWith('tag:')) return anyMatches([item.tags.get(filter.name.slice(4))], filter.values);
    if (filter.name === 'tag-key') return anyMatches([...item.tags.keys()], filter.values);
    if (filter.name === 'tag-value') return anyMatches([...item.tags.values()], filter.values);
    const field = fields[filter.name];
    if (!field) return false;
    const got = field(item);
    const candidates = got === undefined ? [] : typeof got === 'string' ? [got] : got;
    return anyMatches(candidates, filter.values);
  });
}
