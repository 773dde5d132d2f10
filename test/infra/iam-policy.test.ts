import { Stack } from 'aws-cdk-lib';
import { PolicyDocument } from 'aws-cdk-lib/aws-iam';
import {
  LISTENER_MUTATIONS,
  LOAD_BALANCER_MUTATIONS,
  READ_ACTIONS,
  SECURITY_GROUP_MUTATIONS,
  TARGET_GROUP_MUTATIONS,
  adoptionStatement,
  loadBalancerControllerPolicies,
  loadBalancerControllerStatements,
} from '../../infra/iam-policy';
import { isAllowed, resolvePartition, type RequestContext } from './iam-eval';
import { ACCOUNT, REGION, fastApp } from './synth';

const CLUSTER = 'prod-eu';
const VPC_ID = 'vpc-0123456789abcdef0';

function statementsFor(clusterName: string, vpcId?: string, region = REGION): any[] {
  const stack = new Stack(fastApp(), 'Policy', { env: { account: ACCOUNT, region } });
  const doc = new PolicyDocument({ statements: loadBalancerControllerStatements(stack, { clusterName, vpcId }) });
  return resolvePartition(stack.resolve(doc.toJSON())).Statement;
}

const statements = statementsFor(CLUSTER, VPC_ID);
const allow = (action: string, resource: string, context: RequestContext = {}) => isAllowed(statements, { action, resource, context });

