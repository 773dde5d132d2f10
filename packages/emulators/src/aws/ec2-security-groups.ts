import { isIpv6Cidr, parseCidr } from './cidr';
import { AwsError } from './errors';
import { describe, groupNotFound, invalidParameterValue, noDefaultVpc, renderTags, tagSpecifications } from './ec2-common';
import { requireVpc } from './ec2-network';
import { isMoto } from './fidelity';
import type { Params } from './query';
import type { Handler, ResultFields } from './service';
import type { AwsState, SecurityGroup, SgRule } from './state';
import { newTagSet, type TagSet } from './tags';
import type { XmlValue } from './xml';

/** Security groups of VPCs and their ingress rules. */

function securityGroupArn(state: AwsState, id: string): string {
  return `arn:aws:ec2:${state.region}:${state.accountId}:security-group/${id}`;
}

/**
 * The group a call names by GroupId, or by GroupName (which AWS resolves only in the
 * default VPC, and this account has none).
 */
function targetGroup(state: AwsState, params: Params): SecurityGroup {
  const id = params.str('GroupId');
  if (id === undefined) {
    if (params.str('GroupName') !== undefined) throw noDefaultVpc();
    throw new AwsError('MissingParameter', 'The request must contain the parameter groupName or groupId');
  }
  const group = state.securityGroups.get(id);
  if (!group) throw groupNotFound(id);
  return group;
}

const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' };

function normaliseProtocol(raw: string): string {
  const lower = raw.toLowerCase();
  const protocol = PROTOCOL_NUMBERS[lower] ?? lower;
  if (['tcp', 'udp', 'icmp', 'icmpv6', '-1'].includes(protocol) || /^\d{1,3}$/.test(protocol)) return protocol;
  throw invalidParameterValue(`Invalid value '${raw}' for IP protocol. Unknown protocol.`);
}

