import { Template } from 'aws-cdk-lib/assertions';
import { ContextError, createFerryStack, readContext } from '../../infra/app';
import { fastApp } from './synth';

const reader = (ctx: Record<string, unknown>) => (key: string) => ctx[key];

describe('app context', () => {
  it('requires clusterName and says how to pass it', () => {
    expect(() => readContext(reader({}))).toThrow(ContextError);
    expect(() => readContext(reader({}))).toThrow(/cdk deploy -c clusterName=<name>/);
  });

  it('reads -c strings and cdk.json values alike', () => {
    expect(
      readContext(
        reader({
          clusterName: 'prod-eu',
          resyncMinutes: '10',
          reconcileConcurrency: 8,
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: 'subnet-0aaa, subnet-0bbb',
          securityGroupIds: ['sg-0ccc'],
        }),
      ),
    ).toMatchObject({
      clusterName: 'prod-eu',
      resyncMinutes: 10,
      reconcileConcurrency: 8,
      subnetIds: ['subnet-0aaa', 'subnet-0bbb'],
      securityGroupIds: ['sg-0ccc'],
    });
  });

  it.each([
    [{ clusterName: 'c', resyncMinutes: 'often' }, /resyncMinutes="often" is invalid; accepted: a whole number/],
    [{ clusterName: 'c', vpcId: 'vpc-0123456789abcdef0' }, /vpcId needs subnetIds/],
    [{ clusterName: 'c', subnetIds: 'subnet-0aaa' }, /need vpcId/],
  ])('rejects %j', (ctx, message) => {
    expect(() => readContext(reader(ctx))).toThrow(message);
  });
});

describe('app stack', () => {
  it('is named after the cluster and configured from context', () => {
    const app = fastApp({ clusterName: 'prod-eu', resyncMinutes: '10', reconcileConcurrency: '8', discoveryVpcId: 'vpc-0123456789abcdef0' });
    const stack = createFerryStack(app);
    expect(stack.stackName).toBe('ferry-prod-eu');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 8 } });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { FERRY_VPC_ID: 'vpc-0123456789abcdef0', FERRY_CLUSTER_NAME: 'prod-eu' } } });
    t.resourceCountIs('AWS::SecretsManager::Secret', 2); // webhook token + kubeconfig placeholder
  });

  it('uses a given kubeconfig secret and places functions in given subnets, without lookups', () => {
    const app = fastApp({
      clusterName: 'prod-eu',
      kubeconfigSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/kubeconfig-AbC123',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0aaa,subnet-0bbb',
      securityGroupIds: 'sg-0ccc',
    });
    const t = Template.fromStack(createFerryStack(app));
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.resourceCountIs('AWS::Lambda::Function', 3);
    const inVpc = Object.values(t.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.VpcConfig);
    expect(inVpc.map((f) => f.Properties.VpcConfig)).toEqual([
      { SubnetIds: ['subnet-0aaa', 'subnet-0bbb'], SecurityGroupIds: ['sg-0ccc'] },
      { SubnetIds: ['subnet-0aaa', 'subnet-0bbb'], SecurityGroupIds: ['sg-0ccc'] },
    ]);
  });
});
