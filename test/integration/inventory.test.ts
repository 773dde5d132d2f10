import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { inventory } from '../../src/aws/inventory';
import { TAG_CLUSTER } from '../../src/model/tags';
import { embeddedTest, startWorld, type World } from '../support/world';

/** More target groups than the ELBv2 read bucket's 40 DescribeTags calls of 20 can cover at once. */
const OURS = 900;
const THEIRS = 60;

/**
 * Without the tagging API (a policy without `tag:GetResources`), the sweep learns ownership
 * from ELBv2 DescribeTags, 20 resources a call, on the read bucket every tool in the account
 * shares. Past that bucket's 40 tokens the sweep is throttled; it must wait its turn and
 * finish, not fail the resync.
 */
describe('the sweep without the tagging API, with AWS throttling on', () => {
  let world: World;
  beforeAll(async () => {
    // One attempt per call: the SDK retries nothing, as when its retry quota is spent.
    world = await startWorld({ nodes: 1, maxAttempts: 1, emulator: { throttling: true } });
    const throttling = world.awsEmulator!.throttling!;
    throttling.suspend();
    const create = (name: string, cluster: string) =>
      world.aws.elbv2.send(
        new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 30000, VpcId: world.seeded.vpcId, Tags: [{ Key: TAG_CLUSTER, Value: cluster }] }),
      );
    for (let i = 0; i < OURS; i++) await create(`ours-${i}`, world.options.clusterName);
    for (let i = 0; i < THEIRS; i++) await create(`theirs-${i}`, 'another-cluster');
    throttling.resume();
  }, 120_000);
  afterAll(() => world.close());

  embeddedTest('DescribeTags is throttled, waits its turn, and finds exactly this cluster\'s target groups', async () => {
    const throttling = world.awsEmulator!.throttling!;
    throttling.reset();
    const byTags = await inventory(world.aws, world.options.clusterName, { ownership: 'describe-tags' });
    const stats = throttling.stats();
    expect(stats.elbv2.byAction['DescribeTags']?.admitted).toBe(Math.ceil((OURS + THEIRS) / 20));
    expect(stats.elbv2.throttled).toBeGreaterThan(0);
    expect(byTags.targetGroups.map((tg) => tg.name).sort()).toEqual(Array.from({ length: OURS }, (_, i) => `ours-${i}`).sort());

    throttling.reset();
    const byTagging = await inventory(world.aws, world.options.clusterName, { ownership: 'tagging' });
    expect(byTagging.targetGroups.map((tg) => tg.arn).sort()).toEqual(byTags.targetGroups.map((tg) => tg.arn).sort());
  }, 60_000);
});