/** Every rule a request names, one per source, from IpPermissions or the legacy flat parameters. */
function requestedRules(state: AwsState, params: Params): SgRule[] {
  const permissions = params.structs('IpPermissions') ?? [];
  const rules: SgRule[] = [];
  const rule = (p: Params, source: Partial<SgRule>): SgRule => {
    const protocol = normaliseProtocol(p.required('IpProtocol'));
    let fromPort = p.int('FromPort');
    let toPort = p.int('ToPort');
    if (protocol === 'tcp' || protocol === 'udp') {
      if (fromPort === undefined || toPort === undefined) {
        throw invalidParameterValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.");
      }
      if (fromPort < 0 || toPort > 65535 || fromPort > toPort) throw invalidParameterValue(`Invalid value '${fromPort}-${toPort}' for portRange.`);
    }
    // Ports mean something only for TCP, UDP and ICMP (type/code); EC2 drops them otherwise.
    if (!['tcp', 'udp', 'icmp', 'icmpv6'].includes(protocol)) fromPort = toPort = undefined;
    return { protocol, fromPort, toPort, ruleId: '', ...source };
  };
  const sources = (p: Params): Partial<SgRule>[] => {
    const out: Partial<SgRule>[] = [];
    for (const range of p.structs('IpRanges') ?? []) {
      const cidr = range.required('CidrIp');
      if (!parseCidr(cidr)) throw invalidParameterValue(`CIDR block ${cidr} is malformed`);
      out.push({ cidrIpv4: cidr, description: range.str('Description') });
    }
    for (const range of p.structs('Ipv6Ranges') ?? []) {
      const cidr = range.required('CidrIpv6');
      if (!isIpv6Cidr(cidr)) throw invalidParameterValue(`CIDR block ${cidr} is malformed`);
      out.push({ cidrIpv6: cidr, description: range.str('Description') });
    }
    for (const pair of p.structs('Groups') ?? []) {
      const groupId = pair.required('GroupId');
      if (!state.securityGroups.has(groupId)) throw groupNotFound(groupId);
      out.push({ groupId, description: pair.str('Description') });
    }
    if (out.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter ipRanges, ipv6Ranges or groups');
    return out;
  };
  for (const permission of permissions) for (const source of sources(permission)) rules.push(rule(permission, source));
  if (permissions.length === 0 && params.str('IpProtocol') !== undefined) {
    const cidr = params.str('CidrIp');
    if (cidr === undefined || !parseCidr(cidr)) throw invalidParameterValue(`CIDR block ${cidr ?? ''} is malformed`);
    rules.push(rule(params, { cidrIpv4: cidr }));
  }
  return rules;
}

function peer(rule: SgRule): string {
  return rule.cidrIpv4 ?? rule.cidrIpv6 ?? rule.groupId ?? '';
}

/** Two rules are the same permission when everything but the description matches. */
function sameRule(a: SgRule, b: SgRule): boolean {
  return a.protocol === b.protocol && a.fromPort === b.fromPort && a.toPort === b.toPort && peer(a) === peer(b) && !!a.groupId === !!b.groupId;
}

/** As EC2 words it: `peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW`, `peer: …, ALL, ALLOW`, `peer: …, protocol: 50, ALLOW`. */
function describeRule(rule: SgRule): string {
  const protocol = rule.protocol === '-1' ? 'ALL' : /^\d+$/.test(rule.protocol) ? `protocol: ${rule.protocol}` : rule.protocol.toUpperCase();
  const ports = rule.fromPort === undefined ? '' : `, from port: ${rule.fromPort}, to port: ${rule.toPort}`;
  return `peer: ${peer(rule)}, ${protocol}${ports}, ALLOW`;
}

/** Rules grouped the way EC2 reports them: one IpPermission per protocol and port range. */
function renderPermissions(state: AwsState, rules: readonly SgRule[]): XmlValue {
  const groups = new Map<string, SgRule[]>();
  for (const rule of rules) {
    const key = `${rule.protocol}/${rule.fromPort}/${rule.toPort}`;
    groups.set(key, [...(groups.get(key) ?? []), rule]);
  }
  return [...groups.values()].map((members) => {
    const first = members[0]!;
    return {
      ipProtocol: first.protocol,
      fromPort: first.fromPort,
      toPort: first.toPort,
      groups: members.filter((r) => r.groupId).map((r) => ({ groupId: r.groupId, userId: state.accountId, description: r.description })),
      ipRanges: members.filter((r) => r.cidrIpv4).map((r) => ({ cidrIp: r.cidrIpv4, description: r.description })),
      ipv6Ranges: members.filter((r) => r.cidrIpv6).map((r) => ({ cidrIpv6: r.cidrIpv6, description: r.description })),
      prefixListIds: [],
    };
  });
}

function renderRule(state: AwsState, group: SecurityGroup, rule: SgRule): XmlValue {
  return {
    securityGroupRuleId: rule.ruleId,
    groupId: group.id,
    groupOwnerId: state.accountId,
    isEgress: false,
    ipProtocol: rule.protocol,
    fromPort: rule.fromPort ?? -1,
    toPort: rule.toPort ?? -1,
    cidrIpv4: rule.cidrIpv4,
    cidrIpv6: rule.cidrIpv6,
    referencedGroupInfo: rule.groupId ? { groupId: rule.groupId, userId: state.accountId } : undefined,
    description: rule.description,
    securityGroupRuleArn: `arn:aws:ec2:${state.region}:${state.accountId}:security-group-rule/${rule.ruleId}`,
    tagSet: rule.tags ? renderTags(rule.tags) : undefined,
  };
}

export const createSecurityGroup: Handler = ({ state, params }) => {
  const name = params.required('GroupName');
  const description = params.required('GroupDescription');
  if (name.startsWith('sg-')) throw invalidParameterValue('Group names may not be in the format sg-*.');
  if (name.length > 255 || description.length > 255) throw invalidParameterValue('Group names and descriptions are limited to 255 characters.');
  const vpcId = params.str('VpcId');
  if (vpcId === undefined) throw noDefaultVpc();
  requireVpc(state, vpcId);
  if ([...state.securityGroups.values()].some((g) => g.vpcId === vpcId && g.name === name)) {
    throw new AwsError('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`);
  }
  const tags = tagSpecifications(params, 'security-group');
  const group: SecurityGroup = {
    seq: state.nextSeq(),
    id: state.ec2Id('sg'),
    name,
    description,
    vpcId,
    ingress: [],
    // A new group allows all outbound traffic until its egress rules are changed.
    egress: [{ protocol: '-1', fromPort: undefined, toPort: undefined, cidrIpv4: '0.0.0.0/0', ruleId: state.ec2Id('sgr') }],
    tags: newTagSet(tags),
  };
  state.securityGroups.set(group.id, group);
  return { return: true, groupId: group.id, securityGroupArn: securityGroupArn(state, group.id), tagSet: renderTags(group.tags) };
};

export const describeSecurityGroups: Handler = ({ state, params }) => {
  if (params.list('GroupName')?.length) throw noDefaultVpc();
  const page = describe(params, {
    // moto's DescribeSecurityGroups does not page: it answers everything, with no NextToken.
    paging: !isMoto(state),
    all: [...state.securityGroups.values()],
    idParam: 'GroupId',
    idOf: (g) => g.id,
    notFound: (missing) => groupNotFound(missing[0]!),
    fields: {
      'group-id': (g) => g.id,
      'group-name': (g) => g.name,
      'vpc-id': (g) => g.vpcId,
      description: (g) => g.description,
      'owner-id': () => state.accountId,
      'ip-permission.protocol': (g) => g.ingress.map((r) => r.protocol),
      'ip-permission.cidr': (g) => g.ingress.map((r) => r.cidrIpv4),
      'ip-permission.group-id': (g) => g.ingress.map((r) => r.groupId),
    },
  });
  return {
    securityGroupInfo: page.items.map((g) => ({
      ownerId: state.accountId,
      groupId: g.id,
      groupName: g.name,
      groupDescription: g.description,
      vpcId: g.vpcId,
      securityGroupArn: securityGroupArn(state, g.id),
      ipPermissions: renderPermissions(state, g.ingress),
      ipPermissionsEgress: renderPermissions(state, g.egress),
      tagSet: renderTags(g.tags),
    })),
    nextToken: page.next,
  };
};

export const deleteSecurityGroup: Handler = ({ state, params }) => {
  const group = targetGroup(state, params);
  if (group.name === 'default') {
    throw new AwsError('CannotDelete', `the specified group: "${group.id}" name: "default" cannot be deleted by a user`);
  }
  const dependent =
    [...state.loadBalancers.values()].some((lb) => lb.securityGroups.includes(group.id)) ||
    [...state.instances.values()].some((i) => i.state === 'running' && i.securityGroupIds.includes(group.id)) ||
    [...state.securityGroups.values()].some((g) => g !== group && [...g.ingress, ...g.egress].some((r) => r.groupId === group.id));
  if (dependent) throw new AwsError('DependencyViolation', `resource ${group.id} has a dependent object`);
  state.securityGroups.delete(group.id);
  return { return: true, groupId: group.id };
};

export const authorizeSecurityGroupIngress: Handler = ({ state, params }) => {
  const group = targetGroup(state, params);
  const rules = requestedRules(state, params);
  if (rules.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter ipPermissions');
  const accepted: SgRule[] = [];
  for (const rule of rules) {
    if ([...group.ingress, ...accepted].some((existing) => sameRule(existing, rule))) {
      throw new AwsError('InvalidPermission.Duplicate', `the specified rule "${describeRule(rule)}" already exists`);
    }
    accepted.push({ ...rule, ruleId: state.ec2Id('sgr') });
  }
  const ruleTags = tagSpecifications(params, 'security-group-rule');
  // The rules are born tagged, each with its own copy of the tags.
  if (ruleTags.length > 0) accepted.splice(0, accepted.length, ...accepted.map((r) => ({ ...r, tags: newTagSet(ruleTags) })));
  group.ingress.push(...accepted);
  return { return: true, securityGroupRuleSet: accepted.map((r) => renderRule(state, group, r)) };
};

export const revokeSecurityGroupIngress: Handler = ({ state, params }) => {
  const group = targetGroup(state, params);
  const byId = params.list('SecurityGroupRuleId') ?? [];
  const requested = byId.length > 0 ? [] : requestedRules(state, params);
  // moto compares the whole stored entry, description included, and fails the call on any rule it cannot find.
  const same = isMoto(state) ? (a: SgRule, b: SgRule) => sameRule(a, b) && (a.description ?? '') === (b.description ?? '') : sameRule;
  const matched = byId.length > 0 ? group.ingress.filter((r) => byId.includes(r.ruleId)) : group.ingress.filter((r) => requested.some((q) => same(r, q)));
  const unknown = requested.filter((q) => !group.ingress.some((r) => same(r, q)));
  if (matched.length === 0 || (byId.length > 0 && matched.length < byId.length) || (isMoto(state) && unknown.length > 0)) {
    throw new AwsError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
  }
  // Rules that do exist are revoked; AWS reports the rest instead of failing the call.
  group.ingress.splice(0, group.ingress.length, ...group.ingress.filter((r) => !matched.includes(r)));
  // moto answers `return` alone: no RevokedSecurityGroupRules, no UnknownIpPermissions.
  if (isMoto(state)) return { return: true };
  const result: ResultFields = {
    return: true,
    unknownIpPermissionSet: unknown.length > 0 ? renderPermissions(state, unknown) : undefined,
    revokedSecurityGroupRuleSet: matched.map((r) => ({
      securityGroupRuleId: r.ruleId,
      groupId: group.id,
      isEgress: false,
      ipProtocol: r.protocol,
      fromPort: r.fromPort ?? -1,
      toPort: r.toPort ?? -1,
      cidrIpv4: r.cidrIpv4,
      cidrIpv6: r.cidrIpv6,
      referencedGroupId: r.groupId,
      description: r.description,
    })),
  };
  return result;
};

/** Every ingress rule of the selected groups, as DescribeSecurityGroupRules reports them (egress rules are not modelled there). */
interface RuleRow {
  readonly seq: number;
  readonly group: SecurityGroup;
  readonly rule: SgRule;
  readonly tags: TagSet;
}

export const describeSecurityGroupRules: Handler = ({ state, params }) => {
  const rows: RuleRow[] = [];
  let seq = 0;
  for (const group of [...state.securityGroups.values()].sort((a, b) => a.seq - b.seq)) {
    for (const rule of group.ingress) rows.push({ seq: ++seq, group, rule, tags: rule.tags ?? newTagSet() });
  }
  const page = describe(params, {
    all: rows,
    idParam: 'SecurityGroupRuleId',
    idOf: (row) => row.rule.ruleId,
    notFound: (missing) => new AwsError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${missing[0]}' does not exist`),
    fields: {
      'group-id': (row) => row.group.id,
      'security-group-rule-id': (row) => row.rule.ruleId,
    },
  });
  return { securityGroupRuleSet: page.items.map((row) => renderRule(state, row.group, row.rule)), nextToken: page.next };
};

/** The ingress rule with this id, wherever it is (CreateTags/DeleteTags on sgr- ids). */
export function ruleTags(state: AwsState, ruleId: string): TagSet | undefined {
  for (const group of state.securityGroups.values()) {
    const index = group.ingress.findIndex((r) => r.ruleId === ruleId);
    if (index < 0) continue;
    const rule = group.ingress[index]!;
    if (!rule.tags) group.ingress[index] = { ...rule, tags: newTagSet() };
    return group.ingress[index]!.tags;
  }
  return undefined;
}
