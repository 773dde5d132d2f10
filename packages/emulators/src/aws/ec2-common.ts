import { AwsError } from './errors';
import { matchesFilters, unknownFilter, type Filter, type FilterFields } from './filters';
import { paginate, type Page } from './paging';
import type { ParamErrors, Params } from './query';
import { countAfterAdding, duplicateTagKey, MAX_TAGS_PER_RESOURCE, tagProblem, type Tag, type TagSet } from './tags';
import type { XmlValue } from './xml';

/** Helpers shared by the EC2 handlers: errors, TagSpecifications, filters and paging. */

export function invalidParameterValue(message: string): AwsError {
  return new AwsError('InvalidParameterValue', message);
}

export const ec2ParamErrors: ParamErrors = {
  missing: (field) => new AwsError('MissingParameter', `The request must contain the parameter ${field}`),
  invalid: (field, value) => invalidParameterValue(`Value (${value}) for parameter ${field} is invalid.`),
};

/** EC2's wording for ids that do not exist: one id, or several. */
export function idsNotFound(code: string, noun: string, ids: readonly string[]): AwsError {
  return ids.length === 1
    ? new AwsError(code, `The ${noun} ID '${ids[0]}' does not exist`)
    : new AwsError(code, `The ${noun} IDs '${ids.join(', ')}' do not exist`);
}

export function groupNotFound(id: string): AwsError {
  return new AwsError('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
}

/** Where AWS would fall back to the default VPC; the emulator's account has none, as many real ones don't. */
export function noDefaultVpc(): AwsError {
  return new AwsError('VPCIdNotSpecified', 'No default VPC for this user');
}

export function tagLimitExceeded(): AwsError {
  return new AwsError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
}

export function validateEc2Tags(tags: readonly Tag[]): void {
  for (const tag of tags) {
    const problem = tagProblem(tag);
    if (problem) throw invalidParameterValue(problem);
  }
  const duplicate = duplicateTagKey(tags);
  if (duplicate !== undefined) throw invalidParameterValue(`Duplicate tag key '${duplicate}' specified.`);
  if (countAfterAdding(new Map(), tags) > MAX_TAGS_PER_RESOURCE) throw tagLimitExceeded();
}

export function ec2Tags(entries: readonly Params[] | undefined): Tag[] {
  return (entries ?? []).map((entry) => ({ key: entry.str('Key') ?? '', value: entry.str('Value') ?? '' }));
}

/**
 * The tags that `TagSpecification.N` assigns to the resource being created, so that the
 * resource is born tagged (no window where it exists untagged). `allowed` lists the
 * resource types the operation accepts; tags for the other types it creates alongside
 * (an instance's volumes, say) are accepted and not modelled.
 */
export function tagSpecifications(params: Params, resourceType: string, allowed: readonly string[] = [resourceType]): Tag[] {
  const tags: Tag[] = [];
  for (const spec of params.structs('TagSpecification') ?? []) {
    const type = spec.str('ResourceType');
    if (type === undefined || !allowed.includes(type)) {
      throw invalidParameterValue(`'${type ?? ''}' is not a valid taggable resource type for this operation.`);
    }
    if (type === resourceType) tags.push(...ec2Tags(spec.structs('Tag')));
  }
  validateEc2Tags(tags);
  return tags;
}

/** EC2 renders tags as `<tagSet><item><key/><value/></item></tagSet>`, and omits an empty set. */
export function renderTags(tags: TagSet): XmlValue {
  return tags.size === 0 ? undefined : [...tags].map(([key, value]) => ({ key, value }));
}

export function requestFilters(params: Params): Filter[] {
  return (params.structs('Filter') ?? []).map((f) => ({ name: f.required('Name'), values: f.list('Value') ?? [] }));
}

export interface DescribeOptions<T> {
  readonly all: readonly T[];
  /** The wire name of the id list (`VpcId` for `VpcId.1`, `VpcId.2`, …). */
  readonly idParam: string;
  readonly idOf: (item: T) => string;
  readonly notFound: (missing: string[]) => AwsError;
  readonly fields: FilterFields<T>;
  /** False where the service (moto's, say) ignores MaxResults/NextToken and answers everything. */
  readonly paging?: boolean;
}

/**
 * The common shape of EC2 Describe calls: ids (all must exist), then filters, then
 * MaxResults/NextToken paging. Without MaxResults AWS returns everything at once.
 */
export function describe<T extends { readonly seq: number; readonly tags: TagSet }>(params: Params, options: DescribeOptions<T>): Page<T> {
  const ids = params.list(options.idParam) ?? [];
  let selected = [...options.all];
  if (ids.length > 0) {
    const missing = ids.filter((id) => !options.all.some((item) => options.idOf(item) === id));
    if (missing.length > 0) throw options.notFound(missing);
    selected = selected.filter((item) => ids.includes(options.idOf(item)));
  }
  const filters = requestFilters(params);
  const unknown = unknownFilter(filters, options.fields);
  if (unknown !== undefined) throw invalidParameterValue(`The filter '${unknown}' is invalid`);
  selected = selected.filter((item) => matchesFilters(item, filters, options.fields));
  if (options.paging === false) return { items: selected.sort((a, b) => a.seq - b.seq), next: undefined };
  return paginate(
    selected,
    params.str('NextToken'),
    params.int('MaxResults'),
    { defaultSize: Number.MAX_SAFE_INTEGER, min: 5, max: 1000 },
    {
      badToken: () => new AwsError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.'),
      badSize: (size) =>
        invalidParameterValue(
          size < 5 ? `Value ( ${size} ) for parameter maxResults is invalid. Expecting a value greater than 5.` : `Value ( ${size} ) for parameter maxResults is invalid. Expecting a value less than 1000.`,
        ),
    },
  );
}
