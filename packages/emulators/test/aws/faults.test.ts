import { CreateVpcCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { AwsEmulator } from '../../src/aws';
import { credentials, embeddedOnly, failure, region } from './harness';

embeddedOnly('fault injection', () => {
  let emu: AwsEmulator;
  const clients: { destroy(): void }[] = [];

  function elbv2(maxAttempts: number): ElasticLoadBalancingV2Client {
    const client = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts });
    clients.push(client);
    return client;
  }

  function ec2(maxAttempts: number): EC2Client {
    const client = new EC2Client({ endpoint: emu.endpoint, region, credentials, maxAttempts });
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    emu = await AwsEmulator.start();
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy());
    await emu.close();
  });

  function expectThrottledShapes(): number {
    const throttled = emu.calls.filter((c) => c.status !== 200);
    for (const call of throttled) {
      if (call.service === 'elbv2') expect(call).toMatchObject({ status: 400, errorCode: 'Throttling' });
      else expect(call).toMatchObject({ status: 503, errorCode: 'RequestLimitExceeded' });
    }
    return throttled.length;
  }

  it('throttles in AWS shape, and an SDK client with maxAttempts 10 recovers', async () => {
    // The default seed throttles 2 of these 8 attempts (the SDK backs off ~0.5 s per throttle).
    emu.faults.throttle(0.3);
    const lb = elbv2(10);
    const compute = ec2(10);
    for (let i = 0; i < 3; i++) {
      await compute.send(new CreateVpcCommand({ CidrBlock: `10.${i}.0.0/16` }));
      await lb.send(new DescribeLoadBalancersCommand({}));
    }
    expect(expectThrottledShapes()).toBe(2);
    // Every call succeeded in the end, and the record shows the throttled attempts too.
    expect(emu.countCalls()).toEqual({ CreateVpc: 3, DescribeLoadBalancers: 3 });
    expect(emu.calls).toHaveLength(8);
  }, 20_000);

  it('keeps a long sequence going under throttling with the standard strategy and short backoff', async () => {
    emu.faults.throttle(0.3, { seed: 11 });
    // ConfiguredRetryStrategy is the standard strategy (same error classification) with a custom delay.
    const retryStrategy = new ConfiguredRetryStrategy(10, 1);
    const lb = new ElasticLoadBalancingV2Client({ endpoint: emu.endpoint, region, credentials, retryStrategy });
    const compute = new EC2Client({ endpoint: emu.endpoint, region, credentials, retryStrategy });
    clients.push(lb, compute);
    for (let i = 0; i < 20; i++) {
      await compute.send(new CreateVpcCommand({ CidrBlock: `10.${i}.0.0/16` }));
      await lb.send(new DescribeLoadBalancersCommand({}));
    }
    const throttled = expectThrottledShapes();
    expect(throttled).toBeGreaterThan(5);
    expect(emu.countCalls()).toEqual({ CreateVpc: 20, DescribeLoadBalancers: 20 });
    expect(emu.calls).toHaveLength(40 + throttled);
    expect(emu.snapshot().vpcs).toHaveLength(20);
  });

  it('answers throttled calls with the exact error envelopes', async () => {
    emu.faults.throttle(1);
    const elbErr = await failure(elbv2(1).send(new DescribeLoadBalancersCommand({})));
    expect(elbErr).toEqual({ name: 'Throttling', message: 'Rate exceeded', status: 400 });
    const ec2Err = await failure(ec2(1).send(new DescribeVpcsCommand({})));
    expect(ec2Err).toEqual({ name: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503 });
  });

  it('throttles only the listed actions', async () => {
    emu.faults.throttle(1, { actions: ['CreateVpc'] });
    await ec2(1).send(new DescribeVpcsCommand({}));
    expect((await failure(ec2(1).send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' })))).name).toBe('RequestLimitExceeded');
  });

  it('injects 500 InternalFailure / 503 ServiceUnavailable that the SDK retries', async () => {
    emu.faults.serverErrors(0.4, { seed: 3 });
    const client = ec2(10);
    for (let i = 0; i < 8; i++) await client.send(new DescribeVpcsCommand({}));
    const failed = emu.calls.filter((c) => c.status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    for (const call of failed) expect([`500 InternalFailure`, `503 ServiceUnavailable`]).toContain(`${call.status} ${call.errorCode}`);
    expect(emu.countCalls()).toEqual({ DescribeVpcs: 8 });
  });

  it('is deterministic for a given seed', async () => {
    const pattern = async (): Promise<number[]> => {
      emu.clearCalls();
      emu.faults.throttle(0.5, { seed: 42 });
      const client = ec2(1);
      for (let i = 0; i < 12; i++) await client.send(new DescribeVpcsCommand({})).catch(() => undefined);
      return emu.calls.map((c) => c.status);
    };
    const first = await pattern();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await pattern()).toEqual(first);
  });

  it('adds latency before each answer', async () => {
    emu.faults.latency(60);
    const started = Date.now();
    await ec2(1).send(new DescribeVpcsCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    emu.faults.clear();
    const again = Date.now();
    await ec2(1).send(new DescribeVpcsCommand({}));
    expect(Date.now() - again).toBeLessThan(55);
  });

  it('fails every later call with a non-retryable FerryInjectedFault after k mutating successes', async () => {
    emu.faults.failAfter(2);
    const client = ec2(5);
    await client.send(new DescribeVpcsCommand({}));
    await client.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    await client.send(new DescribeVpcsCommand({}));
    await client.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
    const write = await failure(client.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' })));
    expect(write).toMatchObject({ name: 'FerryInjectedFault', status: 400 });
    const read = await failure(client.send(new DescribeVpcsCommand({})));
    expect(read.name).toBe('FerryInjectedFault');
    // Not retried: one attempt each despite maxAttempts 5.
    expect(emu.calls.filter((c) => c.errorCode === 'FerryInjectedFault')).toHaveLength(2);
    expect(emu.snapshot().vpcs).toHaveLength(2);
  });

  it('counts reads too when mutatingOnly is false', async () => {
    emu.faults.failAfter(1, { mutatingOnly: false });
    await ec2(1).send(new DescribeVpcsCommand({}));
    expect((await failure(ec2(1).send(new DescribeVpcsCommand({})))).name).toBe('FerryInjectedFault');
    emu.faults.clear();
    await ec2(1).send(new DescribeVpcsCommand({}));
  });

  it('rejects nonsensical settings', () => {
    expect(() => emu.faults.throttle(1.5)).toThrow(RangeError);
    expect(() => emu.faults.serverErrors(-0.1)).toThrow(RangeError);
    expect(() => emu.faults.latency(-1)).toThrow(RangeError);
    expect(() => emu.faults.failAfter(1.5)).toThrow(RangeError);
  });

  it('closes promptly with a slow answer pending, leaving no timers behind', async () => {
    emu.faults.latency(60_000);
    const pending = ec2(1).send(new DescribeVpcsCommand({})).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await emu.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
