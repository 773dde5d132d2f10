import { AwsError } from './errors';
import { cappedList, listenerNotFound, loadBalancerNotFound, targetGroupNotFound, validationError } from './elbv2-common';
import { isMoto, MOTO_MAX_ELBV2_TAGS, motoTooManyTags } from './fidelity';
import type { Params } from './query';
import type { Handler } from './service';
import type { AwsState } from './state';
import { addTags, countAfterAdding, duplicateTagKey, MAX_TAGS_PER_RESOURCE, tagProblem, type Tag, type TagSet } from './tags';

/** ELBv2 tagging: DescribeTags/AddTags/RemoveTags over load balancers, target groups and listeners. */

const MAX_ARNS_PER_CALL = 20;

type Kind = 'load balancer' | 'target group' | 'listener';

function kindOf(arn: string): Kind {
  if (/:loadbalancer\//.test(arn)) return 'load balancer';
  if (/:targetgroup\//.test(arn)) return 'target group';
  if (/:listener\//.test(arn)) return 'listener';
  throw validationError(`'${arn}' is not a valid Elastic Load Balancing resource ARN`);
}

function tagsOf(state: AwsState, arn: string): TagSet {
  const kind = kindOf(arn);
  const resource =
    kind === 'load balancer' ? state.loadBalancers.get(arn) : kind === 'target group' ? state.targetGroups.get(arn) : state.listeners.get(arn);
  if (resource) return resource.tags;
  if (kind === 'load balancer') throw loadBalancerNotFound(arn);
  if (kind === 'target group') throw targetGroupNotFound(arn);
  throw listenerNotFound(arn);
}

/**
 * The `Tags` of a request, validated. Create* calls use this too, so a resource and its
 * tags are accepted or rejected together.
 */
export function requestTags(params: Params, required = false): Tag[] {
  const entries = params.structs('Tags');
  if (entries === undefined || entries.length === 0) {
    if (required) throw validationError("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
    return [];
  }
  const tags = entries.map((entry) => ({ key: entry.required('Key'), value: entry.str('Value') ?? '' }));
  for (const tag of tags) {
    const problem = tagProblem(tag);
    if (problem) throw validationError(problem);
  }
  const duplicate = duplicateTagKey(tags);
  if (duplicate !== undefined) throw new AwsError('DuplicateTagKeys', `Tag key was specified more than once: ${duplicate}`);
  return tags;
}

export function tooManyTags(kind: Kind): AwsError {
  return new AwsError('TooManyTags', `The quota for the number of tags that can be assigned to a ${kind} has been reached`);
}

export function checkTagQuota(kind: Kind, existing: TagSet, tags: readonly Tag[]): void {
  if (countAfterAdding(existing, tags) > MAX_TAGS_PER_RESOURCE) throw tooManyTags(kind);
}

export function tagList(tags: TagSet): { Key: string; Value: string }[] {
  return [...tags].map(([Key, Value]) => ({ Key, Value }));
}

function resourceArns(params: Params): string[] {
  const arns = cappedList(params, 'ResourceArns', MAX_ARNS_PER_CALL);
  if (!arns || arns.length === 0) throw validationError("1 validation error detected: Value null at 'resourceArns' failed to satisfy constraint: Member must not be null");
  return arns;
}

export const describeTags: Handler = ({ state, params }) => {
  const arns = resourceArns(params);
  return { TagDescriptions: arns.map((arn) => ({ ResourceArn: arn, Tags: tagList(tagsOf(state, arn)) })) };
};

export const addTagsHandler: Handler = ({ state, params }) => {
  const arns = resourceArns(params);
  const tags = requestTags(params, true);
  // Check every resource first: AddTags either tags all of them or none.
  const sets = arns.map((arn) => {
    const set = tagsOf(state, arn);
    checkTagQuota(kindOf(arn), set, tags);
    if (isMoto(state) && countAfterAdding(set, tags) > MOTO_MAX_ELBV2_TAGS) throw motoTooManyTags();
    return set;
  });
  for (const set of sets) addTags(set, tags);
  return {};
};

export const removeTags: Handler = ({ state, params }) => {
  const arns = resourceArns(params);
  const keys = params.list('TagKeys');
  if (!keys || keys.length === 0) throw validationError("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
  const sets = arns.map((arn) => tagsOf(state, arn));
  for (const set of sets) for (const key of keys) set.delete(key);
  return {};
};
