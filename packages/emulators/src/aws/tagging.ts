import { AwsError } from './errors';
import {
  isMoto,
  motoDropPageToken,
  motoIssuePageToken,
  motoPageCursor,
  MOTO_RESOURCES_PER_PAGE,
  MOTO_TAGS_PER_PAGE,
} from './fidelity';
import type { JsonContext, JsonInput, JsonObject, JsonServiceDefinition } from './json-protocol';
import type { ParamErrors } from './query';
import type { AwsState } from './state';
import { isKnownResourceType, matchesResourceType, taggableResources, type TaggableResource } from './tagging-resources';
import { MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, wasEverTagged, type TagSet } from './tags';

/**
 * The Resource Groups Tagging API (2017-01-26) over AWS JSON 1.1
 * (`X-Amz-Target: ResourceGroupsTaggingAPI_20170126.<Op>`, signing name `tagging`):
 * GetResources, GetTagKeys, GetTagValues over the emulator's one account and Region.
 * Errors are HTTP 400 with the bare shape name in `__type` and the text in `Message`:
 * `InvalidParameterException` for every bad input (the API reference's only client error
 * for it besides the two below), `PaginationTokenExpiredException` for a token older than
 * 15 minutes of the emulator's clock, `ThrottledException` "Rate exceeded" when
 * `start({ throttling })` finds the bucket empty.
 *
 * GetResources, as the API reference documents it:
 * - TagFilters (≤ 50, each ≤ 20 values): a resource matches when it has every filter's
 *   key and, for a filter with values, one of them. ResourceTypeFilters (≤ 100):
 *   `service` or `service:type` as in the ARN (`elasticloadbalancing:loadbalancer` covers
 *   net/ and app/ alike). ResourceARNList (1–100) excludes both and the paging members;
 *   an ARN the account does not have is left out, not an error.
 * - Without TagFilters, resources that are tagged or were once tagged are listed (the
 *   latter with `Tags: []`); never-tagged resources never are.
 * - ResourcesPerPage 1–100 (no documented default; the emulator uses 100), TagsPerPage
 *   100–500 (a page never splits a resource; an untagged one counts as one tag). The
 *   PaginationToken is opaque and "" on the last page, where the SDK's paginator stops.
 *
 * Deliberate difference: the emulator reads the live world, so a new tag or a deleted
 * resource shows at once; AWS's tag index can take a while, listing a deleted resource
 * for some time after. Tag policies are not modelled: IncludeComplianceDetails and
 * ExcludeCompliantResources are accepted and change nothing.
 */

const MAX_TAG_FILTERS = 50;
const MAX_FILTER_VALUES = 20;
const MAX_TYPE_FILTERS = 100;
const MAX_ARNS = 100;
const MAX_ARN_LENGTH = 1011;
const MAX_RESOURCE_TYPE_LENGTH = 256;
const RESOURCES_PER_PAGE = { min: 1, max: 100, default: 100 };
const TAGS_PER_PAGE = { min: 100, max: 500 };
const MAX_TOKEN_LENGTH = 2048;
/** "A PaginationToken is valid for a maximum of 15 minutes." (PaginationTokenExpiredException) */
const TOKEN_LIFETIME_MS = 15 * 60_000;
const ARN = /^arn:[a-z0-9-]+:[a-z0-9.-]+:[a-z0-9-]*:(\d{12})?:.+$/;

const invalid = (message: string): AwsError => new AwsError('InvalidParameterException', message);

const inputErrors: ParamErrors = {
  missing: (field) => invalid(`${field} is required but was not specified.`),
  invalid: (field, value) => invalid(`Invalid value ${value} for parameter ${field}.`),
};

interface TagFilter {
  readonly key: string;
  readonly values: readonly string[];
}

/** What a GetResources request selects, kept apart from how it is paged (moto tokens carry it). */
interface Selection {
  readonly tagFilters: readonly TagFilter[];
  readonly typeFilters: readonly string[];
  readonly arns: ReadonlySet<string> | undefined;
}

function readTagFilters(input: JsonInput): TagFilter[] {
  const filters = input.structs('TagFilters') ?? [];
  if (filters.length > MAX_TAG_FILTERS) throw invalid(`TagFilters can include at most ${MAX_TAG_FILTERS} filters; the request has ${filters.length}.`);
  return filters.map((filter, i) => {
    const field = `TagFilters.${i + 1}`;
    const key = filter.str('Key');
    if (key === undefined || key.length === 0 || key.length > MAX_TAG_KEY_LENGTH) {
      throw invalid(`${field}.Key must be 1 to ${MAX_TAG_KEY_LENGTH} characters long; got ${key === undefined ? 'none' : `'${key}'`}.`);
    }
    const values = filter.strings('Values') ?? [];
    if (values.length > MAX_FILTER_VALUES) throw invalid(`${field}.Values can include at most ${MAX_FILTER_VALUES} values for key '${key}'; the request has ${values.length}.`);
    const long = values.findIndex((v) => v.length > MAX_TAG_VALUE_LENGTH);
    if (long >= 0) throw invalid(`${field}.Values.${long + 1} must be at most ${MAX_TAG_VALUE_LENGTH} characters long.`);
    return { key, values };
  });
}

