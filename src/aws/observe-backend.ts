import type { Filter } from '@aws-sdk/client-ec2';
import type { ObservedSecurityGroup } from '../model/observed';
import type { TargetType } from '../model/types';
import { chunk, settleAll } from '../util/limit';
import type { AwsClients } from './clients';
import { toSecurityGroup } from './convert';
import { ec2Sdk } from './lazy-sdk';

export interface NodeGroupsRequest {
  targetType: TargetType;
  /** Instance IDs or node IPs, as the target groups register them. */
  targets: readonly string[];
  /** The tag that marks a node security group ferry may open. */
  nodeGroupTag: string;
}

export interface NodeGroups {
  groups: ObservedSecurityGroup[];
  /** Targets without a security group carrying the tag. */
  untagged: string[];
}

/**
 * The security groups of the target nodes that ferry may open to its backend group: the ones
 * tagged `kubernetes.io/cluster/<cluster>` (the AWS Load Balancer Controller's rule; the IAM
 * policy allows no other). Instances are read by ID, IP targets by their network interface;
 * an IP that no interface of the account holds (a node outside AWS) has no group to open.
 * Two calls for any number of nodes: the owners' groups, then those groups with their rules.
 */
export async function readNodeGroups(aws: AwsClients, request: NodeGroupsRequest): Promise<NodeGroups> {
  const ec2 = ec2Sdk();
  const groupsOf = new Map<string, string[]>();
  if (request.targetType === 'instance') {
    await settleAll(chunk(request.targets, 1000), async (ids) => {
      let token: string | undefined;
      do {
        const out = await aws.ec2.send(new ec2.DescribeInstancesCommand({ InstanceIds: ids, NextToken: token }));
        for (const r of out.Reservations ?? []) {
          for (const i of r.Instances ?? []) groupsOf.set(i.InstanceId!, (i.SecurityGroups ?? []).map((g) => g.GroupId!));
        }
        token = out.NextToken;
      } while (token);
    });
  } else {
    // EC2 takes at most 200 values per filter.
    await settleAll(chunk(request.targets, 200), async (ips) => {
      const filters: Filter[] = [{ Name: 'addresses.private-ip-address', Values: [...ips] }];
      let token: string | undefined;
      do {
        const out = await aws.ec2.send(new ec2.DescribeNetworkInterfacesCommand({ Filters: filters, NextToken: token }));
        for (const eni of out.NetworkInterfaces ?? []) {
          const groups = (eni.Groups ?? []).map((g) => g.GroupId!);
          for (const a of eni.PrivateIpAddresses ?? []) if (a.PrivateIpAddress && ips.includes(a.PrivateIpAddress)) groupsOf.set(a.PrivateIpAddress, groups);
        }
        token = out.NextToken;
      } while (token);
    });
  }
  const ids = [...new Set([...groupsOf.values()].flat())].sort();
  const groups = ids.length === 0 ? [] : await describeGroupsById(aws, ids);
  const tagged = new Set(groups.filter((g) => request.nodeGroupTag in g.tags).map((g) => g.id));
  return {
    groups: groups.filter((g) => tagged.has(g.id)),
    untagged: [...groupsOf].filter(([, gs]) => !gs.some((g) => tagged.has(g))).map(([target]) => target).sort(),
  };
}

async function describeGroupsById(aws: AwsClients, ids: readonly string[]): Promise<ObservedSecurityGroup[]> {
  const found = await settleAll(chunk(ids, 200), async (batch) => {
    const out = await aws.ec2.send(new (ec2Sdk().DescribeSecurityGroupsCommand)({ GroupIds: [...batch] }));
    return (out.SecurityGroups ?? []).map(toSecurityGroup);
  });
  return found.flat().sort((a, b) => a.id.localeCompare(b.id));
}
