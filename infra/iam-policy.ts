import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
// The same constants the reconciler tags with, so the policy and the code cannot drift apart.
import { GRANTED_TAG } from '../src/model/security';
import { TAG_CLUSTER, TAG_RESOURCE, TAG_SERVICE } from '../src/model/tags';

/**
 * The AWS permissions of ferry's reconciler (and of the resync, whose orphan collection
 * reuses the reconciler's planner), in the style of the AWS Load Balancer Controller's
 * policy but tighter: ferry may create only Network Load Balancers, target groups,
 * listeners and security groups that carry its cluster tag, and may change or delete only
 * resources that already carry it.
 *
 * The tag keys and the rule are docs/design.md §3 and `src/model/tags.ts`:
 * - create: `aws:RequestTag/ferry.io/cluster` must equal the cluster, and the other two
 *   ownership tags must be present (ferry always sends all three);
 * - tag-on-create: `AddTags` / `ec2:CreateTags` only in the context of those creates
 *   (`elasticloadbalancing:CreateAction`, `ec2:CreateAction`);
 * - mutate/delete: `aws:ResourceTag/ferry.io/cluster` must equal the cluster;
 * - drift re-tagging (`AddTags`/`RemoveTags` on existing resources) may touch no key under
 *   `ferry.io/`: the planner never changes ownership tags, and `ferry.io/additional-tags`
 *   refuses keys under `ferry.io/`, so nothing legitimate is lost.
 *
 * What a Service's annotations can pull into a call is limited where ELB's condition keys
 * allow: listeners only of the NLB protocols, TLS only with AWS's own `ELBSecurityPolicy-*`
 * policies, load balancers only in `subnetIds` when given and only `internal` when
 * `internetFacing` is off. AWS offers no way to limit which certificate a listener takes (no
 * condition key names it) nor which security groups an NLB gets (`elasticloadbalancing:
 * SecurityGroup` names group IDs, and ferry's own groups are made at run time): an
 * annotation can attach any group or certificate of the account to ferry's own NLB, which
 * only ever changes that NLB (infra/README.md says so).
 *
 * Condition keys per action and resource type follow the Service Authorization Reference
 * (Elastic Load Balancing V2 and EC2). Actions without resource-level support (every
 * `Describe*`, and the tagging API's `GetResources`) are the only ones on `Resource: "*"`.
 */
/** Every key under `ferry.io/` (the ownership keys and any future ones); drift tag calls may name none. */
export const OWNERSHIP_TAG_PATTERN = 'ferry.io/*';

export interface LoadBalancerPolicyOptions {
  /** The value of the `ferry.io/cluster` tag this controller owns. */
  readonly clusterName: string;
  /**
   * When set, security groups may be created only in this VPC (the subnet-discovery VPC).
   * @default - any VPC of the account and region
   */
  readonly vpcId?: string;
  /**
   * When set, load balancers may be placed only in these subnets (`elasticloadbalancing:Subnet`).
   * @default - any subnet
   */
  readonly subnetIds?: readonly string[];
  /**
   * Whether ferry may create internet-facing load balancers (`elasticloadbalancing:Scheme`).
   * @default true
   */
  readonly internetFacing?: boolean;
}

/** The protocols of a Network Load Balancer's listeners. */
export const NLB_LISTENER_PROTOCOLS = ['TCP', 'UDP', 'TCP_UDP', 'TLS'] as const;

/** Read-only calls of observe/inventory/subnet discovery; none supports resource-level permissions. */
export const READ_ACTIONS = [
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeLoadBalancerAttributes',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeListenerCertificates',
  'elasticloadbalancing:DescribeListenerAttributes',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetGroupAttributes',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:DescribeTags',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  // The target nodes' security groups (backend rules).
  'ec2:DescribeInstances',
  'ec2:DescribeNetworkInterfaces',
  // The resync's sweep: which load balancers and target groups carry ferry's tags, 100 a call.
  'tag:GetResources',
] as const;