function readTypeFilters(input: JsonInput): string[] {
  const filters = input.strings('ResourceTypeFilters') ?? [];
  if (filters.length > MAX_TYPE_FILTERS) throw invalid(`ResourceTypeFilters can include at most ${MAX_TYPE_FILTERS} resource types; the request has ${filters.length}.`);
  for (const filter of filters) {
    if (filter.length > MAX_RESOURCE_TYPE_LENGTH || !isKnownResourceType(filter)) {
      throw invalid(`ResourceTypeFilters contains an unsupported resource type: '${filter}'. Use service[:resourceType] as in the resource's ARN, e.g. 'elasticloadbalancing:loadbalancer' or 'ec2'.`);
    }
  }
  return filters;
}

function readArns(input: JsonInput): string[] | undefined {
  const arns = input.strings('ResourceARNList');
  if (arns === undefined) return undefined;
  if (arns.length < 1 || arns.length > MAX_ARNS) throw invalid(`ResourceARNList must contain 1 to ${MAX_ARNS} ARNs; the request has ${arns.length}.`);
  arns.forEach((arn, i) => {
    if (arn.length > MAX_ARN_LENGTH || !ARN.test(arn)) throw invalid(`ResourceARNList.${i + 1} is not a valid ARN: '${arn}'.`);
  });
  return arns;
}

function matchesTags(tags: TagSet, filters: readonly TagFilter[]): boolean {
  return filters.every(({ key, values }) => {
    const value = tags.get(key);
    return value !== undefined && (values.length === 0 || values.includes(value));
  });
}

/** The resources a selection picks, in creation order. */
function select(state: AwsState, now: number, selection: Selection): TaggableResource[] {
  // moto lists only resources that have tags now (models.py `_get_resources_generator`).
  const listUntagged = !isMoto(state);
  return taggableResources(state, now).filter(
    (r) =>
      (selection.arns === undefined || selection.arns.has(r.arn)) &&
      (selection.typeFilters.length === 0 || selection.typeFilters.some((filter) => matchesResourceType(r, filter))) &&
      (selection.tagFilters.length > 0 ? matchesTags(r.tags, selection.tagFilters) : r.tags.size > 0 || (listUntagged && wasEverTagged(r.tags))),
  );
}

function mapping(resource: TaggableResource): JsonObject {
  return { ResourceARN: resource.arn, Tags: [...resource.tags].map(([Key, Value]) => ({ Key, Value })) };
}

/** AWS's tokens are opaque: here the creation sequence of the last resource returned and when the token was issued. */
function issueToken(after: number, now: number): string {
  return Buffer.from(JSON.stringify({ v: 1, after, issued: now }), 'utf8').toString('base64url');
}

function readToken(token: string, now: number): number {
  let decoded: unknown;
  try {
    decoded = token.length <= MAX_TOKEN_LENGTH ? JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) : undefined;
  } catch {
    decoded = undefined;
  }
  const fields = decoded as { v?: unknown; after?: unknown; issued?: unknown } | undefined;
  if (typeof fields !== 'object' || fields === null || fields.v !== 1 || !Number.isInteger(fields.after) || !Number.isInteger(fields.issued)) {
    throw invalid(`The PaginationToken '${token}' is not valid. Use the PaginationToken of the previous response, unchanged.`);
  }
  if (now - (fields.issued as number) > TOKEN_LIFETIME_MS) {
    throw new AwsError('PaginationTokenExpiredException', 'The PaginationToken has expired. A PaginationToken is valid for a maximum of 15 minutes.');
  }
  return fields.after as number;
}

function readRange(input: JsonInput, name: string, range: { min: number; max: number }): number | undefined {
  const value = input.int(name);
  if (value !== undefined && (value < range.min || value > range.max)) throw invalid(`${name} must be between ${range.min} and ${range.max}; got ${value}.`);
  return value;
}

/**
 * One page: at most `size` resources and, with a tag budget, no more tags than it (an
 * untagged resource counts as one). moto's rule differs: see {@link MOTO_TAGS_PER_PAGE}.
 */
function fillPage(rest: readonly TaggableResource[], size: number, tagBudget: number | undefined, moto: { continued: boolean } | undefined): TaggableResource[] {
  const page: TaggableResource[] = [];
  let tags = 0;
  for (const resource of rest) {
    if (page.length >= size) break;
    if (moto) {
      // models.py `get_resources`: the peeked-ahead resource that opens a continued page is not counted.
      const free = moto.continued && page.length === 0;
      if (!free && tags + resource.tags.size >= (tagBudget ?? MOTO_TAGS_PER_PAGE)) break;
      if (!free) tags += resource.tags.size;
    } else {
      const cost = Math.max(1, resource.tags.size);
      if (tagBudget !== undefined && page.length > 0 && tags + cost > tagBudget) break;
      tags += cost;
    }
    page.push(resource);
  }
  return page;
}