const elb = (rest: string) => `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:${rest}`;
const LB = elb('loadbalancer/net/k8s-default-web-3f2a9c1b7d/50dc6c495c0c9188');
const ALB = elb('loadbalancer/app/k8s-default-web-3f2a9c1b7d/50dc6c495c0c9188');
const TG = elb('targetgroup/k8s-default-web-80-1a2b3c4d5e/73e2d6bc24d8a067');
const LISTENER = elb('listener/net/k8s-default-web-3f2a9c1b7d/50dc6c495c0c9188/f2f7dc8efc522ab2');
const SG = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-0a1b2c3d4e5f67890`;
const VPC = `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/${VPC_ID}`;
const OTHER_VPC = `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/vpc-0fedcba9876543210`;

/** The request context of a call that passes these tags (Tags / TagSpecifications). */
function requestTags(tags: Record<string, string>): RequestContext {
  return { 'aws:TagKeys': Object.keys(tags), ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])) };
}
const ownershipTags = (cluster = CLUSTER) => ({ 'ferry.io/cluster': cluster, 'ferry.io/service': 'default/web', 'ferry.io/resource': 'LoadBalancer' });
const owned = { 'aws:ResourceTag/ferry.io/cluster': CLUSTER };
const foreign = { 'aws:ResourceTag/ferry.io/cluster': 'staging' };

describe('load-balancer IAM policy', () => {
  it('lists exactly the calls ferry makes, none with a wildcard action', () => {
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    expect([...actions].sort()).toEqual(
      [
        ...READ_ACTIONS,
        ...LOAD_BALANCER_MUTATIONS,
        ...TARGET_GROUP_MUTATIONS,
        ...LISTENER_MUTATIONS,
        ...SECURITY_GROUP_MUTATIONS,
        'elasticloadbalancing:CreateLoadBalancer',
        'elasticloadbalancing:CreateTargetGroup',
        'elasticloadbalancing:CreateListener',
        'elasticloadbalancing:AddTags',
        'elasticloadbalancing:RemoveTags',
        'ec2:CreateSecurityGroup',
        'ec2:CreateTags',
        'iam:CreateServiceLinkedRole',
      ].sort(),
    );
    for (const a of actions) expect(a).not.toMatch(/\*/);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('puts only read calls on Resource "*"', () => {
    const starred = statements.filter((s) => [s.Resource].flat().includes('*'));
    expect(starred.map((s) => s.Sid)).toEqual(['DescribeLoadBalancing', 'FindTaggedResources', 'DescribeNetwork']);
    for (const a of starred.flatMap((s) => [s.Action].flat())) expect(a).toMatch(/^((elasticloadbalancing|ec2):Describe[A-Za-z]+|tag:GetResources)$/);
    for (const a of READ_ACTIONS) expect(allow(a, '*')).toBe(true);
  });

  describe('creating', () => {
    it.each([
      ['elasticloadbalancing:CreateLoadBalancer', LB],
      ['elasticloadbalancing:CreateTargetGroup', TG],
    ])('%s requires the cluster tag (and the other ownership tags) in the request', (action, arn) => {
      expect(allow(action, arn, requestTags(ownershipTags()))).toBe(true);
      expect(allow(action, arn, requestTags(ownershipTags('staging')))).toBe(false);
      expect(allow(action, arn, {})).toBe(false);
      expect(allow(action, arn, requestTags({ 'ferry.io/cluster': CLUSTER }))).toBe(false);
    });

    it('creates Network Load Balancers only', () => {
      expect(allow('elasticloadbalancing:CreateLoadBalancer', ALB, requestTags(ownershipTags()))).toBe(false);
    });

    it('lets tags ride on a create (AddTags with CreateAction) but only with this cluster as owner', () => {
      for (const [createAction, arn] of [
        ['CreateLoadBalancer', LB],
        ['CreateTargetGroup', TG],
        ['CreateListener', LISTENER],
      ] as const) {
        const ctx = { ...requestTags(ownershipTags()), 'elasticloadbalancing:CreateAction': createAction };
        expect(allow('elasticloadbalancing:AddTags', arn, ctx)).toBe(true);
        expect(allow('elasticloadbalancing:AddTags', arn, { ...ctx, ...requestTags(ownershipTags('staging')) })).toBe(false);
      }
    });

    it('creates listeners only on this cluster\'s load balancers, and tagged', () => {
      const tagged = { ...requestTags(ownershipTags()), 'elasticloadbalancing:ListenerProtocol': 'TCP' };
      expect(allow('elasticloadbalancing:CreateListener', LB, { ...owned, ...tagged })).toBe(true);
      expect(allow('elasticloadbalancing:CreateListener', LB, { ...foreign, ...tagged })).toBe(false);
      expect(allow('elasticloadbalancing:CreateListener', LB, tagged)).toBe(false);
      expect(allow('elasticloadbalancing:CreateListener', LB, owned)).toBe(false);
    });

    it('creates security groups only tagged, and only in the discovery VPC when one is set', () => {
      const tagged = requestTags(ownershipTags());
      // CreateSecurityGroup is authorised on both the new group and the VPC.
      expect(allow('ec2:CreateSecurityGroup', SG, tagged) && allow('ec2:CreateSecurityGroup', VPC, tagged)).toBe(true);
      expect(allow('ec2:CreateSecurityGroup', SG, requestTags(ownershipTags('staging')))).toBe(false);
      expect(allow('ec2:CreateSecurityGroup', SG, {})).toBe(false);
      expect(allow('ec2:CreateSecurityGroup', OTHER_VPC, tagged)).toBe(false);
      const anyVpc = statementsFor(CLUSTER);
      expect(isAllowed(anyVpc, { action: 'ec2:CreateSecurityGroup', resource: OTHER_VPC, context: tagged })).toBe(true);
    });

    it('tags security groups only while creating them', () => {
      const tagged = requestTags(ownershipTags());
      expect(allow('ec2:CreateTags', SG, { ...tagged, 'ec2:CreateAction': 'CreateSecurityGroup' })).toBe(true);
      expect(allow('ec2:CreateTags', SG, { ...tagged, ...owned })).toBe(false);
      expect(allow('ec2:CreateTags', SG, { ...requestTags({ team: 'a' }), ...owned })).toBe(false);
      expect(allow('ec2:DeleteTags', SG, { ...requestTags({ team: 'a' }), ...owned })).toBe(false);
    });
  });

  describe('changing existing resources', () => {
    it.each([
      ...LOAD_BALANCER_MUTATIONS.map((a) => [a, LB] as const),
      ...TARGET_GROUP_MUTATIONS.map((a) => [a, TG] as const),
      ...LISTENER_MUTATIONS.map((a) => [a, LISTENER] as const),
      ...SECURITY_GROUP_MUTATIONS.map((a) => [a, SG] as const),
    ])('%s requires this cluster\'s tag on the resource', (action, arn) => {
      expect(allow(action, arn, owned)).toBe(true);
      expect(allow(action, arn, foreign)).toBe(false);
      expect(allow(action, arn, {})).toBe(false);
    });

    it('never touches Application Load Balancers, even tagged ones', () => {
      expect(allow('elasticloadbalancing:DeleteLoadBalancer', ALB, owned)).toBe(false);
    });
  });

  describe('drift re-tagging', () => {
    const tagsOn = (action: string, arn: string, keys: string[], resource = owned) =>
      allow(action, arn, { ...resource, ...(action.endsWith('AddTags') ? requestTags(Object.fromEntries(keys.map((k) => [k, 'v']))) : { 'aws:TagKeys': keys }) });

    it.each([LB, TG, LISTENER])('may add and remove user tags on %s when it is ours', (arn) => {
      expect(tagsOn('elasticloadbalancing:AddTags', arn, ['team', 'cost-center'])).toBe(true);
      expect(tagsOn('elasticloadbalancing:RemoveTags', arn, ['team'])).toBe(true);
      expect(tagsOn('elasticloadbalancing:AddTags', arn, ['team'], foreign)).toBe(false);
      expect(tagsOn('elasticloadbalancing:RemoveTags', arn, ['team'], {} as typeof owned)).toBe(false);
    });

    it.each(['ferry.io/cluster', 'ferry.io/service', 'ferry.io/resource', 'ferry.io/anything-later'])(
      'may neither add nor remove %s, alone or among other keys',
      (key) => {
        for (const action of ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags']) {
          expect(tagsOn(action, LB, [key])).toBe(false);
          expect(tagsOn(action, LB, ['team', key])).toBe(false);
        }
      },
    );

    it('cannot adopt a foreign resource by tagging it with this cluster', () => {
      expect(tagsOn('elasticloadbalancing:AddTags', LB, ['ferry.io/cluster'], {} as typeof owned)).toBe(false);
      expect(tagsOn('elasticloadbalancing:AddTags', LB, ['ferry.io/cluster'], foreign)).toBe(false);
    });

    it('does not match vacuously when the request names no keys', () => {
      expect(allow('elasticloadbalancing:RemoveTags', LB, owned)).toBe(false);
    });
  });

  it('allows nothing ferry does not call', () => {
    for (const action of ['elasticloadbalancing:CreateRule', 'elasticloadbalancing:SetWebAcl', 'ec2:RunInstances', 'ec2:AuthorizeSecurityGroupEgress', 'iam:PassRole']) {
      expect(allow(action, '*', owned)).toBe(false);
    }
    expect(allow('iam:CreateServiceLinkedRole', `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`, { 'iam:AWSServiceName': 'ecs.amazonaws.com' })).toBe(false);
  });

  it('fits three managed policies (6,144 characters each) with the longest cluster name in the longest partition', () => {
    const stack = new Stack(fastApp(), 'Long', { env: { account: ACCOUNT, region: 'ap-southeast-2' } });
    const policies = loadBalancerControllerPolicies(stack, {
      clusterName: 'c'.repeat(63),
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
      internetFacing: false,
    });
    for (const statements of [policies.create, policies.change, policies.network]) {
      const doc = resolvePartition(stack.resolve(new PolicyDocument({ statements }).toJSON()), 'aws-iso-b');
      // IAM counts characters without whitespace.
      expect(JSON.stringify(doc).replace(/\s/g, '').length).toBeLessThan(6144);
    }
  });

  describe('what annotations can pull into a call', () => {
    const placed = (() => {
      const stack = new Stack(fastApp(), 'Placed', { env: { account: ACCOUNT, region: REGION } });
      const doc = new PolicyDocument({
        statements: loadBalancerControllerStatements(stack, { clusterName: CLUSTER, subnetIds: ['subnet-a', 'subnet-b'], internetFacing: false }),
      });
      return resolvePartition(stack.resolve(doc.toJSON())).Statement;
    })();
    const allowPlaced = (action: string, resource: string, context: RequestContext = {}) => isAllowed(placed, { action, resource, context });
    const tagged = requestTags(ownershipTags());

    it('listeners only of NLB protocols, and TLS only with an ELBSecurityPolicy', () => {
      const create = (extra: RequestContext) => allow('elasticloadbalancing:CreateListener', LB, { ...owned, ...tagged, ...extra });
      expect(create({ 'elasticloadbalancing:ListenerProtocol': 'UDP' })).toBe(true);
      expect(create({ 'elasticloadbalancing:ListenerProtocol': 'TLS', 'elasticloadbalancing:SecurityPolicy': 'ELBSecurityPolicy-TLS13-1-2-2021-06' })).toBe(true);
      expect(create({ 'elasticloadbalancing:ListenerProtocol': 'TLS', 'elasticloadbalancing:SecurityPolicy': 'my-custom-policy' })).toBe(false);
      expect(create({ 'elasticloadbalancing:ListenerProtocol': 'HTTP' })).toBe(false);
      const modify = (extra: RequestContext) => allow('elasticloadbalancing:ModifyListener', LISTENER, { ...owned, ...extra });
      expect(modify({})).toBe(true);
      expect(modify({ 'elasticloadbalancing:ListenerProtocol': 'HTTPS' })).toBe(false);
    });

    it('load balancers only in the allowed subnets, and only internal when internet-facing is off', () => {
      const create = (extra: RequestContext) => allowPlaced('elasticloadbalancing:CreateLoadBalancer', LB, { ...tagged, ...extra });
      expect(create({ 'elasticloadbalancing:Scheme': 'internal', 'elasticloadbalancing:Subnet': ['subnet-a', 'subnet-b'] })).toBe(true);
      expect(create({ 'elasticloadbalancing:Scheme': 'internal', 'elasticloadbalancing:Subnet': ['subnet-a', 'subnet-other'] })).toBe(false);
      expect(create({ 'elasticloadbalancing:Scheme': 'internet-facing', 'elasticloadbalancing:Subnet': ['subnet-a'] })).toBe(false);
      const move = (subnets: string[]) => allowPlaced('elasticloadbalancing:SetSubnets', LB, { ...owned, 'elasticloadbalancing:Subnet': subnets });
      expect(move(['subnet-b'])).toBe(true);
      expect(move(['subnet-other'])).toBe(false);
    });
  });

  describe('the one-time adoption grant', () => {
    const NLB = elb('loadbalancer/net/k8s-default-legacy-0123456789/50dc6c495c0c9188');
    const adoption = (() => {
      const stack = new Stack(fastApp(), 'Adopt', { env: { account: ACCOUNT, region: REGION } });
      return resolvePartition(stack.resolve(new PolicyDocument({ statements: [adoptionStatement(stack, { clusterName: CLUSTER, loadBalancerArns: [NLB] })] }).toJSON())).Statement;
    })();
    const adopt = (resource: string, context: RequestContext) => isAllowed(adoption, { action: 'elasticloadbalancing:AddTags', resource, context });
    const tagging = requestTags(ownershipTags());

    it('lets ferry tag the named NLB, its listeners and the target groups, as this cluster\'s only', () => {
      expect(adopt(NLB, tagging)).toBe(true);
      expect(adopt(elb('listener/net/k8s-default-legacy-0123456789/50dc6c495c0c9188/f2f7dc8efc522ab2'), tagging)).toBe(true);
      expect(adopt(TG, tagging)).toBe(true);
      expect(adopt(NLB, requestTags(ownershipTags('staging')))).toBe(false);
    });

    it('reaches no other NLB, and nothing a ferry has already tagged', () => {
      expect(adopt(LB, tagging)).toBe(false);
      expect(adopt(NLB, { ...tagging, ...owned })).toBe(false);
      expect(adopt(NLB, { ...tagging, ...foreign })).toBe(false);
    });
  });
});