export const LOAD_BALANCER_MUTATIONS = [
  'elasticloadbalancing:ModifyLoadBalancerAttributes',
  'elasticloadbalancing:SetSubnets',
  'elasticloadbalancing:SetSecurityGroups',
  'elasticloadbalancing:SetIpAddressType',
  'elasticloadbalancing:DeleteLoadBalancer',
] as const;

export const TARGET_GROUP_MUTATIONS = [
  'elasticloadbalancing:ModifyTargetGroup',
  'elasticloadbalancing:ModifyTargetGroupAttributes',
  'elasticloadbalancing:DeleteTargetGroup',
  'elasticloadbalancing:RegisterTargets',
  'elasticloadbalancing:DeregisterTargets',
] as const;

export const LISTENER_MUTATIONS = [
  'elasticloadbalancing:ModifyListener',
  'elasticloadbalancing:ModifyListenerAttributes',
  'elasticloadbalancing:DeleteListener',
  'elasticloadbalancing:AddListenerCertificates',
  'elasticloadbalancing:RemoveListenerCertificates',
] as const;

export const SECURITY_GROUP_MUTATIONS = [
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:DeleteSecurityGroup',
] as const;

/** Every statement of the three policies (for evaluating the whole grant). */
export function loadBalancerControllerStatements(scope: IConstruct, options: LoadBalancerPolicyOptions): iam.PolicyStatement[] {
  const { create, change, network } = loadBalancerControllerPolicies(scope, options);
  return [...create, ...change, ...network];
}

/**
 * The statements as three policies, each within IAM's 6,144 characters for a managed policy:
 * creating load balancers (with the reads and ELB's service-linked role), changing and
 * deleting the ones ferry owns, and EC2 networking (security groups, the nodes' backend
 * rules). Each statement has a Sid naming the rule it enforces (tests and reviewers look
 * them up by Sid).
 */
export interface ControllerPolicies {
  create: iam.PolicyStatement[];
  change: iam.PolicyStatement[];
  network: iam.PolicyStatement[];
}

