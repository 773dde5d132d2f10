import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { isThrottlingError } from '@smithy/core/retry';
import type { DeserializeMiddleware } from '@smithy/types';
import { AwsEmulator, ManualClock, type BucketStats } from '../../src/aws';
import { createNetwork, credentials, embeddedOnly, failure, launch, region } from './harness';

/**
 * AWS's request throttling (README "Request throttling"). Every bucket runs on a manual
 * clock, so refills are exact and nothing waits for real time except the SDK's own backoff.
 */
embeddedOnly('request throttling', () => {
  let emu: AwsEmulator;
  let clock: ManualClock;
  const clients: { destroy(): void }[] = [];

  async function start(options: Parameters<typeof AwsEmulator.start>[0] = { throttling: true }): Promise<void> {
    clock = new ManualClock();
    emu = await AwsEmulator.start({ clock, ...options });
  }

  function elbv2(options: { maxAttempts?: number; region?: string } = {}): ElasticLoadBalancingV2Client {
    const client = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region: options.region ?? region, credentials, maxAttempts: options.maxAttempts ?? 1 });
    clients.push(client);
    return client;
  }

  function ec2(options: { maxAttempts?: number } = {}): EC2Client {
    const client = new EC2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts: options.maxAttempts ?? 1 });
    clients.push(client);
    return client;
  }

  const throttled = (error: unknown): boolean => isThrottlingError(error as Parameters<typeof isThrottlingError>[0]);

  function bucket(service: 'ec2' | 'elbv2', name: string): BucketStats {
    const found = emu.throttling!.stats().buckets.find((b) => b.service === service && b.name === name);
    if (!found) throw new Error(`no ${service} bucket ${name}`);
    return found;
  }

  /**
   * Sends `n` calls, one after another but at one instant of the buckets' (manual) clock;
   * how many succeeded and how many were throttled (any other failure fails the test).
   */
  async function burst(n: number, send: (i: number) => Promise<unknown>): Promise<{ ok: number; throttled: number }> {
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < n; i++) {
      try {
        await send(i);
        ok++;
      } catch (error) {
        if (!throttled(error)) throw error;
        refused++;
      }
    }
    return { ok, throttled: refused };
  }

  /** A target group with one registered-to-be instance, built with throttling suspended, then a fresh account. */
  async function targetGroupWorld(): Promise<{ targetGroupArn: string; instanceId: string; subnetIds: readonly string[] }> {
    emu.throttling!.suspend();
    const compute = ec2();
    const network = await createNetwork(compute, 'throttle');
    const instance = await launch(compute, network.subnetIds[0], 'node');
    const group = await elbv2().send(new CreateTargetGroupCommand({ Name: 'tg', Protocol: 'TCP', Port: 80, VpcId: network.vpcId, TargetType: 'instance' }));
    emu.throttling!.resume();
    emu.throttling!.reset();
    return { targetGroupArn: group.TargetGroups![0]!.TargetGroupArn!, instanceId: instance.id, subnetIds: network.subnetIds };
  }

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy());
    await emu.close();
  });

  describe('ELBv2', () => {
    it('admits a burst of 40 reads from any client, throttles the 41st as AWS does, and refills 10 per second', async () => {
      await start();
      // Two clients with different signing Regions: one emulator is one account, one set of buckets.
      const [a, b] = [elbv2(), elbv2({ region: 'eu-west-1' })];
      expect(await burst(40, (i) => (i % 2 ? a : b).send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 40, throttled: 0 });
      expect(await failure(a.send(new DescribeTargetGroupsCommand({})))).toEqual({ name: 'Throttling', message: 'Rate exceeded', status: 400 });

      clock.advance(1000);
      expect(await burst(11, () => b.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 10, throttled: 1 });
      clock.advance(100);
      expect(await burst(2, () => a.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 1, throttled: 1 });
      // A bucket holds at most its capacity, however long it rests.
      clock.advance(600_000);
      expect(await burst(41, () => a.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 40, throttled: 1 });

      expect(bucket('elbv2', 'non-mutating')).toMatchObject({ capacity: 40, refillPerSecond: 10, tokens: 0, admitted: 91, throttled: 4 });
      const stats = emu.throttling!.stats();
      expect(stats.elbv2.byAction).toEqual({ DescribeLoadBalancers: { admitted: 91, throttled: 3 }, DescribeTargetGroups: { admitted: 0, throttled: 1 } });
      expect(stats).toMatchObject({ admitted: 91, throttled: 4 });
      // The recorded calls say the same: a throttled call is a call AWS answered with an error.
      expect(emu.calls.filter((c) => c.errorCode === 'Throttling')).toHaveLength(4);
    });

    it('throttles registrations and other writes in their own buckets, but every ELBv2 call shares the account bucket', async () => {
      await start();
      const { targetGroupArn, instanceId } = await targetGroupWorld();
      const lb = elbv2();
      const register = () => lb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: instanceId, Port: 80 }] }));
      const tag = () => lb.send(new AddTagsCommand({ ResourceArns: [targetGroupArn], Tags: [{ Key: 'owner', Value: 'ferry' }] }));

      // Registration: 20, then refused while the mutating and read buckets still have tokens.
      expect(await burst(21, register)).toEqual({ ok: 20, throttled: 1 });
      expect(await burst(1, tag)).toEqual({ ok: 1, throttled: 0 });
      expect(await burst(1, () => lb.send(new DescribeTargetGroupsCommand({})))).toEqual({ ok: 1, throttled: 0 });
      expect(bucket('elbv2', 'registration')).toMatchObject({ capacity: 20, refillPerSecond: 4, admitted: 20, throttled: 1 });

      // Mutating: 20, refilling 3 per second.
      clock.advance(10_000);
      emu.throttling!.reset();
      expect(await burst(21, tag)).toEqual({ ok: 20, throttled: 1 });
      expect(await burst(1, register)).toEqual({ ok: 1, throttled: 0 });
      clock.advance(1000);
      expect(await burst(4, tag)).toEqual({ ok: 3, throttled: 1 });
      expect(bucket('elbv2', 'mutating')).toMatchObject({ capacity: 20, refillPerSecond: 3, admitted: 23, throttled: 2 });

      // The account bucket (40, 10/s) is drawn on by every action: 40 reads leave no room for a write.
      emu.throttling!.reset();
      expect(await burst(40, () => lb.send(new DescribeTargetGroupsCommand({})))).toEqual({ ok: 40, throttled: 0 });
      expect(await failure(register())).toMatchObject({ name: 'Throttling', status: 400 });
      expect(await failure(tag())).toMatchObject({ name: 'Throttling', status: 400 });
      expect(bucket('elbv2', 'account')).toMatchObject({ capacity: 40, refillPerSecond: 10, tokens: 0, throttled: 2 });
      // A refused call takes nothing from the category buckets that had room.
      expect(bucket('elbv2', 'registration')).toMatchObject({ tokens: 20, admitted: 0, throttled: 0 });
      expect(bucket('elbv2', 'mutating')).toMatchObject({ tokens: 20, admitted: 0, throttled: 0 });
    });

    it('allows 10 load balancers at once, then one every 5 seconds', async () => {
      await start();
      const { subnetIds } = await targetGroupWorld();
      const lb = elbv2();
      const create = (i: number) => lb.send(new CreateLoadBalancerCommand({ Name: `nlb-${i}`, Type: 'network', Scheme: 'internal', Subnets: [subnetIds[0]!] }));
      expect(await burst(11, create)).toEqual({ ok: 10, throttled: 1 });
      clock.advance(4_900);
      expect(await burst(1, () => create(10))).toEqual({ ok: 0, throttled: 1 });
      clock.advance(100);
      expect(await burst(1, () => create(10))).toEqual({ ok: 1, throttled: 0 });
      expect(bucket('elbv2', 'resource-intensive')).toMatchObject({ capacity: 10, refillPerSecond: 0.2, admitted: 11, throttled: 2 });
      expect(emu.countCalls({ service: 'elbv2' })).toEqual({ CreateLoadBalancer: 11, CreateTargetGroup: 1 });
    });
  });

  describe('EC2', () => {
    it('throttles each action in its own bucket, with RequestLimitExceeded (503)', async () => {
      await start();
      const compute = ec2();
      expect(await burst(101, () => compute.send(new DescribeVpcsCommand({})))).toEqual({ ok: 100, throttled: 1 });
      expect(await failure(compute.send(new DescribeVpcsCommand({})))).toEqual({ name: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503 });
      // "Requests for other API are not affected."
      expect(await burst(1, () => compute.send(new DescribeSubnetsCommand({})))).toEqual({ ok: 1, throttled: 0 });
      clock.advance(1000);
      expect(await burst(21, () => compute.send(new DescribeVpcsCommand({})))).toEqual({ ok: 20, throttled: 1 });
      expect(bucket('ec2', 'DescribeVpcs')).toMatchObject({ category: 'non-mutating', capacity: 100, refillPerSecond: 20, admitted: 120, throttled: 3 });
      expect(emu.throttling!.stats().ec2.byAction['DescribeVpcs']).toEqual({ admitted: 120, throttled: 3 });

      // Mutating actions: 50, then 5 per second.
      expect(await burst(51, (i) => compute.send(new CreateVpcCommand({ CidrBlock: `10.${i}.0.0/16` })))).toEqual({ ok: 50, throttled: 1 });
      expect(bucket('ec2', 'CreateVpc')).toMatchObject({ category: 'mutating', capacity: 50, refillPerSecond: 5, tokens: 0 });
    });

    it('charges an unfiltered, unpaginated DescribeInstances to the smaller bucket', async () => {
      await start();
      const compute = ec2();
      expect(await burst(51, () => compute.send(new DescribeInstancesCommand({})))).toEqual({ ok: 50, throttled: 1 });
      const filtered = () => compute.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }));
      expect(await burst(1, filtered)).toEqual({ ok: 1, throttled: 0 });
      expect(await burst(1, () => compute.send(new DescribeInstancesCommand({ MaxResults: 5 })))).toEqual({ ok: 1, throttled: 0 });
      expect(bucket('ec2', 'DescribeInstances (unfiltered)')).toMatchObject({ capacity: 50, refillPerSecond: 10, admitted: 50, throttled: 1 });
      expect(bucket('ec2', 'DescribeInstances')).toMatchObject({ capacity: 100, refillPerSecond: 20, admitted: 2 });
    });

    it('limits RunInstances by requests (5, 2/s) and by instances launched (1000, 2/s)', async () => {
      await start();
      const compute = ec2();
      emu.throttling!.suspend();
      const vpc = await compute.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      const subnet = await compute.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.0.0.0/16', AvailabilityZone: `${region}a` }));
      emu.throttling!.resume();
      const run = (count: number) =>
        compute.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: count, SubnetId: subnet.Subnet!.SubnetId! }));

      expect(await burst(1, () => run(600))).toEqual({ ok: 1, throttled: 0 });
      // 400 instances left in the resource bucket: a launch of 600 is refused although requests remain.
      expect(await failure(run(600))).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
      expect(await burst(1, () => run(400))).toEqual({ ok: 1, throttled: 0 });
      expect(bucket('ec2', 'RunInstances (instances)')).toMatchObject({ category: 'resources', capacity: 1000, refillPerSecond: 2, tokens: 0, admitted: 2, throttled: 1 });
      clock.advance(1000);
      expect(await burst(2, () => run(1))).toEqual({ ok: 2, throttled: 0 });

      // Requests: 5 at once, then 2 per second.
      clock.advance(60_000);
      emu.throttling!.reset();
      expect(await burst(6, () => run(1))).toEqual({ ok: 5, throttled: 1 });
      expect(bucket('ec2', 'RunInstances')).toMatchObject({ category: 'uncategorized', capacity: 5, refillPerSecond: 2, tokens: 0, throttled: 1 });
      clock.advance(1000);
      expect(await burst(3, () => run(1))).toEqual({ ok: 2, throttled: 1 });
    });
  });

  describe('with the SDK', () => {
    it("retries a throttled call to success with the standard strategy's backoff, on EC2 and ELBv2", async () => {
      await start();
      // Each throttled attempt moves the buckets' clock a second, standing for the backoff on AWS.
      // Deserialize middleware runs once per attempt, inside the SDK's retry loop; high priority puts it outside the deserializer, so it sees the error.
      const advanceOnThrottle =
        <I extends object, O extends object>(): DeserializeMiddleware<I, O> =>
        (next) =>
        async (args) => {
          try {
            return await next(args);
          } catch (error) {
            if (throttled(error)) clock.advance(1000);
            throw error;
          }
        };
      const options = { step: 'deserialize', priority: 'high', name: 'advanceClockOnThrottle' } as const;
      // The SDK's defaults: the standard retry strategy, 3 attempts.
      const lb = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region, credentials });
      const compute = new EC2Client({ endpoint: emu.endpoint, region, credentials });
      lb.middlewareStack.add(advanceOnThrottle(), options);
      compute.middlewareStack.add(advanceOnThrottle(), options);
      clients.push(lb, compute);

      await burst(40, () => elbv2().send(new DescribeLoadBalancersCommand({})));
      const described = await lb.send(new DescribeLoadBalancersCommand({}));
      expect(described.$metadata.attempts).toBe(2);

      await burst(100, () => ec2().send(new DescribeVpcsCommand({})));
      const vpcs = await compute.send(new DescribeVpcsCommand({}));
      expect(vpcs.$metadata.attempts).toBe(2);

      expect(emu.throttling!.stats()).toMatchObject({
        elbv2: { byAction: { DescribeLoadBalancers: { admitted: 41, throttled: 1 } } },
        ec2: { byAction: { DescribeVpcs: { admitted: 101, throttled: 1 } } },
      });
    }, 10_000);

    it('gives up after its attempts when no token comes back in time, as it would on AWS', async () => {
      await start();
      const lb = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region, credentials });
      clients.push(lb);
      await burst(40, () => lb.send(new DescribeLoadBalancersCommand({})));
      const error = (await lb.send(new DescribeLoadBalancersCommand({})).catch((e: unknown) => e)) as { name: string; $metadata: { attempts: number } };
      expect(error).toMatchObject({ name: 'Throttling', $metadata: { attempts: 3 } });
      expect(emu.throttling!.stats().elbv2.byAction['DescribeLoadBalancers']).toEqual({ admitted: 40, throttled: 3 });
    }, 10_000);
  });

  describe('the mode', () => {
    it('is off by default', async () => {
      await start({});
      expect(emu.throttling).toBeUndefined();
      expect(await burst(60, () => elbv2().send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 60, throttled: 0 });
    });

    it('runs the buckets `scale` times faster than their clock', async () => {
      const own = new ManualClock();
      await start({ throttling: { scale: 10, clock: own } });
      const lb = elbv2();
      await burst(40, () => lb.send(new DescribeLoadBalancersCommand({})));
      // The emulator's clock is not the buckets' clock.
      clock.advance(60_000);
      expect(await burst(1, () => lb.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 0, throttled: 1 });
      own.advance(100);
      expect(await burst(11, () => lb.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 10, throttled: 1 });
      await expect(AwsEmulator.start({ throttling: { scale: 0 } })).rejects.toThrow(RangeError);
    });

    it('counts per phase, admits everything while suspended, and leaves SQS alone', async () => {
      await start();
      const lb = elbv2();
      await burst(30, () => lb.send(new DescribeLoadBalancersCommand({})));
      emu.throttling!.resetStats();
      expect(emu.throttling!.stats()).toMatchObject({ admitted: 0, throttled: 0, elbv2: { byAction: {} } });
      // Counts reset, tokens kept: 10 left.
      expect(await burst(11, () => lb.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 10, throttled: 1 });

      emu.throttling!.suspend();
      expect(await burst(50, () => lb.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 50, throttled: 0 });
      emu.throttling!.resume();
      expect(emu.throttling!.stats()).toMatchObject({ admitted: 10, throttled: 1 });
      expect(await burst(1, () => lb.send(new DescribeLoadBalancersCommand({})))).toEqual({ ok: 0, throttled: 1 });

      const sqs = new SQSClient({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
      clients.push(sqs);
      expect(await burst(100, () => sqs.send(new ListQueuesCommand({})))).toEqual({ ok: 100, throttled: 0 });
      expect(emu.throttling!.stats().buckets.every((b) => b.service === 'ec2' || b.service === 'elbv2')).toBe(true);
    });
  });
});
