import {
  AllocateAddressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  GetResourcesCommand,
  GetTagKeysCommand,
  GetTagValuesCommand,
  paginateGetResources,
  ResourceGroupsTaggingAPIClient,
  type GetResourcesCommandInput,
  type ResourceTagMapping,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isThrottlingError } from '@smithy/core/retry';
import { AwsEmulator, ManualClock, type AwsEmulatorOptions } from '../../src/aws';
import { credentials, embeddedOnly, failure, launch, region } from './harness';

/**
 * The Resource Groups Tagging API (GetResources, GetTagKeys, GetTagValues) through the real
 * SDK client over HTTP. GetResources lists a whole account, so every test gets an emulator
 * (an account) of its own, on a manual clock.
 */

/** An account's network with nothing tagged (the harness's names its VPC, which GetResources would list). */
interface Network {
  readonly vpcId: string;
  readonly subnetIds: readonly [string, string, string];
}

async function untaggedNetwork(ec2: EC2Client): Promise<Network> {
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (const [i, zone] of ['a', 'b', 'c'].entries()) {
    subnetIds.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i + 1}.0/24`, AvailabilityZone: `${region}${zone}` }))).Subnet!.SubnetId!);
  }
  return { vpcId, subnetIds: subnetIds as unknown as Network['subnetIds'] };
}

interface World {
  readonly emu: AwsEmulator;
  readonly clock: ManualClock;
  readonly tagging: ResourceGroupsTaggingAPIClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly ec2: EC2Client;
  readonly secrets: SecretsManagerClient;
  readonly net: Network;
}

const CLUSTER = 'ferry.io/cluster';
const SERVICE = 'ferry.io/service';

embeddedOnly('Resource Groups Tagging API', () => {
  let w: World;
  const open: World[] = [];

  async function world(options: AwsEmulatorOptions = {}): Promise<World> {
    const clock = new ManualClock();
    const emu = await AwsEmulator.start({ clock, ...options });
    const config = { endpoint: emu.endpoint, region, credentials, maxAttempts: 1 };
    const ec2 = new EC2Client(config);
    emu.throttling?.suspend();
    const net = await untaggedNetwork(ec2);
    emu.throttling?.resume();
    emu.throttling?.reset();
    emu.clearCalls();
    const created: World = {
      emu,
      clock,
      ec2,
      net,
      tagging: new ResourceGroupsTaggingAPIClient(config),
      elbv2: new ElasticLoadBalancingV2Client(config),
      secrets: new SecretsManagerClient(config),
    };
    open.push(created);
    return created;
  }

  afterEach(async () => {
    for (const x of open.splice(0)) {
      x.tagging.destroy();
      x.elbv2.destroy();
      x.ec2.destroy();
      x.secrets.destroy();
      await x.emu.close();
    }
  });

  const tags = (record: Record<string, string>): { Key: string; Value: string }[] => Object.entries(record).map(([Key, Value]) => ({ Key, Value }));

  async function loadBalancer(name: string, tagged: Record<string, string> = {}): Promise<string> {
    const out = await w.elbv2.send(new CreateLoadBalancerCommand({ Name: name, Type: 'network', Subnets: [w.net.subnetIds[0]], Tags: tags(tagged) }));
    return out.LoadBalancers![0]!.LoadBalancerArn!;
  }

  async function targetGroup(name: string, tagged: Record<string, string> = {}): Promise<string> {
    const out = await w.elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 80, VpcId: w.net.vpcId, Tags: tags(tagged) }));
    return out.TargetGroups![0]!.TargetGroupArn!;
  }

  async function listener(lb: string, tg: string, port: number, tagged: Record<string, string> = {}): Promise<string> {
    const out = await w.elbv2.send(
      new CreateListenerCommand({ LoadBalancerArn: lb, Port: port, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }], Tags: tags(tagged) }),
    );
    return out.Listeners![0]!.ListenerArn!;
  }

  async function securityGroup(name: string, tagged: Record<string, string> = {}): Promise<string> {
    const out = await w.ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: w.net.vpcId,
        GroupName: name,
        Description: name,
        ...(Object.keys(tagged).length > 0 ? { TagSpecifications: [{ ResourceType: 'security-group', Tags: tags(tagged) }] } : {}),
      }),
    );
    return out.GroupId!;
  }

  const sgArn = (id: string): string => `arn:aws:ec2:${region}:${w.emu.accountId}:security-group/${id}`;

  /** Every page of a query, through the SDK's own paginator. */
  async function all(input: GetResourcesCommandInput = {}): Promise<{ pages: ResourceTagMapping[][]; tokens: (string | undefined)[] }> {
    const pages: ResourceTagMapping[][] = [];
    const tokens: (string | undefined)[] = [];
    for await (const page of paginateGetResources({ client: w.tagging }, { ...input })) {
      pages.push(page.ResourceTagMappingList ?? []);
      tokens.push(page.PaginationToken);
    }
    return { pages, tokens };
  }

  async function arns(input: GetResourcesCommandInput = {}): Promise<string[]> {
    return (await all(input)).pages.flat().map((m) => m.ResourceARN!);
  }

  describe('GetResources filters', () => {
    it("finds a cluster's load balancers, target groups and listeners by its tag, with all their tags", async () => {
      w = await world();
      const lb = await loadBalancer('web', { [CLUSTER]: 'dev', [SERVICE]: 'default/web' });
      const tg = await targetGroup('web-80', { [CLUSTER]: 'dev', [SERVICE]: 'default/web' });
      const l = await listener(lb, tg, 80, { [CLUSTER]: 'dev' });
      const otherLb = await loadBalancer('other', { [CLUSTER]: 'prod' });
      await targetGroup('untagged');

      const out = await w.tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: CLUSTER, Values: ['dev'] }] }));
      expect(out.ResourceTagMappingList).toEqual([
        { ResourceARN: lb, Tags: tags({ [CLUSTER]: 'dev', [SERVICE]: 'default/web' }) },
        { ResourceARN: tg, Tags: tags({ [CLUSTER]: 'dev', [SERVICE]: 'default/web' }) },
        { ResourceARN: l, Tags: tags({ [CLUSTER]: 'dev' }) },
      ]);
      expect(out.PaginationToken).toBe('');

      // The resource type is the ARN's: `loadbalancer` (its ARN says loadbalancer/net/…), `targetgroup`, `listener`.
      expect(lb).toMatch(/:loadbalancer\/net\//);
      const only = async (...types: string[]) => arns({ TagFilters: [{ Key: CLUSTER, Values: ['dev'] }], ResourceTypeFilters: types });
      expect(await only('elasticloadbalancing:loadbalancer')).toEqual([lb]);
      expect(await only('elasticloadbalancing:targetgroup')).toEqual([tg]);
      expect(await only('elasticloadbalancing:listener')).toEqual([l]);
      expect(await only('elasticloadbalancing:loadbalancer', 'elasticloadbalancing:targetgroup')).toEqual([lb, tg]);
      expect(await only('elasticloadbalancing')).toEqual([lb, tg, l]);
      expect(await only('ec2')).toEqual([]);
      expect(await arns({ TagFilters: [{ Key: CLUSTER }], ResourceTypeFilters: ['elasticloadbalancing:loadbalancer'] })).toEqual([lb, otherLb]);
    });

    it('ANDs the filters, ORs the values of one filter, and matches a key alone whatever its value', async () => {
      w = await world();
      const a = await targetGroup('a', { env: 'dev', team: 'x' });
      const b = await targetGroup('b', { env: 'prod', team: 'x' });
      const c = await targetGroup('c', { env: 'test' });
      const d = await targetGroup('d', { team: '' });

      expect(await arns({ TagFilters: [{ Key: 'env', Values: ['dev', 'prod'] }] })).toEqual([a, b]);
      expect(await arns({ TagFilters: [{ Key: 'env' }] })).toEqual([a, b, c]);
      expect(await arns({ TagFilters: [{ Key: 'env', Values: [] }] })).toEqual([a, b, c]);
      expect(await arns({ TagFilters: [{ Key: 'team' }] })).toEqual([a, b, d]);
      expect(await arns({ TagFilters: [{ Key: 'team', Values: [''] }] })).toEqual([d]);
      expect(await arns({ TagFilters: [{ Key: 'env', Values: ['dev', 'test'] }, { Key: 'team' }] })).toEqual([a]);
      expect(await arns({ TagFilters: [{ Key: 'env', Values: ['DEV'] }] })).toEqual([]);
      expect(await arns({ TagFilters: [{ Key: 'nope' }] })).toEqual([]);
    });

    it('covers EC2 security groups, instances, subnets, VPCs and Elastic IPs, and secrets, by service or type', async () => {
      w = await world();
      const tagged = { [CLUSTER]: 'dev' };
      const sg = await securityGroup('front', tagged);
      const node = await launch(w.ec2, w.net.subnetIds[0], 'node');
      await w.ec2.send(new CreateTagsCommand({ Resources: [node.id, w.net.vpcId, w.net.subnetIds[1]], Tags: tags(tagged) }));
      const eip = await w.ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: tags(tagged) }] }));
      const secret = await w.secrets.send(new CreateSecretCommand({ Name: 'kubeconfig', SecretString: 'x', Tags: tags(tagged) }));
      const lb = await loadBalancer('lb', tagged);
      const account = w.emu.accountId;
      const ec2 = (type: string, id: string) => `arn:aws:ec2:${region}:${account}:${type}/${id}`;
      const filter = { TagFilters: [{ Key: CLUSTER, Values: ['dev'] }] };

      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2:security-group'] })).toEqual([sgArn(sg)]);
      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2:instance'] })).toEqual([ec2('instance', node.id)]);
      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2:subnet', 'ec2:vpc'] })).toEqual([ec2('vpc', w.net.vpcId), ec2('subnet', w.net.subnetIds[1])]);
      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2:elastic-ip'] })).toEqual([ec2('elastic-ip', eip.AllocationId!)]);
      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2'] })).toHaveLength(5);
      expect(await arns({ ...filter, ResourceTypeFilters: ['secretsmanager:secret'] })).toEqual([secret.ARN]);
      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2:security-group', 'elasticloadbalancing:loadbalancer'] })).toEqual([sgArn(sg), lb]);
      // Types AWS knows but the emulator has none of match nothing; services it does not model neither.
      expect(await arns({ ...filter, ResourceTypeFilters: ['ec2:volume', 's3', 'rds:db'] })).toEqual([]);
      // No filter at all: everything tagged, in creation order.
      expect(await arns()).toEqual([ec2('vpc', w.net.vpcId), ec2('subnet', w.net.subnetIds[1]), sgArn(sg), ec2('instance', node.id), ec2('elastic-ip', eip.AllocationId!), secret.ARN, lb]);
    });

    it('lists resources that were once tagged with no tags when unfiltered, and never lists never-tagged ones', async () => {
      w = await world();
      const once = await targetGroup('once', { a: '1' });
      const never = await targetGroup('never');
      await w.elbv2.send(new RemoveTagsCommand({ ResourceArns: [once], TagKeys: ['a'] }));
      const sg = await securityGroup('sg', { b: '2' });
      await w.ec2.send(new DeleteTagsCommand({ Resources: [sg] }));

      const out = await w.tagging.send(new GetResourcesCommand({}));
      expect(out.ResourceTagMappingList).toEqual([
        { ResourceARN: once, Tags: [] },
        { ResourceARN: sgArn(sg), Tags: [] },
      ]);
      expect(await arns({ ResourceTypeFilters: ['elasticloadbalancing:targetgroup'] })).toEqual([once]);
      expect(await arns({ TagFilters: [{ Key: 'a' }] })).toEqual([]);
      expect(await arns({ ResourceARNList: [once, never] })).toEqual([once]);
    });
  });

  describe('the shared world', () => {
    it('sees ELBv2 AddTags/RemoveTags and EC2 CreateTags/DeleteTags at once', async () => {
      w = await world();
      const tg = await targetGroup('tg');
      const sg = await securityGroup('sg');
      const dev = { TagFilters: [{ Key: CLUSTER, Values: ['dev'] }] };
      expect(await arns(dev)).toEqual([]);

      await w.elbv2.send(new AddTagsCommand({ ResourceArns: [tg], Tags: tags({ [CLUSTER]: 'dev' }) }));
      await w.ec2.send(new CreateTagsCommand({ Resources: [sg], Tags: tags({ [CLUSTER]: 'dev', Name: 'front' }) }));
      expect((await all(dev)).pages.flat()).toEqual([
        { ResourceARN: tg, Tags: tags({ [CLUSTER]: 'dev' }) },
        { ResourceARN: sgArn(sg), Tags: tags({ [CLUSTER]: 'dev', Name: 'front' }) },
      ]);

      await w.elbv2.send(new AddTagsCommand({ ResourceArns: [tg], Tags: tags({ [CLUSTER]: 'prod' }) }));
      await w.ec2.send(new DeleteTagsCommand({ Resources: [sg], Tags: [{ Key: 'Name' }] }));
      expect((await all(dev)).pages.flat()).toEqual([{ ResourceARN: sgArn(sg), Tags: tags({ [CLUSTER]: 'dev' }) }]);
      await w.ec2.send(new DeleteTagsCommand({ Resources: [sg], Tags: [{ Key: CLUSTER, Value: 'dev' }] }));
      expect(await arns(dev)).toEqual([]);
    });

    it('forgets deleted load balancers (with their listeners), target groups, security groups and terminated instances at once', async () => {
      w = await world();
      const tagged = { [CLUSTER]: 'dev' };
      const lb = await loadBalancer('lb', tagged);
      const tg = await targetGroup('tg', tagged);
      await listener(lb, tg, 443, tagged);
      const sg = await securityGroup('sg', tagged);
      const node = await launch(w.ec2, w.net.subnetIds[0], 'node');
      await w.ec2.send(new CreateTagsCommand({ Resources: [node.id], Tags: tags(tagged) }));
      expect(await arns({ TagFilters: [{ Key: CLUSTER }] })).toHaveLength(5);

      await w.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb }));
      await w.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
      await w.ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg }));
      await w.ec2.send(new TerminateInstancesCommand({ InstanceIds: [node.id] }));
      expect(await arns({ TagFilters: [{ Key: CLUSTER }] })).toEqual([]);
      expect(await arns()).toEqual([]);
    });
  });

  describe('pagination', () => {
    it('pages more than 100 resources 100 at a time by default, and the SDK paginator stops on the last ""', async () => {
      w = await world();
      const created: string[] = [];
      for (let i = 0; i < 230; i++) created.push(await targetGroup(`tg-${i}`, { [CLUSTER]: 'dev', [SERVICE]: `ns/svc-${i}` }));
      await targetGroup('other', { [CLUSTER]: 'prod' });

      const { pages, tokens } = await all({ TagFilters: [{ Key: CLUSTER, Values: ['dev'] }] });
      expect(pages.map((p) => p.length)).toEqual([100, 100, 30]);
      expect(pages.flat().map((m) => m.ResourceARN)).toEqual(created);
      expect(tokens[0]).toEqual(expect.any(String));
      expect(tokens[0]).not.toBe('');
      expect(tokens.at(-1)).toBe('');
      expect(w.emu.countCalls({ service: 'tagging' })).toEqual({ GetResources: 3 });

      expect((await all({ TagFilters: [{ Key: CLUSTER, Values: ['dev'] }], ResourcesPerPage: 7 })).pages.map((p) => p.length)).toEqual([...Array(32).fill(7), 6]);
    }, 30_000);

    it('keeps a resource and its tags on one page within TagsPerPage, counting an untagged resource as one tag', async () => {
      w = await world();
      const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v']));
      for (let i = 0; i < 22; i++) await targetGroup(`tg-${i}`, ten);
      // The API reference's example: TagsPerPage 100, 22 resources with 10 tags each: 10, 10, 2.
      expect((await all({ TagsPerPage: 100 })).pages.map((p) => p.length)).toEqual([10, 10, 2]);
      expect((await all({ TagsPerPage: 100, ResourcesPerPage: 4 })).pages.map((p) => p.length)).toEqual([4, 4, 4, 4, 4, 2]);
    });

    it('neither skips nor repeats survivors when resources are deleted between pages', async () => {
      w = await world();
      const created: string[] = [];
      for (let i = 0; i < 6; i++) created.push(await targetGroup(`tg-${i}`, { a: 'b' }));
      const first = await w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 2 }));
      expect(first.ResourceTagMappingList!.map((m) => m.ResourceARN)).toEqual(created.slice(0, 2));
      await w.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: created[1] }));
      await w.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: created[2] }));
      const second = await w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 2, PaginationToken: first.PaginationToken }));
      expect(second.ResourceTagMappingList!.map((m) => m.ResourceARN)).toEqual(created.slice(3, 5));
    });

    it('refuses a token it did not issue, and one older than 15 minutes', async () => {
      w = await world();
      for (let i = 0; i < 3; i++) await targetGroup(`tg-${i}`, { a: 'b' });
      const bad = await failure(w.tagging.send(new GetResourcesCommand({ PaginationToken: 'not-a-token' })));
      expect(bad).toMatchObject({ name: 'InvalidParameterException', status: 400 });
      expect(bad.message).toContain("PaginationToken 'not-a-token'");

      const first = await w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 1 }));
      w.clock.advance(15 * 60_000);
      // Still valid at 15 minutes, and may be used again.
      expect((await w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 1, PaginationToken: first.PaginationToken }))).ResourceTagMappingList).toHaveLength(1);
      w.clock.advance(1);
      const expired = await failure(w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 1, PaginationToken: first.PaginationToken })));
      expect(expired).toMatchObject({ name: 'PaginationTokenExpiredException', status: 400 });
      expect(expired.message).toContain('15 minutes');
    });
  });

  describe('ResourceARNList', () => {
    it('returns the tags of the listed resources that exist, leaving out the others', async () => {
      w = await world();
      const a = await targetGroup('a', { x: '1' });
      const b = await targetGroup('b', { y: '2' });
      await targetGroup('c', { z: '3' });
      const gone = await targetGroup('gone', { x: '1' });
      await w.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: gone }));
      const sg = await securityGroup('sg', { s: 'g' });
      const missing = `arn:aws:elasticloadbalancing:${region}:${w.emu.accountId}:loadbalancer/net/nope/0123456789abcdef`;

      const out = await w.tagging.send(new GetResourcesCommand({ ResourceARNList: [b, missing, gone, sgArn(sg), a] }));
      expect(out.ResourceTagMappingList).toEqual([
        { ResourceARN: a, Tags: tags({ x: '1' }) },
        { ResourceARN: b, Tags: tags({ y: '2' }) },
        { ResourceARN: sgArn(sg), Tags: tags({ s: 'g' }) },
      ]);
      expect(out.PaginationToken).toBe('');
    });

    it('excludes filters and paging, and takes 1 to 100 well-formed ARNs', async () => {
      w = await world();
      const a = await targetGroup('a', { x: '1' });
      const cases: [GetResourcesCommandInput, string][] = [
        [{ ResourceARNList: [a], TagFilters: [{ Key: 'x' }] }, 'TagFilters'],
        [{ ResourceARNList: [a], ResourceTypeFilters: ['elasticloadbalancing'] }, 'ResourceTypeFilters'],
        [{ ResourceARNList: [a], ResourcesPerPage: 10 }, 'ResourcesPerPage'],
        [{ ResourceARNList: [a], TagsPerPage: 100 }, 'TagsPerPage'],
        [{ ResourceARNList: [a], PaginationToken: 'abc' }, 'PaginationToken'],
        [{ ResourceARNList: [] }, 'ResourceARNList'],
        [{ ResourceARNList: Array.from({ length: 101 }, () => a) }, 'ResourceARNList must contain 1 to 100 ARNs; the request has 101'],
        [{ ResourceARNList: [a, 'sg-0123'] }, "ResourceARNList.2 is not a valid ARN: 'sg-0123'"],
      ];
      for (const [input, named] of cases) {
        const err = await failure(w.tagging.send(new GetResourcesCommand(input)));
        expect(err).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(err.message).toContain(named);
      }
      expect(await arns({ ResourceARNList: Array.from({ length: 100 }, () => a) })).toEqual([a]);
    });
  });

  describe('validation', () => {
    it('answers InvalidParameterException naming the parameter and its value', async () => {
      w = await world();
      const cases: [GetResourcesCommandInput, string][] = [
        [{ ResourcesPerPage: 0 }, 'ResourcesPerPage must be between 1 and 100; got 0'],
        [{ ResourcesPerPage: 101 }, 'ResourcesPerPage must be between 1 and 100; got 101'],
        [{ TagsPerPage: 99 }, 'TagsPerPage must be between 100 and 500; got 99'],
        [{ TagsPerPage: 501 }, 'TagsPerPage must be between 100 and 500; got 501'],
        [{ TagFilters: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}` })) }, 'at most 50 filters; the request has 51'],
        [{ TagFilters: [{ Key: 'a' }, { Key: 'b', Values: Array.from({ length: 21 }, (_, i) => `v${i}`) }] }, "TagFilters.2.Values can include at most 20 values for key 'b'; the request has 21"],
        [{ TagFilters: [{ Key: '' }] }, "TagFilters.1.Key must be 1 to 128 characters long; got ''"],
        [{ TagFilters: [{ Values: ['x'] }] }, 'TagFilters.1.Key must be 1 to 128 characters long; got none'],
        [{ ResourceTypeFilters: ['elasticloadbalancing:nope'] }, "unsupported resource type: 'elasticloadbalancing:nope'"],
        [{ ResourceTypeFilters: ['ec2', 'ec3'] }, "unsupported resource type: 'ec3'"],
        [{ ResourceTypeFilters: ['ec2:'] }, "unsupported resource type: 'ec2:'"],
        [{ ExcludeCompliantResources: true }, 'ExcludeCompliantResources can be true only when IncludeComplianceDetails is true'],
      ];
      for (const [input, message] of cases) {
        const err = await failure(w.tagging.send(new GetResourcesCommand(input)));
        expect({ ...err, input }).toMatchObject({ name: 'InvalidParameterException', status: 400, input });
        expect(err.message).toContain(message);
      }
      // The edges are accepted, and the compliance members change nothing.
      await w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 1, TagsPerPage: 500, IncludeComplianceDetails: true, ExcludeCompliantResources: true }));
      await w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 100, TagsPerPage: 100, TagFilters: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Values: Array.from({ length: 20 }, (_, j) => `v${j}`) })) }));
    });
  });

  describe('GetTagKeys and GetTagValues', () => {
    it("list the keys in use, and one key's values", async () => {
      w = await world();
      await targetGroup('a', { [CLUSTER]: 'dev', [SERVICE]: 'ns/a' });
      await targetGroup('b', { [CLUSTER]: 'prod' });
      const sg = await securityGroup('sg', { [CLUSTER]: 'dev', Name: 'x' });
      await w.ec2.send(new DeleteTagsCommand({ Resources: [sg], Tags: [{ Key: 'Name' }] }));
      const keys = await w.tagging.send(new GetTagKeysCommand({}));
      expect(keys).toMatchObject({ TagKeys: [CLUSTER, SERVICE], PaginationToken: '' });
      const values = await w.tagging.send(new GetTagValuesCommand({ Key: CLUSTER }));
      expect(values).toMatchObject({ TagValues: ['dev', 'prod'], PaginationToken: '' });
      expect((await w.tagging.send(new GetTagValuesCommand({ Key: 'Name' }))).TagValues).toEqual([]);
      expect(await failure(w.tagging.send(new GetTagValuesCommand({ Key: '' })))).toMatchObject({ name: 'InvalidParameterException' });
    });
  });

  describe('calls, faults and throttling', () => {
    it('records its calls as the `tagging` service, and fault injection answers ThrottledException', async () => {
      w = await world();
      await w.tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: CLUSTER, Values: ['dev'] }] }));
      expect(w.emu.calls.at(-1)).toMatchObject({ service: 'tagging', action: 'GetResources', mutating: false, status: 200, params: { 'TagFilters.1.Key': CLUSTER, 'TagFilters.1.Values.1': 'dev' } });
      w.emu.faults.throttle(1, { actions: ['GetResources'] });
      const err = await failure(w.tagging.send(new GetResourcesCommand({})));
      expect(err).toEqual({ name: 'ThrottledException', message: 'Rate exceeded', status: 400 });
      await w.tagging.send(new GetTagKeysCommand({}));
      expect(w.emu.countCalls({ service: 'tagging', includeFailed: true })).toEqual({ GetResources: 2, GetTagKeys: 1 });
    });

    it('spends a GetResources bucket of its own (15, refilling 15 per second), apart from ELBv2 and EC2', async () => {
      w = await world({ throttling: true });
      const send = () => w.tagging.send(new GetResourcesCommand({}));
      const burst = async (n: number, call: () => Promise<unknown>) => {
        let ok = 0;
        let throttled = 0;
        for (let i = 0; i < n; i++) {
          try {
            await call();
            ok++;
          } catch (error) {
            if (!isThrottlingError(error as Parameters<typeof isThrottlingError>[0])) throw error;
            throttled++;
          }
        }
        return { ok, throttled };
      };
      expect(await burst(16, send)).toEqual({ ok: 15, throttled: 1 });
      expect(await failure(send())).toEqual({ name: 'ThrottledException', message: 'Rate exceeded', status: 400 });
      // ELBv2's and EC2's buckets are untouched.
      expect(await burst(40, () => w.elbv2.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 40, throttled: 0 });
      w.clock.advance(1000);
      expect(await burst(16, send)).toEqual({ ok: 15, throttled: 1 });
      w.clock.advance(200);
      expect(await burst(4, send)).toEqual({ ok: 3, throttled: 1 });
      w.clock.advance(60_000);
      expect(await burst(16, send)).toEqual({ ok: 15, throttled: 1 });
      // GetTagKeys and GetTagValues share a smaller one: 5 per second.
      let n = 0;
      const keysOrValues = () => (n++ % 2 ? w.tagging.send(new GetTagKeysCommand({})) : w.tagging.send(new GetTagValuesCommand({ Key: 'a' })));
      expect(await burst(6, keysOrValues)).toEqual({ ok: 5, throttled: 1 });

      const stats = w.emu.throttling!.stats();
      expect(stats.tagging.byAction['GetResources']).toEqual({ admitted: 48, throttled: 5 });
      expect(stats.tagging).toMatchObject({ admitted: 53, throttled: 6 });
      expect(stats.elbv2).toMatchObject({ admitted: 40, throttled: 0 });
      expect(stats).toMatchObject({ admitted: 93, throttled: 6 });
      expect(stats.buckets.filter((b) => b.service === 'tagging')).toEqual([
        { service: 'tagging', name: 'get-resources', category: 'get-resources', capacity: 15, refillPerSecond: 15, tokens: 0, admitted: 48, throttled: 5 },
        { service: 'tagging', name: 'tag-operations', category: 'tag-operations', capacity: 5, refillPerSecond: 5, tokens: 0, admitted: 5, throttled: 1 },
      ]);
      expect(w.emu.calls.filter((c) => c.errorCode === 'ThrottledException')).toHaveLength(6);

      w.emu.throttling!.reset();
      expect(w.emu.throttling!.stats().tagging).toEqual({ admitted: 0, throttled: 0, byAction: {} });
      expect(await burst(15, send)).toEqual({ ok: 15, throttled: 0 });
    }, 20_000);

    it('runs the bucket `scale` times faster, and the SDK retries ThrottledException', async () => {
      w = await world({ throttling: { scale: 10 } });
      for (let i = 0; i < 15; i++) await w.tagging.send(new GetResourcesCommand({}));
      expect((await failure(w.tagging.send(new GetResourcesCommand({})))).name).toBe('ThrottledException');
      // 0.1 s of the clock is a second of AWS time: 15 tokens.
      w.clock.advance(100);
      for (let i = 0; i < 15; i++) await w.tagging.send(new GetResourcesCommand({}));
      const patient = new ResourceGroupsTaggingAPIClient({ endpoint: w.emu.endpoint, region, credentials, maxAttempts: 3 });
      patient.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            // The backoff's wait, on the buckets' clock.
            w.clock.advance(100);
            throw error;
          }
        },
        { step: 'deserialize', priority: 'high', name: 'advanceOnThrottle' },
      );
      const out = await patient.send(new GetResourcesCommand({}));
      expect(out.$metadata.attempts).toBe(2);
      patient.destroy();
    }, 10_000);
  });

  describe("moto fidelity (fidelity: 'moto')", () => {
    it('pages 50 at a time and before 100 tags, with single-use UUID tokens and no token on the last page', async () => {
      w = await world({ fidelity: 'moto' });
      const created: string[] = [];
      for (let i = 0; i < 40; i++) created.push(await targetGroup(`tg-${i}`, { [CLUSTER]: 'dev', [SERVICE]: `ns/s${i}`, 'ferry.io/resource': 'x' }));
      for (let i = 0; i < 60; i++) created.push(await targetGroup(`one-${i}`, { [CLUSTER]: 'dev' }));

      const { pages, tokens } = await all({ TagFilters: [{ Key: CLUSTER, Values: ['dev'] }] });
      // Three tags each: 33 fit under 100 tags; the continued page's first resource is not counted.
      expect(pages.map((p) => p.length)).toEqual([33, 50, 17]);
      expect(pages.flat().map((m) => m.ResourceARN)).toEqual(created);
      expect(tokens.slice(0, -1)).toEqual([expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), expect.any(String)]);
      expect(tokens.at(-1)).toBeUndefined();

      // A token continues its own query, and works once.
      const first = await w.tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: CLUSTER }], ResourcesPerPage: 10 }));
      const second = await w.tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: 'nothing' }], ResourcesPerPage: 10, PaginationToken: first.PaginationToken }));
      expect(second.ResourceTagMappingList!.map((m) => m.ResourceARN)).toEqual(created.slice(10, 20));
      const again = await failure(w.tagging.send(new GetResourcesCommand({ ResourcesPerPage: 10, PaginationToken: first.PaginationToken })));
      expect(again).toEqual({ name: 'PaginationTokenExpiredException', message: 'Token does not exist', status: 400 });
    }, 20_000);

    it('does not list resources whose tags were all removed, and pages an ARN list too', async () => {
      w = await world({ fidelity: 'moto' });
      const once = await targetGroup('once', { a: '1' });
      await w.elbv2.send(new RemoveTagsCommand({ ResourceArns: [once], TagKeys: ['a'] }));
      expect(await arns()).toEqual([]);

      const created: string[] = [];
      for (let i = 0; i < 60; i++) created.push(await targetGroup(`tg-${i}`, { a: 'b' }));
      const { pages } = await all({ ResourceARNList: created });
      expect(pages.map((p) => p.length)).toEqual([50, 10]);
      // AWS's validation still applies.
      expect((await failure(w.tagging.send(new GetResourcesCommand({ ResourceTypeFilters: ['elasticloadbalancing:nope'] })))).name).toBe('InvalidParameterException');
    }, 20_000);
  });
});
