import { CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { PatchStrategy, setHeaderOptions, type V1ServicePort } from '@kubernetes/client-node';
import { processWork } from '../../src/hosts/worker';
import { decodeMessage, encodeMessage } from '../../src/queue/messages';
import { CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION } from '../../src/model/record';
import { embeddedTest, startWorld, type World } from '../support/world';

/**
 * What a Service author (or a forged message) must not be able to make ferry do in AWS:
 * unbounded work, resources outside ferry's VPC, tags that break AWS's rules or claim
 * resources for another controller, retries that cannot succeed.
 */
describe('hostile Services', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
  }, 30_000);
  afterAll(() => world.close());

  const writes = () => Object.keys(world.aws.calls.byOperation()).filter((op) => !op.startsWith('Describe'));

  async function refusedWithoutWrites(name: string, message: RegExp): Promise<void> {
    world.aws.calls.reset();
    const report = await world.reconcile(name);
    expect(report.outcome).toBe('refused');
    expect(report.message).toMatch(message);
    expect(writes()).toEqual([]);
    const events = await world.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
    expect(events.items.some((e) => e.reason === 'SyncLoadBalancerFailed' && message.test(e.message ?? ''))).toBe(true);
  }

  test('a 1,000-port Service is refused before any AWS call', async () => {
    const ports: V1ServicePort[] = Array.from({ length: 1000 }, (_, i) => ({ name: `p${i}`, port: 2000 + i, protocol: 'TCP' }));
    await world.createService('many-ports', { ports });
    world.aws.calls.reset();
    await refusedWithoutWrites('many-ports', /asks for 1000 listeners; a Network Load Balancer has at most 50/);
    expect(world.aws.calls.total()).toBe(0);
  });

  test.each([
    ['too many tags', Array.from({ length: 48 }, (_, i) => `k${i}=v`).join(','), /at most 47 tags/],
    ['characters AWS refuses in tags', 'team=a#b', /AWS allows only letters, digits, spaces and/],
    ["the AWS Load Balancer Controller's ownership tag", 'elbv2.k8s.aws/cluster=prod', /other controllers use to claim resources/],
    ["the cloud provider's cluster tag", 'kubernetes.io/cluster/prod=owned', /other controllers use to claim resources/],
  ])('ferry.io/additional-tags with %s is refused before any AWS call', async (what, tags, message) => {
    const name = `tags-${what.replace(/[^a-z]+/gi, '-').toLowerCase().replace(/-$/, '')}`.slice(0, 60);
    await world.createService(name, {}, { 'ferry.io/additional-tags': tags });
    await refusedWithoutWrites(name, message);
    expect(world.aws.calls.total()).toBe(0);
  });

  embeddedTest('ferry.io/subnets naming a subnet of another VPC is refused; nothing is created there', async () => {
    const vpc = await world.aws.ec2.send(new CreateVpcCommand({ CidrBlock: '172.31.0.0/16' }));
    const subnet = await world.aws.ec2.send(
      new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '172.31.1.0/24', AvailabilityZone: `${world.region}a` }),
    );
    await world.createService('other-vpc', {}, { 'ferry.io/subnets': subnet.Subnet!.SubnetId! });
    await refusedWithoutWrites('other-vpc', new RegExp(`names ${subnet.Subnet!.SubnetId} \\(in ${vpc.Vpc!.VpcId}\\), outside ${world.seeded.vpcId}.*FERRY_VPC_ID`));
  });

  test('a forged resource record naming thousands of resources costs a bounded number of reads', async () => {
    await world.createService('forged');
    expect((await world.reconcile('forged')).outcome).toBe('ensured');
    const hex = (n: number) => n.toString(16).padStart(10, '0');
    const forged = {
      loadBalancers: Array.from({ length: 3000 }, (_, i) => `k8s-default-forged-${hex(i)}`),
      targetGroups: Array.from({ length: 3000 }, (_, i) => `k8s-default-forged-${hex(i + 5000)}`),
    };
    await world.core.patchNamespacedService(
      { namespace: 'default', name: 'forged', body: { metadata: { annotations: { [RESOURCES_ANNOTATION]: JSON.stringify(forged), [CHECKPOINT_ANNOTATION]: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    world.aws.calls.reset();
    const report = await world.reconcile('forged', true);
    expect(report.outcome).toBe('in-sync');
    // 4 recorded load balancers and 100 target groups at the most, on top of a normal full
    // check (13 reads with the nodes' security groups).
    expect(world.aws.calls.total()).toBeLessThanOrEqual(13 + 4 + 100);
    expect(writes()).toEqual([]);
  });

  test('a message naming a Service no API server can have is dropped, not retried', async () => {
    const name = 'x'.repeat(5000);
    expect(decodeMessage(encodeMessage({ kind: 'service', namespace: 'default', name }))).toBeUndefined();
    const result = await processWork({ kind: 'service', namespace: 'default', name }, 'm1', {
      kube: world.kube,
      reconciler: world.reconciler,
      queue: { send: async () => undefined },
      config: world.options,
    });
    expect(result).toEqual({ kind: 'dropped', reason: expect.stringMatching(/cannot name a Service/) });
  });
});