export function loadBalancerControllerPolicies(
  scope: IConstruct,
  options: LoadBalancerPolicyOptions,
): ControllerPolicies {
  const stack = Stack.of(scope);
  const cluster = options.clusterName;
  // ferry creates only NLBs, so the ARN patterns say `net`: no ALB or GWLB can be touched.
  const arn = (service: string, resource: string, resourceName: string) =>
    stack.formatArn({ service, resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  const loadBalancers = arn('elasticloadbalancing', 'loadbalancer', 'net/*/*');
  const targetGroups = arn('elasticloadbalancing', 'targetgroup', '*/*');
  const listeners = arn('elasticloadbalancing', 'listener', 'net/*/*/*');
  const securityGroups = arn('ec2', 'security-group', '*');

  const requestTagged = {
    StringEquals: { [`aws:RequestTag/${TAG_CLUSTER}`]: cluster },
    // The other ownership tags must come along, so nothing ferry creates is anonymous to `ferry gc`.
    Null: { [`aws:RequestTag/${TAG_SERVICE}`]: 'false', [`aws:RequestTag/${TAG_RESOURCE}`]: 'false' },
  };
  const resourceTagged = { StringEquals: { [`aws:ResourceTag/${TAG_CLUSTER}`]: cluster } };
  // Where a load balancer may go: only the given subnets, and only internal unless allowed.
  const inSubnets =
    options.subnetIds && options.subnetIds.length > 0 ? { 'ForAllValues:StringEquals': { 'elasticloadbalancing:Subnet': [...options.subnetIds] } } : {};
  const scheme = options.internetFacing === false ? { 'elasticloadbalancing:Scheme': 'internal' } : {};

  const create = [
    new iam.PolicyStatement({
      sid: 'DescribeLoadBalancing',
      actions: READ_ACTIONS.filter((a) => a.startsWith('elasticloadbalancing:')),
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'FindTaggedResources',
      actions: READ_ACTIONS.filter((a) => a.startsWith('tag:')),
      resources: ['*'],
    }),

    // --- Elastic Load Balancing: create, tagged -------------------------------------------
    new iam.PolicyStatement({
      sid: 'CreateTaggedLoadBalancers',
      actions: ['elasticloadbalancing:CreateLoadBalancer'],
      resources: [loadBalancers],
      conditions: { ...requestTagged, StringEquals: { ...requestTagged.StringEquals, ...scheme }, ...inSubnets },
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedTargetGroups',
      actions: ['elasticloadbalancing:CreateTargetGroup'],
      resources: [targetGroups],
      conditions: requestTagged,
    }),
    new iam.PolicyStatement({
      // CreateListener is authorised against the load balancer (its only resource type):
      // aws:ResourceTag is the load balancer's tag, aws:RequestTag the new listener's.
      sid: 'CreateTaggedListenersOnOwnedLoadBalancers',
      actions: ['elasticloadbalancing:CreateListener'],
      resources: [loadBalancers],
      conditions: {
        StringEquals: {
          [`aws:ResourceTag/${TAG_CLUSTER}`]: cluster,
          [`aws:RequestTag/${TAG_CLUSTER}`]: cluster,
          'elasticloadbalancing:ListenerProtocol': [...NLB_LISTENER_PROTOCOLS],
        },
        StringLikeIfExists: { 'elasticloadbalancing:SecurityPolicy': 'ELBSecurityPolicy-*' },
        Null: requestTagged.Null,
      },
    }),
    new iam.PolicyStatement({
      // Tags passed to a Create* call are authorised as AddTags with CreateAction set; a
      // direct AddTags call has no CreateAction and does not match this statement.
      sid: 'TagOnCreateOnly',
      actions: ['elasticloadbalancing:AddTags'],
      resources: [loadBalancers, targetGroups, listeners],
      conditions: {
        StringEquals: {
          'elasticloadbalancing:CreateAction': ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener'],
          [`aws:RequestTag/${TAG_CLUSTER}`]: cluster,
        },
      },
    }),

    // --- First load balancer in an account ----------------------------------------------
    new iam.PolicyStatement({
      // AWS creates ELB's service-linked role on an account's first CreateLoadBalancer, as
      // the caller; without this, that first call fails. Scoped to that one role.
      sid: 'CreateElbServiceLinkedRole',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [
        stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role',
          resourceName: 'aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing',
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
      conditions: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
    }),
  ];

  const change = [
    // --- Elastic Load Balancing: change or delete what is ours -------------------------
    new iam.PolicyStatement({
      sid: 'MutateOwnedLoadBalancers',
      actions: LOAD_BALANCER_MUTATIONS.filter((a) => a !== 'elasticloadbalancing:SetSubnets'),
      resources: [loadBalancers],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'MoveOwnedLoadBalancersWithinAllowedSubnets',
      actions: ['elasticloadbalancing:SetSubnets'],
      resources: [loadBalancers],
      conditions: { ...resourceTagged, ...inSubnets },
    }),
    new iam.PolicyStatement({
      sid: 'MutateOwnedTargetGroups',
      actions: [...TARGET_GROUP_MUTATIONS],
      resources: [targetGroups],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'MutateOwnedListeners',
      actions: LISTENER_MUTATIONS.filter((a) => a !== 'elasticloadbalancing:ModifyListener'),
      resources: [listeners],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      sid: 'ModifyOwnedListenersWithinNlbProtocols',
      actions: ['elasticloadbalancing:ModifyListener'],
      resources: [listeners],
      conditions: {
        StringEquals: { ...resourceTagged.StringEquals },
        StringEqualsIfExists: { 'elasticloadbalancing:ListenerProtocol': [...NLB_LISTENER_PROTOCOLS] },
        StringLikeIfExists: { 'elasticloadbalancing:SecurityPolicy': 'ELBSecurityPolicy-*' },
      },
    }),
    new iam.PolicyStatement({
      // Drift repair of user tags. ForAllValues:StringNotLike = "every key in the request is
      // outside ferry.io/"; because ForAllValues is also true for an empty key set, the Null
      // check makes the key list mandatory, so the statement cannot match vacuously.
      sid: 'RetagOwnedResourcesExceptOwnershipKeys',
      actions: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
      resources: [loadBalancers, targetGroups, listeners],
      conditions: {
        ...resourceTagged,
        'ForAllValues:StringNotLike': { 'aws:TagKeys': [OWNERSHIP_TAG_PATTERN] },
        Null: { 'aws:TagKeys': 'false' },
      },
    }),

  ];

  const network = [
    new iam.PolicyStatement({
      sid: 'DescribeNetwork',
      actions: READ_ACTIONS.filter((a) => a.startsWith('ec2:')),
      resources: ['*'],
    }),

    // --- EC2 security groups -------------------------------------------------------------
    new iam.PolicyStatement({
      // CreateSecurityGroup is authorised twice: on the new security group (which has the
      // request tags) and on the VPC (which has none, so it needs its own statement).
      sid: 'CreateTaggedSecurityGroups',
      actions: ['ec2:CreateSecurityGroup'],
      resources: [securityGroups],
      conditions: requestTagged,
    }),
    new iam.PolicyStatement({
      sid: 'CreateSecurityGroupsInVpc',
      actions: ['ec2:CreateSecurityGroup'],
      resources: [arn('ec2', 'vpc', options.vpcId ?? '*')],
    }),
    new iam.PolicyStatement({
      sid: 'TagSecurityGroupsOnCreateOnly',
      actions: ['ec2:CreateTags'],
      resources: [securityGroups],
      conditions: {
        StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup', [`aws:RequestTag/${TAG_CLUSTER}`]: cluster },
      },
    }),
    new iam.PolicyStatement({
      // The backend group's record of the rules every node group admits (GRANTED_TAG): on
      // ferry's own groups only, and that one key only.
      sid: 'RecordGrantsOnOwnedSecurityGroups',
      actions: ['ec2:CreateTags'],
      resources: [securityGroups],
      conditions: {
        StringEquals: { [`aws:ResourceTag/${TAG_CLUSTER}`]: cluster },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [GRANTED_TAG] },
      },
    }),
    new iam.PolicyStatement({
      sid: 'MutateOwnedSecurityGroups',
      actions: [...SECURITY_GROUP_MUTATIONS],
      resources: [securityGroups],
      conditions: resourceTagged,
    }),
    new iam.PolicyStatement({
      // Backend rules: the nodes' groups admit ferry's backend group. Only groups tagged for
      // this cluster (as the cloud provider and the Load Balancer Controller tag node groups),
      // and only their ingress; ferry never revokes a rule whose source is not its own group.
      sid: 'OpenClusterNodeGroupsToBackend',
      actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
      resources: [securityGroups],
      conditions: { Null: { [`aws:ResourceTag/kubernetes.io/cluster/${cluster}`]: 'false' } },
    }),
  ];
  return { create, change, network };
}

/**
 * The one-time grant an adoption needs (`ferry.io/adopt-load-balancer`): the NLB was made by
 * another controller, so it carries no `ferry.io/cluster` tag, and the tag-scoped policy above
 * lets ferry touch nothing untagged. This lets ferry put its cluster tag on these NLBs, their
 * listeners and the target groups they use, and only on resources no ferry has tagged yet.
 * Once they carry the tag the regular policy covers them: remove this grant after the
 * adoption (infra/README.md, "Adopting a load balancer").
 */
export function adoptionStatement(scope: IConstruct, options: { clusterName: string; loadBalancerArns: readonly string[] }): iam.PolicyStatement {
  const stack = Stack.of(scope);
  const listeners = options.loadBalancerArns.map((arn) => arn.replace(':loadbalancer/net/', ':listener/net/') + '/*');
  return new iam.PolicyStatement({
    sid: 'AdoptTheseLoadBalancersOnce',
    actions: ['elasticloadbalancing:AddTags'],
    resources: [
      ...options.loadBalancerArns,
      ...listeners,
      stack.formatArn({ service: 'elasticloadbalancing', resource: 'targetgroup', resourceName: '*/*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    ],
    conditions: {
      StringEquals: { [`aws:RequestTag/${TAG_CLUSTER}`]: options.clusterName },
      Null: { [`aws:ResourceTag/${TAG_CLUSTER}`]: 'true' },
    },
  });
}
