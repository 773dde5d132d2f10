import { AwsError } from './errors';
import { ec2Tags, groupNotFound, idsNotFound, tagLimitExceeded, validateEc2Tags } from './ec2-common';
import { ruleTags } from './ec2-security-groups';
import type { Handler } from './service';
import type { AwsState } from './state';
import { addTags, countAfterAdding, MAX_TAGS_PER_RESOURCE, type TagSet } from './tags';

/** CreateTags / DeleteTags on any EC2 resource the emulator models, found by id prefix. */

function tagsOf(state: AwsState, id: string): TagSet {
  const [prefix] = id.split('-');
  switch (prefix) {
    case 'vpc':
      return (state.vpcs.get(id) ?? raise(idsNotFound('InvalidVpcID.NotFound', 'vpc', [id]))).tags;
    case 'subnet':
      return (state.subnets.get(id) ?? raise(idsNotFound('InvalidSubnetID.NotFound', 'subnet', [id]))).tags;
    case 'sg':
      return (state.securityGroups.get(id) ?? raise(groupNotFound(id))).tags;
    case 'i':
      return (state.instances.get(id) ?? raise(idsNotFound('InvalidInstanceID.NotFound', 'instance', [id]))).tags;
    case 'sgr':
      return ruleTags(state, id) ?? raise(new AwsError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`));
    case 'eipalloc':
      return (state.addresses.get(id) ?? raise(idsNotFound('InvalidAllocationID.NotFound', 'allocation', [id]))).tags;
    default:
      throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
  }
}

function raise(error: AwsError): never {
  throw error;
}

function resourceIds(ids: string[] | undefined): string[] {
  if (!ids || ids.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  return ids;
}

export const createTags: Handler = ({ state, params }) => {
  const ids = resourceIds(params.list('ResourceId'));
  const tags = ec2Tags(params.structs('Tag'));
  if (tags.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter tagSet');
  validateEc2Tags(tags);
  // All resources are checked before any is tagged.
  const sets = ids.map((id) => tagsOf(state, id));
  if (sets.some((set) => countAfterAdding(set, tags) > MAX_TAGS_PER_RESOURCE)) throw tagLimitExceeded();
  for (const set of sets) addTags(set, tags);
  return { return: true };
};

export const deleteTags: Handler = ({ state, params }) => {
  const ids = resourceIds(params.list('ResourceId'));
  const entries = params.structs('Tag');
  const sets = ids.map((id) => tagsOf(state, id));
  for (const set of sets) {
    // No Tag parameter deletes every tag; a tag with a Value (even "") is deleted only if the value matches.
    if (!entries || entries.length === 0) {
      set.clear();
      continue;
    }
    for (const entry of entries) {
      const key = entry.str('Key') ?? '';
      const value = entry.str('Value');
      if (value === undefined || set.get(key) === value) set.delete(key);
    }
  }
  return { return: true };
};
