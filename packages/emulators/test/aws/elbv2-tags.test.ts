import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTagsCommand,
  RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createNetwork, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function tagged(tags: { Key: string; Value: string }[] = []) {
  const { elbv2 } = aws();
  const lb = (await elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]], Tags: tags }))).LoadBalancers![0]!;
  const tg = (await elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: 'TCP', Port: 1, VpcId: net.vpcId, Tags: tags }))).TargetGroups![0]!;
  const listener = (
    await elbv2.send(
      new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Port: 1, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }], Tags: tags }),
    )
  ).Listeners![0]!;
  return { lb: lb.LoadBalancerArn!, tg: tg.TargetGroupArn!, listener: listener.ListenerArn! };
}

describe('ELBv2 tags', () => {
  it('stores the tags given at creation, for load balancers, target groups and listeners', async () => {
    const arns = await tagged([
      { Key: 'ferry.io/cluster', Value: 'dev' },
      { Key: 'ferry.io/service', Value: 'default/web' },
    ]);
    const out = await aws().elbv2.send(new DescribeTagsCommand({ ResourceArns: [arns.lb, arns.tg, arns.listener] }));
    expect(out.TagDescriptions).toEqual(
      [arns.lb, arns.tg, arns.listener].map((ResourceArn) => ({
        ResourceArn,
        Tags: [
          { Key: 'ferry.io/cluster', Value: 'dev' },
          { Key: 'ferry.io/service', Value: 'default/web' },
        ],
      })),
    );
  });

  it('adds (overwriting values) and removes tags', async () => {
    const { lb, tg } = await tagged([{ Key: 'a', Value: '1' }]);
    const { elbv2 } = aws();
    await elbv2.send(new AddTagsCommand({ ResourceArns: [lb, tg], Tags: [{ Key: 'a', Value: '2' }, { Key: 'b', Value: '' }] }));
    await elbv2.send(new RemoveTagsCommand({ ResourceArns: [tg], TagKeys: ['a', 'not-there'] }));
    const out = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [lb, tg] }));
    expect(out.TagDescriptions?.map((d) => d.Tags)).toEqual([
      [
        { Key: 'a', Value: '2' },
        { Key: 'b', Value: '' },
      ],
      [{ Key: 'b', Value: '' }],
    ]);
  });

  it('describes at most 20 resources per call', async () => {
    const { lb } = await tagged();
    const err = await failure(aws().elbv2.send(new DescribeTagsCommand({ ResourceArns: Array.from({ length: 21 }, () => lb) })));
    expect(err.name).toBe('ValidationError');
    expect(err.message).toContain('Member must have length less than or equal to 20');
  });

  it('rejects more than 50 tags per resource, atomically', async () => {
    const { lb, tg } = await tagged(Array.from({ length: 45 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })));
    const { elbv2 } = aws();
    const six = Array.from({ length: 6 }, (_, i) => ({ Key: `new${i}`, Value: 'v' }));
    expect((await failure(elbv2.send(new AddTagsCommand({ ResourceArns: [lb], Tags: six })))).name).toBe('TooManyTagsException');
    const out = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [lb, tg] }));
    expect(out.TagDescriptions?.map((d) => d.Tags?.length)).toEqual([45, 45]);
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect((await failure(elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: 'TCP', Port: 1, VpcId: net.vpcId, Tags: tooMany })))).name).toBe(
      'TooManyTagsException',
    );
  });

  it('rejects a key given twice', async () => {
    const { lb } = await tagged();
    const err = await failure(aws().elbv2.send(new AddTagsCommand({ ResourceArns: [lb], Tags: [{ Key: 'x', Value: '1' }, { Key: 'x', Value: '2' }] })));
    expect(err.name).toBe('DuplicateTagKeysException');
  });

  it('fails with the not-found code of the resource type', async () => {
    const { elbv2 } = aws();
    const tg = (await elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: 'TCP', Port: 1, VpcId: net.vpcId }))).TargetGroups![0]!;
    await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    expect((await failure(elbv2.send(new DescribeTagsCommand({ ResourceArns: [tg.TargetGroupArn!] })))).name).toBe('TargetGroupNotFoundException');
    const ghostLb = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/ghost/0000000000000000';
    expect((await failure(elbv2.send(new AddTagsCommand({ ResourceArns: [ghostLb], Tags: [{ Key: 'k', Value: 'v' }] })))).name).toBe('LoadBalancerNotFoundException');
  });
});
