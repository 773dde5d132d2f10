/**
 * Tag storage and the rules both services share. Tags live in a Map so that
 * iteration order is insertion order, which is what DescribeTags shows.
 */
export type TagSet = Map<string, string>;

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** AWS's per-resource tag quota, the same for EC2 and ELBv2 resources. */
export const MAX_TAGS_PER_RESOURCE = 50;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

export function duplicateTagKey(tags: readonly Tag[]): string | undefined {
  const seen = new Set<string>();
  for (const tag of tags) {
    if (seen.has(tag.key)) return tag.key;
    seen.add(tag.key);
  }
  return undefined;
}

/** How many tags the resource would carry after `tags` were added (new keys only count). */
export function countAfterAdding(set: TagSet, tags: readonly Tag[]): number {
  const keys = new Set(set.keys());
  for (const tag of tags) keys.add(tag.key);
  return keys.size;
}

/**
 * Tag sets that have ever held a tag. The Resource Groups Tagging API lists "tagged or
 * previously tagged" resources: one whose tags were all removed is still listed (with no
 * tags) when no TagFilter is given, one that was never tagged is not (tagging.ts). Every
 * write goes through {@link addTags}, so this is the whole history that question needs.
 */
const everTagged = new WeakSet<TagSet>();

export function addTags(set: TagSet, tags: readonly Tag[]): void {
  for (const tag of tags) set.set(tag.key, tag.value);
  if (tags.length > 0) everTagged.add(set);
}

/** True once the set has held a tag, even if every tag has since been removed. */
export function wasEverTagged(set: TagSet): boolean {
  return set.size > 0 || everTagged.has(set);
}

export function newTagSet(tags: readonly Tag[] = []): TagSet {
  const set: TagSet = new Map();
  addTags(set, tags);
  return set;
}

/** The problem with one tag's key or value, described the way AWS does, or undefined. */
export function tagProblem(tag: Tag): string | undefined {
  if (tag.key.length === 0) return 'Tag key cannot be empty';
  if (tag.key.length > MAX_TAG_KEY_LENGTH) return `Tag key '${tag.key}' exceeds the maximum length of ${MAX_TAG_KEY_LENGTH} characters`;
  if (tag.value.length > MAX_TAG_VALUE_LENGTH) return `Tag value for key '${tag.key}' exceeds the maximum length of ${MAX_TAG_VALUE_LENGTH} characters`;
  // The aws: prefix is reserved for tags AWS itself applies (both services reject it).
  if (tag.key.toLowerCase().startsWith('aws:')) return `Tag keys starting with 'aws:' are reserved for internal use`;
  return undefined;
}

export function tagRecord(set: TagSet): Record<string, string> {
  return Object.fromEntries([...set.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