interface MotoCursor {
  readonly selection: Selection;
  readonly after: number;
}

export function getResources(ctx: JsonContext): JsonObject {
  const { state, input } = ctx;
  const now = ctx.clock.now();
  if (input.bool('ExcludeCompliantResources') === true && input.bool('IncludeComplianceDetails') !== true) {
    throw invalid('ExcludeCompliantResources can be true only when IncludeComplianceDetails is true.');
  }
  const tagFilters = readTagFilters(input);
  const typeFilters = readTypeFilters(input);
  const arns = readArns(input);
  const perPage = readRange(input, 'ResourcesPerPage', RESOURCES_PER_PAGE);
  const tagsPerPage = readRange(input, 'TagsPerPage', TAGS_PER_PAGE);
  const token = input.str('PaginationToken') ?? '';
  const moto = isMoto(state);
  if (arns !== undefined) {
    if (tagFilters.length > 0) throw invalid("You can't specify both ResourceARNList and TagFilters in the same request.");
    if (typeFilters.length > 0) throw invalid("You can't specify both ResourceARNList and ResourceTypeFilters in the same request.");
    // Only moto issues a token for an ARN list, and its paginator sends it back with the list.
    const paging = ['ResourcesPerPage', 'TagsPerPage', ...(moto ? [] : ['PaginationToken'])].find((name) => (name === 'PaginationToken' ? token !== '' : input.has(name)));
    if (paging) throw invalid(`You can't specify both ResourceARNList and ${paging} in the same request.`);
  }
  const requested: Selection = { tagFilters, typeFilters, arns: arns === undefined ? undefined : new Set(arns) };

  if (moto) {
    // moto/resourcegroupstaggingapi: a token continues the query it was issued for, once.
    const cursor = token === '' ? { selection: requested, after: -Infinity } : (motoPageCursor(state, token) as MotoCursor);
    const rest = select(state, now, cursor.selection).filter((r) => r.seq > cursor.after);
    const page = fillPage(rest, perPage ?? MOTO_RESOURCES_PER_PAGE, tagsPerPage, { continued: token !== '' });
    const last = page[page.length - 1];
    if (page.length >= rest.length || last === undefined) return { ResourceTagMappingList: page.map(mapping) };
    const next = motoIssuePageToken(state, { selection: cursor.selection, after: last.seq } satisfies MotoCursor);
    if (token !== '') motoDropPageToken(state, token);
    return { ResourceTagMappingList: page.map(mapping), PaginationToken: next };
  }

  const after = token === '' ? -Infinity : readToken(token, now);
  const rest = select(state, now, requested).filter((r) => r.seq > after);
  const page = fillPage(rest, perPage ?? RESOURCES_PER_PAGE.default, tagsPerPage, undefined);
  const last = page[page.length - 1];
  const more = page.length < rest.length && last !== undefined;
  return { ResourceTagMappingList: page.map(mapping), PaginationToken: more ? issueToken(last.seq, now) : '' };
}

/**
 * Every key of the resources that carry tags now, in the order first seen, in one page
 * (the emulator never issues a token for these, so any non-empty one is invalid).
 */
function tagsNow(ctx: JsonContext): TaggableResource[] {
  const token = ctx.input.str('PaginationToken') ?? '';
  if (token !== '') throw invalid(`The PaginationToken '${token}' is not valid. Use the PaginationToken of the previous response, unchanged.`);
  return taggableResources(ctx.state, ctx.clock.now()).filter((r) => r.tags.size > 0);
}

export function getTagKeys(ctx: JsonContext): JsonObject {
  const keys = new Set<string>();
  for (const resource of tagsNow(ctx)) for (const key of resource.tags.keys()) keys.add(key);
  return { TagKeys: [...keys], PaginationToken: '' };
}

export function getTagValues(ctx: JsonContext): JsonObject {
  const key = ctx.input.str('Key');
  if (key === undefined || key.length === 0 || key.length > MAX_TAG_KEY_LENGTH) {
    throw invalid(`Key must be 1 to ${MAX_TAG_KEY_LENGTH} characters long; got ${key === undefined ? 'none' : `'${key}'`}.`);
  }
  const values = new Set<string>();
  for (const resource of tagsNow(ctx)) {
    const value = resource.tags.get(key);
    if (value !== undefined) values.add(value);
  }
  return { TagValues: [...values], PaginationToken: '' };
}

export const taggingService: JsonServiceDefinition = {
  service: 'tagging',
  targetPrefix: 'ResourceGroupsTaggingAPI_20170126',
  contentType: 'application/x-amz-json-1.1',
  typePrefix: '',
  messageKey: 'Message',
  queryCompatible: false,
  inputErrors,
  handlers: {
    GetResources: getResources,
    GetTagKeys: getTagKeys,
    GetTagValues: getTagValues,
  },
  // API reference, GetResources "Errors": ThrottledException, HTTP 400.
  throttlingError: () => new AwsError('ThrottledException', 'Rate exceeded'),
};
