import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeEmulator, type AwsEmulator, type ThrottlingControls, type ThrottlingStats } from '@ferry/emulators';
import { apply } from '../src/aws/apply';
import { observe } from '../src/aws/observe';
import type { OwnershipSource } from '../src/aws/inventory';
import { ThrottledError } from '../src/errors';
import { processWork, type WorkResult } from '../src/hosts/worker';
import { startSandbox, type Sandbox } from '../src/local/sandbox';
import { launchInstance, nodeFor, seedNodes } from '../src/local/seed';
import { buildModel } from '../src/model/build';
import { checkpointOf, formatCheckpoint } from '../src/model/checkpoint';
import { DEFAULT_READ_BUDGET } from '../src/model/limits';
import { CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION, formatResources } from '../src/model/record';
import { REGISTERED_ANNOTATION, formatRegistered } from '../src/model/registered';
import { FINALIZER } from '../src/model/service';
import type { ObservedState } from '../src/model/observed';
import { deepCheckReads } from '../src/plan/budget';
import { planWithProgress } from '../src/plan/plan';
import { MemoryWorkQueue } from '../src/queue/memory';
import { fanoutMessage, serviceMessage, type QueuedMessage, type WorkQueue } from '../src/queue/messages';
import { Reconciler, type ReconcileOptions, type ReconcileReport, type ReconcilerOptions } from '../src/reconcile/reconciler';
import { assess, resync, type ResyncReport } from '../src/reconcile/resync';
import type { LogEntry } from '../src/util/log';
import type { Section } from './section';

/**
 * `npm run bench -- fleet`: what ferry costs in AWS calls at 100, 1,000 and 10,000 two-port
 * Services on 100 nodes, against the embedded AWS emulator with AWS's request throttling on
 * (issue 12). Every figure is a count of real calls over HTTP, as the emulator's throttling
 * buckets admitted them (`throttling.stats()`), or a time measured around them.
 *
 * - the resync (its sweep, with either ownership source) and the deep checks it queued;
 * - one node added and one node removed: the fan-out through `processWork`, as `ferry
 *   controller` runs it (every Service's reconcile, and `nodesChanged` once);
 * - a burst of 1,000 Services created at once, through the controller's queue and workers;
 * - unchanged Services reconciled again: no call.
 *
 * Time: the throttling buckets run `AWS_SECONDS_PER_SECOND` times faster than real time, and
 * every wait on ferry's side is scaled down by as much (the SDK's backoff, the queue's
 * backoff, the retry-after of a throttled reconcile), so a burst that takes AWS hours takes
 * minutes here. Seeding worlds happens with throttling suspended and is not measured.
 * Every loop is bounded in count and time.
 */

/** Seconds of AWS time per real second: the buckets refill this much faster, every backoff is this much shorter. */
const AWS_SECONDS_PER_SECOND = 20;
const NODES = 100;
const SCALES = [100, 1000, 10_000] as const;
const BURST = 1000;
/** `ferry controller`'s workers: the CDK construct's default reconcileConcurrency. */
const WORKERS = 5;
const INTERVAL_SECONDS = 300;
const READ_BUDGET = DEFAULT_READ_BUDGET;
/** 10,000 two-port Services need 20,000 NodePorts: the API server's range is widened as a cluster of that size must. */
const NODE_PORT_RANGE = { min: 30000, max: 52767 };
/** The resync's schedule time: interval 0 (any other picks another share of deep checks). */
const NOW = 0;
/** No measured phase may run longer than this in real time. */
const PHASE_LIMIT_MS = 15 * 60_000;
/** Seeding 9,000 Services takes the emulator long (see seedByPlan): at most this. */
const SEED_LIMIT_MS = 40 * 60_000;
/** AWS calls at once per reconcile (FERRY_AWS_CONCURRENCY's default). */
const AWS_CONCURRENCY = 4;
/** Seeding: Services set up at once (throttling is suspended then). */
const SEED_CONCURRENCY = 24;

// ---------------------------------------------------------------------------------------------
// Counting

interface Calls {
  /** Admitted calls by service and operation. */
  byService: { elbv2: Record<string, number>; ec2: Record<string, number>; tagging: Record<string, number> };
  total: number;
  /** Attempts the buckets refused (each retried by the SDK or, past its attempts, by the queue). */
  throttled: number;
}

function callsFrom(stats: ThrottlingStats): Calls {
  const admitted = (s: ThrottlingStats['ec2']) =>
    Object.fromEntries(Object.entries(s.byAction).filter(([, c]) => c.admitted > 0).map(([op, c]) => [op, c.admitted]));
  const byService = { elbv2: admitted(stats.elbv2), ec2: admitted(stats.ec2), tagging: admitted(stats.tagging) };
  return { byService, total: stats.admitted, throttled: stats.throttled };
}

const isRead = (op: string) => /^(Describe|Get|List)/.test(op);
const sum = (r: Record<string, number>, keep: (op: string) => boolean = () => true) =>
  Object.entries(r).reduce((n, [op, c]) => (keep(op) ? n + c : n), 0);
const elbv2Reads = (c: Calls) => sum(c.byService.elbv2, isRead);
const elbv2Writes = (c: Calls) => sum(c.byService.elbv2, (op) => !isRead(op));
const ec2Calls = (c: Calls) => sum(c.byService.ec2);

function formatOps(c: Calls): string {
  const part = (label: string, r: Record<string, number>) => {
    const ops = Object.entries(r).sort(([a], [b]) => a.localeCompare(b));
    return ops.length ? `${label} ${ops.map(([op, n]) => `${op} ${n.toLocaleString('en')}`).join(', ')}` : '';
  };
  return [part('ELBv2:', c.byService.elbv2), part('EC2:', c.byService.ec2), part('Tagging:', c.byService.tagging)].filter(Boolean).join('; ') || '—';
}

// ---------------------------------------------------------------------------------------------
// Bounded helpers

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fleet bench: ${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` over `items`, `concurrency` at a time; every item once. */
async function forEach<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const seconds = (ms: number) => ms / 1000;
const progress = (what: string) => console.error(`fleet bench [${process.uptime().toFixed(0)} s]: ${what}`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// The world

/**
 * A reconcile's own throttling deferral says "come back in 10 s" (reconciler.ts); on the
 * scaled clock that is 10 s of AWS time, like every other wait here.
 */
class ScaledReconciler extends Reconciler {
  override async reconcile(namespace: string, name: string, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
    try {
      return await super.reconcile(namespace, name, opts);
    } catch (err) {
      if (err instanceof ThrottledError) {
        throw new ThrottledError(err.message, { cause: err.cause, retryAfterMs: (err.retryAfterMs ?? 0) / AWS_SECONDS_PER_SECOND });
      }
      throw err;
    }
  }
}

interface World {
  sandbox: Sandbox;
  kube: KubeEmulator;
  emulator: AwsEmulator;
  throttling: ThrottlingControls;
  core: CoreV1Api;
  options: ReconcilerOptions;
  reconciler: ScaledReconciler;
  /** The Services made so far, in order. */
  names: string[];
  /** Node names, in order; the next added node is node-<nodes>. */
  nodes: number;
  /** Whether a resync has run (the first settles what seeding left). */
  warmedUp: boolean;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const kube = await KubeEmulator.start({ nodePortRange: NODE_PORT_RANGE });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-fleet-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await kube.writeKubeconfig(kubeconfig);
  const sandbox = await startSandbox({
    cluster: 'fleet',
    kubeconfig,
    seed: { instances: NODES },
    emulator: { throttling: { scale: AWS_SECONDS_PER_SECOND } },
    // The SDK's standard backoff (100 ms doubling to 20 s), on the scaled clock.
    aws: { backoffBaseMs: 100 / AWS_SECONDS_PER_SECOND, maxBackoffMs: 20_000 / AWS_SECONDS_PER_SECOND, maxAttempts: 8 },
    awsConcurrency: AWS_CONCURRENCY,
  });
  await seedNodes(sandbox.kc, sandbox.seeded.instances);
  const emulator = sandbox.awsEmulator!;
  const throttling = emulator.throttling!;
  const options: ReconcilerOptions = { ...sandbox.options, nodePortRange: NODE_PORT_RANGE };
  return {
    sandbox,
    kube,
    emulator,
    throttling,
    core: sandbox.kc.makeApiClient(CoreV1Api),
    options,
    reconciler: new ScaledReconciler(sandbox.kube, sandbox.aws, options),
    names: [],
    nodes: sandbox.seeded.instances.length,
    warmedUp: false,
    async close() {
      await sandbox.close();
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh account for the next measurement: full buckets, zero counts, an empty call log. */
function freshAccount(world: World): void {
  world.throttling.resume();
  world.throttling.reset();
  world.emulator.clearCalls();
  world.kube.clearRequests();
  world.sandbox.aws.calls.reset();
}

/** Two-port LoadBalancer Services, as `kubectl apply` would make them (the API server allocates the NodePorts). */
export async function createServices(world: World, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `svc-${String(world.names.length + i).padStart(5, '0')}`);
  await forEach(names, 16, async (name) => {
    await world.core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: {
          type: 'LoadBalancer',
          selector: { app: name },
          ports: [
            { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
          ],
        },
      },
    });
  });
  world.names.push(...names);
  return names;
}

/** Seeds Services through the reconciler itself, throttling suspended. */
async function seedByReconciler(world: World, names: readonly string[]): Promise<void> {
  world.throttling.suspend();
  try {
    await within(SEED_LIMIT_MS, `seeding ${names.length} Services`, forEach(names, SEED_CONCURRENCY, async (name, i) => {
      const report = await world.reconciler.reconcile('default', name);
      if (report.outcome !== 'ensured') throw new Error(`seeding ${name}: ${report.outcome} ${report.message ?? ''}`);
      if (i % 500 === 499) world.emulator.clearCalls();
    }));
  } finally {
    world.throttling.resume();
  }
}

/**
 * Seeds Services the way the reconciler creates one, minus its reads, throttling suspended:
 * for a Service that has nothing in AWS yet those reads find the same for every Service (no
 * load balancer, no target group, no security group of its own; the Region's subnets; the
 * cluster's backend group and the nodes' groups with their rules), so they are made once,
 * for the first, and the planner and apply (ferry's own) run for each against that. Then the
 * record, status and checkpoint are written as the reconcile writes them. Reading per Service
 * would make seeding 10,000 Services take hours: the emulator's Describe calls scan every
 * resource (see the report). The resync then checks the result: every Service in sync.
 */
export async function seedByPlan(world: World, names: readonly string[]): Promise<void> {
  const { sandbox, options } = world;
  const kube = sandbox.kube;
  const aws = sandbox.aws.scoped({ concurrency: AWS_CONCURRENCY });
  world.throttling.suspend();
  try {
    const nodes = await kube.listNodes();
    const vpc = options.vpcId ? { vpcId: options.vpcId } : {};
    // What the reconcile of any new Service reads, read once (for the first).
    const first = buildModel((await kube.getService('default', names[0]!))!, nodes, options).loadBalancer!;
    const template = await observe(aws, {
      cluster: options.clusterName,
      service: `default/${names[0]}`,
      loadBalancerNames: [first.name],
      targetGroupNames: first.targetGroups.map((tg) => tg.name),
      subnets: { selector: first.subnets, ...vpc },
      readTargets: true,
      details: true,
      listenerAttributes: [],
      ...(first.backend
        ? {
            backend: {
              targetType: first.targetGroups[0]?.targetType ?? 'instance',
              targets: [...new Set(first.targetGroups.flatMap((tg) => tg.targets.map((t) => t.id)))].sort(),
              nodeGroupTag: first.backend.nodeGroupTag,
            },
          }
        : {}),
    });
    if (template.loadBalancers.length + template.targetGroups.length + template.securityGroups.length > 0) {
      throw new Error(`seeding: default/${names[0]} already has resources in AWS`);
    }
    const started = performance.now();
    await within(SEED_LIMIT_MS, `seeding ${names.length} Services`, forEach(names, SEED_CONCURRENCY, async (name, i) => {
      let service = (await kube.getService('default', name))!;
      const model = buildModel(service, nodes, options);
      const spec = model.loadBalancer!;
      const key = `default/${name}`;
      const observed: ObservedState = { ...template, loadBalancers: [], targetGroups: [], securityGroups: [] };
      const { actions, pending } = planWithProgress(model, observed, { cluster: options.clusterName, service: key, ...vpc });
      if (pending.length > 0) throw new Error(`seeding ${key}: pending ${pending.join('; ')}`);
      const recorded = { loadBalancers: [spec.name], targetGroups: spec.targetGroups.map((tg) => tg.name) };
      service = await kube.patchServiceMetadata(service, {
        finalizers: [...(service.metadata?.finalizers ?? []), FINALIZER],
        resourceVersion: service.metadata?.resourceVersion,
        annotations: { [RESOURCES_ANNOTATION]: formatResources(recorded) },
      });
      const result = await apply(aws, actions, observed);
      const hostname = result.dnsNames.get(spec.name);
      if (!hostname) throw new Error(`seeding ${key}: no DNS name`);
      service = await kube.patchServiceStatus(service, { loadBalancer: { ingress: [{ hostname }] } });
      await kube.patchServiceMetadata(service, {
        annotations: {
          [CHECKPOINT_ANNOTATION]: formatCheckpoint(checkpointOf(model)!),
          [RESOURCES_ANNOTATION]: formatResources(recorded),
          [REGISTERED_ANNOTATION]: formatRegistered(spec, result.targetGroupArns) ?? null,
        },
      });
      if (i % 500 === 499) {
        world.emulator.clearCalls();
        world.kube.clearRequests();
      }
      if (i % 1000 === 999) progress(`seeded ${i + 1} of ${names.length} (${((i + 1) / seconds(performance.now() - started)).toFixed(1)}/s)`);
    }));
  } finally {
    world.throttling.resume();
  }
}

/** Every Service of the world has its load balancer's DNS name in status; the count without one. */
async function withoutHostname(world: World): Promise<number> {
  const services = await world.sandbox.kube.listServices();
  const byName = new Map(services.map((s) => [s.metadata!.name!, s]));
  return world.names.filter((n) => !byName.get(n)?.status?.loadBalancer?.ingress?.[0]?.hostname).length;
}

// ---------------------------------------------------------------------------------------------
// `ferry controller`'s queue and workers

interface QueueRun {
  realMs: number;
  results: WorkResult[];
  deferrals: number;
  failures: number;
  deadLetters: number;
  /** SDK retries (attempts beyond each call's first). */
  retries: number;
  calls: Calls;
}

/** Sends messages to a MemoryWorkQueue run as `ferry controller` runs it, and waits until it is idle. */
async function runQueue(world: World, messages: QueuedMessage[], what: string): Promise<QueueRun> {
  const results: WorkResult[] = [];
  let deferrals = 0;
  let failures = 0;
  let processed = 0;
  const log = (entry: LogEntry) => {
    if (entry.msg === 'work deferred') deferrals++;
    else if (entry.msg === 'work failed; retrying') failures++;
    else if (entry.msg?.startsWith('work failed too often')) console.error(`fleet bench [${process.uptime().toFixed(0)} s]: dead letter: ${JSON.stringify(entry)}`);
  };
  const queue: MemoryWorkQueue = new MemoryWorkQueue({
    workers: WORKERS,
    // The queue's own backoff (1 s doubling to 300 s), on the scaled clock.
    backoffMs: 1000 / AWS_SECONDS_PER_SECOND,
    maxBackoffMs: 300_000 / AWS_SECONDS_PER_SECOND,
    log,
    process: async (message, id) => {
      results.push(await processWork(message, id, { kube: world.sandbox.kube, reconciler: world.reconciler, queue, config: world.options }));
      // The call logs are not what is counted (the buckets' counts are): keep them small.
      if (++processed % 500 === 0) {
        world.emulator.clearCalls();
        world.kube.clearRequests();
      }
      if (processed % 2000 === 0) progress(`${what}: ${processed} messages done`);
    },
  });
  const retriesBefore = world.sandbox.aws.calls.retries();
  const started = performance.now();
  try {
    await queue.send(messages);
    await within(PHASE_LIMIT_MS, what, queue.idle());
  } finally {
    queue.stop();
  }
  return {
    realMs: performance.now() - started,
    results,
    deferrals,
    failures,
    deadLetters: queue.deadLetters,
    retries: world.sandbox.aws.calls.retries() - retriesBefore,
    calls: callsFrom(world.throttling.stats()),
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface SweepFigures {
  ownership: Exclude<OwnershipSource, 'auto'>;
  calls: Calls;
  realMs: number;
  /** Undefined when the resync failed (`error` says how); the tagging sweep must not. */
  report: ResyncReport | undefined;
  error?: string;
  queued: QueuedMessage[];
}

interface ScaleFigures {
  services: number;
  seedMs: number;
  seededBy: string;
  /** The world's first resync, not counted as an interval's (undefined: the world had one already). */
  warmUp: Calls | undefined;
  unchanged: { calls: number; logged: number; outcomes: Record<string, number>; realMs: number };
  sweeps: SweepFigures[];
  deep: {
    queued: number;
    plannedReads: number;
    calls: Calls;
    outcomes: Record<string, number>;
    windowSeconds: number;
    windowReads: number;
    maxDelaySeconds: number;
    realMs: number;
  };
  nodeAdded: QueueRun;
  nodeRemoved: QueueRun;
}

const tally = (values: readonly string[]) => values.reduce<Record<string, number>>((t, v) => ({ ...t, [v]: (t[v] ?? 0) + 1 }), {});
const outcomesOf = (results: readonly WorkResult[]) =>
  tally(results.map((r) => (r.kind === 'reconciled' ? r.report.outcome : r.kind)));

async function measureUnchanged(world: World): Promise<ScaleFigures['unchanged']> {
  freshAccount(world);
  const started = performance.now();
  const outcomes: string[] = [];
  const queue: WorkQueue = { send: async () => undefined };
  await within(PHASE_LIMIT_MS, 'unchanged reconciles', forEach(world.names, WORKERS * 4, async (name) => {
    const m = serviceMessage('default', name, `unchanged-${name}`).message;
    const result = await processWork(m, `unchanged-${name}`, { kube: world.sandbox.kube, reconciler: world.reconciler, queue, config: world.options });
    outcomes.push(result.kind === 'reconciled' ? result.report.outcome : result.kind);
  }));
  return { calls: world.throttling.stats().admitted + world.throttling.stats().throttled, logged: world.emulator.calls.length, outcomes: tally(outcomes), realMs: performance.now() - started };
}

async function measureSweep(world: World, ownership: SweepFigures['ownership']): Promise<SweepFigures> {
  freshAccount(world);
  const queued: QueuedMessage[] = [];
  const queue: WorkQueue = { delays: true, send: async (messages) => void queued.push(...messages) };
  const started = performance.now();
  const run = resync(world.sandbox.kube, world.sandbox.aws, queue, {
    ...world.options,
    readBudget: READ_BUDGET,
    intervalSeconds: INTERVAL_SECONDS,
    now: NOW,
    ownership,
  });
  const figures = (report: ResyncReport | undefined, error?: string): SweepFigures => ({
    ownership, calls: callsFrom(world.throttling.stats()), realMs: performance.now() - started, report, queued, ...(error ? { error } : {}),
  });
  try {
    return figures(await within(PHASE_LIMIT_MS, `resync (${ownership})`, run));
  } catch (err) {
    // The fallback's failure is a finding to record, not a reason to lose the run.
    if (ownership === 'tagging') throw err;
    return figures(undefined, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  }
}

async function measureDeepChecks(world: World, sweep: SweepFigures): Promise<ScaleFigures['deep']> {
  // The window's reads: every converged Service's deep check, as the schedule counts them.
  const [services, nodes] = await Promise.all([world.sandbox.kube.listServices(), world.sandbox.kube.listNodes()]);
  const { converged } = assess(services, nodes, world.options);
  const windowReads = converged.reduce((n, s) => n + deepCheckReads(s.spec), 0);
  const due = sweep.queued.filter((q) => q.message.kind === 'service' && q.message.full);
  freshAccount(world);
  // As the workers would run them, at once rather than after their delays (the delays pace
  // the reads; they do not change them).
  const results: WorkResult[] = [];
  const queue: WorkQueue = { send: async () => undefined };
  const started = performance.now();
  await within(PHASE_LIMIT_MS, 'deep checks', forEach(due, WORKERS, async (q) => {
    results.push(await processWork(q.message, q.dedupId, { kube: world.sandbox.kube, reconciler: world.reconciler, queue, config: world.options }));
  }));
  return {
    queued: due.length,
    plannedReads: sweep.report!.deep.reads,
    calls: callsFrom(world.throttling.stats()),
    outcomes: outcomesOf(results),
    windowSeconds: sweep.report!.deep.windowSeconds,
    windowReads,
    maxDelaySeconds: Math.max(0, ...due.map((q) => q.delaySeconds ?? 0)),
    realMs: performance.now() - started,
  };
}

/** One node joins (or leaves): the fan-out message the node watch sends, through the controller's queue. */
async function measureNodeChange(world: World, change: 'added' | 'removed'): Promise<QueueRun> {
  if (change === 'added') {
    world.throttling.suspend();
    const subnet = world.sandbox.seeded.subnets.find((s) => s.role === 'private')!;
    const instance = await launchInstance(world.sandbox.aws, subnet, `node-${world.nodes}`, world.sandbox.seeded.nodeSecurityGroupId);
    world.throttling.resume();
    await world.core.createNode({ body: nodeFor(instance, world.nodes) });
    world.nodes++;
  } else {
    world.nodes--;
    await world.core.deleteNode({ name: `node-${world.nodes}` });
  }
  freshAccount(world);
  return runQueue(world, [fanoutMessage(`node ${change}`, `node-${change}-${world.nodes}`)], `node ${change} fan-out`);
}

async function measureScale(world: World, seedMs: number, seededBy: string): Promise<ScaleFigures> {
  const services = world.names.length;
  const log = (what: string) => progress(`${fmt(services)} Services: ${what}`);
  log('unchanged reconciles');
  const unchanged = await measureUnchanged(world);
  log('sweeps');
  // The first resync after seeding also settles what seeding left to it once (the backend
  // group's ferry.io/granted tag): a controller that has been running has done that.
  const warmUp = world.warmedUp ? undefined : await measureSweep(world, 'tagging');
  world.warmedUp = true;
  const tagging = await measureSweep(world, 'tagging');
  const describeTags = await measureSweep(world, 'describe-tags');
  for (const s of [tagging, describeTags]) {
    const r = s.report;
    if (!r) continue;
    if (r.services !== services || r.inSync !== services || r.changed.length > 0 || r.drifted.length > 0 || r.refused > 0 || r.gc.services.length > 0) {
      throw new Error(`fleet bench: the resync (${s.ownership}) does not find ${services} converged Services: ${JSON.stringify({ ...r, changed: r.changed.slice(0, 5), drifted: r.drifted.slice(0, 5) })}`);
    }
  }
  log(`deep checks (${tagging.report!.deep.queued})`);
  const deep = await measureDeepChecks(world, tagging);
  log('node added');
  const nodeAdded = await measureNodeChange(world, 'added');
  log('node removed');
  const nodeRemoved = await measureNodeChange(world, 'removed');
  return { services, seedMs, seededBy, warmUp: warmUp?.calls, unchanged, sweeps: [tagging, describeTags], deep, nodeAdded, nodeRemoved };
}

interface BurstFigures {
  services: number;
  run: QueueRun;
  withoutHostname: number;
  outcomes: Record<string, number>;
  /** The CreateLoadBalancer bucket's floor: (services − capacity) / refill, in AWS seconds. */
  floorSeconds: number;
  createThrottled: number;
}

/** 1,000 Services created at once: 1,000 Service messages (as the webhook sends them) through the controller's queue. */
async function measureBurst(world: World): Promise<BurstFigures> {
  const names = await createServices(world, BURST);
  freshAccount(world);
  const run = await runQueue(world, names.map((name) => serviceMessage('default', name, `burst-${name}`)), 'burst');
  const stats = world.throttling.stats();
  const bucket = stats.buckets.find((b) => b.service === 'elbv2' && b.category === 'resource-intensive')!;
  return {
    services: names.length,
    run,
    withoutHostname: await withoutHostname(world),
    outcomes: outcomesOf(run.results),
    floorSeconds: (names.length - bucket.capacity) / bucket.refillPerSecond,
    createThrottled: stats.elbv2.byAction['CreateLoadBalancer']?.throttled ?? 0,
  };
}

export interface FleetFigures {
  scales: ScaleFigures[];
  /** Measured when a scale of at least the burst's size is. */
  burst: BurstFigures | undefined;
  wallMs: number;
}

/**
 * Two worlds: 100 Services seeded through the reconciler; then a fresh one that the burst
 * of 1,000 fills, measured at 1,000, and grown to 10,000 (seedByPlan) and measured again.
 */
export async function measureFleet(scales: readonly number[] = SCALES): Promise<FleetFigures> {
  const started = performance.now();
  const figures: ScaleFigures[] = [];
  const small = scales.filter((s) => s < BURST);
  const large = scales.filter((s) => s >= BURST).sort((a, b) => a - b);
  for (const size of small) {
    const world = await startWorld();
    try {
      const t = performance.now();
      await seedByReconciler(world, await createServices(world, size));
      figures.push(await measureScale(world, performance.now() - t, 'reconciler'));
    } finally {
      await world.close();
    }
  }
  if (large.length === 0) return { scales: figures, burst: undefined, wallMs: performance.now() - started };
  const world = await startWorld();
  let burst: BurstFigures;
  try {
    progress(`burst of ${BURST}`);
    burst = await measureBurst(world);
    if (burst.withoutHostname > 0 || burst.run.deadLetters > 0) {
      throw new Error(`fleet bench: the burst left ${burst.withoutHostname} Services without a hostname, ${burst.run.deadLetters} dead letters`);
    }
    for (const size of large) {
      let seedMs = 0;
      if (world.names.length < size) {
        progress(`seeding ${size - world.names.length} more Services`);
        const t = performance.now();
        await seedByPlan(world, await createServices(world, size - world.names.length));
        seedMs = performance.now() - t;
      }
      figures.push(await measureScale(world, seedMs, size === BURST ? 'burst' : `burst + planner for ${fmt(size - BURST)}`));
    }
  } finally {
    await world.close();
  }
  return { scales: figures, burst, wallMs: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Report

/** AWS seconds the registration bucket (20 at once, then 4/s) needs for this many Register/DeregisterTargets. */
const registrationFloor = (calls: number) => Math.max(0, calls - 20) / 4;

const verdict = (ok: boolean) => (ok ? 'within' : '**OVER**');

export function formatFleet(f: FleetFigures): string {
  const lines: string[] = [];
  const S = AWS_SECONDS_PER_SECOND;
  const sweepOf = (s: ScaleFigures, o: SweepFigures['ownership']) => s.sweeps.find((w) => w.ownership === o)!;

  lines.push(
    `Two-port Services on ${NODES} nodes, ferry's default read budget (${READ_BUDGET} ELBv2 read/s) and resync interval (${INTERVAL_SECONDS} s), against the embedded AWS emulator with AWS's request throttling on (ELBv2's 40-token/10-per-second read bucket and the other documented buckets), its buckets running ${S}× faster than real time.`,
    '',
    '### AWS calls per resync interval',
    '',
    `| Services | sweep, tagging API | sweep, DescribeTags | sweep per 10 Services (tagging / DescribeTags) | target ≤ 1 per 10 | deep checks this interval | their ELBv2 reads, measured (planned) | this interval's deep-check reads/s | window | window's deep-check ELBv2 reads | deep checks' average ELBv2 reads/s | target ≤ ${READ_BUDGET} | all ELBv2 reads/s, sweep (tagging) + deep |`,
    '|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|',
  );
  for (const s of f.scales) {
    const t = sweepOf(s, 'tagging');
    const d = sweepOf(s, 'describe-tags');
    const per10 = (c: Calls) => (c.total * 10) / s.services;
    const average = s.deep.windowReads / s.deep.windowSeconds;
    lines.push(
      `| ${fmt(s.services)} | ${fmt(t.calls.total)} | ${fmt(d.calls.total)}${d.error ? ' (failed)' : ''} | ${per10(t.calls).toFixed(2)} / ${per10(d.calls).toFixed(2)} | ${verdict(per10(t.calls) <= 1)} (tagging) | ${fmt(s.deep.queued)} Services, ${fmt(s.deep.calls.total)} calls | ${fmt(elbv2Reads(s.deep.calls))} (${fmt(s.deep.plannedReads)}) | ${(elbv2Reads(s.deep.calls) / INTERVAL_SECONDS).toFixed(2)} | ${fmt(s.deep.windowSeconds)} s (${fmt(s.deep.windowSeconds / INTERVAL_SECONDS)} intervals) | ${fmt(s.deep.windowReads)} | ${average.toFixed(3)} | ${verdict(average <= READ_BUDGET)} | ${(elbv2Reads(t.calls) / INTERVAL_SECONDS + average).toFixed(2)} |`,
    );
  }
  lines.push('', '### By operation', '', '| Services | what | calls | throttled attempts | real time | by operation |', '|---:|---|---:|---:|---:|---|');
  for (const s of f.scales) {
    for (const w of s.sweeps) {
      lines.push(`| ${fmt(s.services)} | sweep (${w.ownership === 'tagging' ? 'tagging API' : 'DescribeTags'}) | ${fmt(w.calls.total)} | ${fmt(w.calls.throttled)} | ${seconds(w.realMs).toFixed(1)} s | ${w.error ? `**failed**: ${w.error}; ` : ''}${formatOps(w.calls)} |`);
    }
    lines.push(`| ${fmt(s.services)} | deep checks of one interval (${fmt(s.deep.queued)} full reconciles: ${Object.entries(s.deep.outcomes).map(([o, n]) => `${n} ${o}`).join(', ')}) | ${fmt(s.deep.calls.total)} | ${fmt(s.deep.calls.throttled)} | ${seconds(s.deep.realMs).toFixed(1)} s | ${formatOps(s.deep.calls)} |`);
    for (const [label, run] of [['one node added', s.nodeAdded], ['one node removed', s.nodeRemoved]] as const) {
      lines.push(`| ${fmt(s.services)} | ${label} (fan-out) | ${fmt(run.calls.total)} | ${fmt(run.calls.throttled)} | ${seconds(run.realMs).toFixed(1)} s | ${formatOps(run.calls)} |`);
    }
    lines.push(`| ${fmt(s.services)} | every Service reconciled again, unchanged | ${fmt(s.unchanged.calls)} | 0 | ${seconds(s.unchanged.realMs).toFixed(1)} s | — |`);
  }

  lines.push('', '### A node change', '', '| Services | change | ELBv2 writes per Service (P = 2) | ELBv2 reads per Service | cluster-wide EC2 calls | Services reconciled | target: exactly P writes, 0 reads | registration bucket floor (AWS time) |', '|---:|---|---:|---:|---:|---|---|---:|');
  for (const s of f.scales) {
    for (const [label, run] of [['added', s.nodeAdded], ['removed', s.nodeRemoved]] as const) {
      const writes = elbv2Writes(run.calls) / s.services;
      const reads = elbv2Reads(run.calls) / s.services;
      const outcomes = outcomesOf(run.results);
      const ok = elbv2Writes(run.calls) === 2 * s.services && elbv2Reads(run.calls) === 0 && outcomes['ensured'] === s.services;
      lines.push(`| ${fmt(s.services)} | one node ${label} | ${writes.toFixed(2)} | ${reads.toFixed(2)} | ${fmt(ec2Calls(run.calls))} | ${Object.entries(outcomes).map(([o, n]) => `${fmt(n)} ${o}`).join(', ')} | ${verdict(ok)} | ${fmt(registrationFloor(elbv2Writes(run.calls)))} s |`);
    }
  }

  const b = f.burst;
  const realS = seconds(b?.run.realMs ?? 0);
  if (b) lines.push(
    '',
    `### A burst of ${fmt(b.services)} Services created at once`,
    '',
    '| Services | converged in (AWS time) | real time | CreateLoadBalancer floor | throttled attempts | of which CreateLoadBalancer | SDK retries | queue deferrals | failures retried | dead letters (target 0) | without hostname |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    `| ${fmt(b.services)} | ${fmt(realS * S)} s (${(realS * S / 3600).toFixed(1)} h) | ${realS.toFixed(1)} s | ${fmt(b.floorSeconds)} s | ${fmt(b.run.calls.throttled)} | ${fmt(b.createThrottled)} | ${fmt(b.run.retries)} | ${fmt(b.run.deferrals)} | ${fmt(b.run.failures)} | ${b.run.deadLetters} (${verdict(b.run.deadLetters === 0)}) | ${b.withoutHostname} |`,
    '',
    `Calls of the burst: ${fmt(b.run.calls.total)} (${(b.run.calls.total / b.services).toFixed(1)} per Service): ${formatOps(b.run.calls)}.`,
  );

  lines.push('', '### Unchanged Services between resyncs', '');
  for (const s of f.scales) {
    lines.push(`- ${fmt(s.services)} Services reconciled again (quick reconciles, as a missed event queues them): ${Object.entries(s.unchanged.outcomes).map(([o, n]) => `${fmt(n)} ${o}`).join(', ')}; **${s.unchanged.calls} AWS calls** (${verdict(s.unchanged.calls === 0 && s.unchanged.logged === 0)} the target of 0), ${seconds(s.unchanged.realMs).toFixed(1)} s. The resync queued no reconcile for them either (changed 0, drifted 0).`);
  }

  lines.push(
    '',
    '### How each figure was measured',
    '',
    `- **Calls** are what the emulator's throttling buckets admitted, by service and operation (\`throttling.stats()\`, reset before each measurement): one per API call that reached the service, whether it succeeded or not; a refused attempt counts as a *throttled attempt* instead (the SDK retries it). Buckets are full at the start of each measurement (a fresh account), and no other client uses them.`,
    `- **Sweep** = every AWS call one \`resync()\` makes, with every Service converged: the inventory (DescribeLoadBalancers and DescribeTargetGroups 400 per page, the cluster's security groups by one tag filter, ownership through the tagging API's GetResources 100 per page or through ELBv2 DescribeTags 20 ARNs per call), then gc and the backend sweep from the same inventory. Each resync is checked to find every Service in sync (nothing changed, drifted, refused or collected). The measured resyncs follow the world's first, which is not counted: it also settles once what seeding left (${f.scales.flatMap((s) => (s.warmUp ? [`${fmt(s.services)} Services: ${fmt(s.warmUp.total)} calls, ${formatOps(s.warmUp)}`] : [])).join('; ')}). *Per 10 Services* = sweep calls × 10 ÷ Services. *All ELBv2 reads/s* = the tagging sweep's ELBv2 reads ÷ the interval + the deep checks' average: what ferry takes from the account's 10/s read bucket.`,
    `- **Deep checks** = the Services the (tagging) resync queued as this interval's share (interval ${NOW}), run as the workers run them (\`processWork\`, full reconciles), without waiting out their delays (queued with delays from 0 to ${f.scales.map((s) => `${s.deep.maxDelaySeconds} s`).join(' / ')}, which pace the reads and do not change them). Each found nothing to do. *Window* = \`deep.windowSeconds\`; the *window's deep-check ELBv2 reads* = \`deepCheckReads\` summed over every converged Service (the schedule's own estimate; the measured reads of one interval are shown next to its planned figure). *Average ELBv2 reads/s* = window reads ÷ window seconds. EC2 reads of the deep checks (subnets, security groups, the nodes' instances) are on EC2's buckets, not the ELBv2 budget.`,
    `- **Node change** = one Node created (an instance launched for it beforehand, not counted) or deleted, then one fan-out message through \`ferry controller\`'s queue (\`MemoryWorkQueue\`, ${WORKERS} workers, \`processWork\`): every Service's reconcile and \`nodesChanged\` once. Per Service = ELBv2 calls ÷ Services; the EC2 calls are \`nodesChanged\`'s, once for the cluster. The *registration bucket floor* is the AWS time ELBv2's registration bucket (20 at once, then 4 per second) needs for those calls, however fast ferry sends them: the node change's own duration on AWS.`,
    `- **Burst** = ${fmt(BURST)} Services created in the API server, then one Service message each (as the webhook sends them) into \`ferry controller\`'s queue (${WORKERS} workers, \`processWork\`), in a fresh account; *converged* = from sending until the queue is idle, then every Service is checked to have its NLB's DNS name in status. AWS time = real time × ${S}; the buckets refill ${S}× faster and every wait on ferry's side is ${S}× shorter: the SDK's backoff (${100 / S} ms doubling to ${20_000 / S} ms, ${8} attempts), the queue's (${1000 / S} ms doubling to ${300_000 / S} ms) and a throttled reconcile's retry-after (10 s → ${10_000 / S} ms). Real time includes the emulators' and ferry's CPU time on this machine, so the AWS time is an upper bound; the floor is what the CreateLoadBalancer bucket alone allows (10 at once, then 1 per 5 s). *Throttled attempts* = the buckets' refusals, *SDK retries* = attempts beyond each call's first, *deferrals* = messages the queue put back because a reconcile stayed throttled through the SDK's attempts (they count toward no limit), *dead letters* = \`queue.deadLetters\`.`,
    `- **Unchanged** = every Service reconciled again through \`processWork\` without \`full\` (what a missed or repeated event costs): the emulator answered no call (its call log stays empty).`,
    `- **Worlds**: ${f.scales.map((s) => `${fmt(s.services)} Services seeded by ${s.seededBy}${s.seedMs > 0 ? ` in ${seconds(s.seedMs).toFixed(0)} s` : ''}`).join('; ')}. One emulator account per world, ${NODES} instances and Nodes, one VPC with 3 zones. 10,000 two-port Services need 20,000 NodePorts, more than the default range's 2,768: the API server's \`--service-node-port-range\` is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max} and ferry's \`nodePortRange\` says the same. The Services beyond the burst were made with throttling suspended by ferry's own planner and apply, without the per-Service reads (identical for every new Service: read once), and the record, status and checkpoint the reconcile writes: the resync then finds every one of them in sync and the deep checks find nothing to do.`,
    `- Section wall time: ${fmt(seconds(f.wallMs))} s.`,
  );
  return lines.join('\n');
}

export const sections: Section[] = [
  {
    name: 'fleet',
    title: 'Fleet scale: AWS calls per resync, node change and burst, with throttling (issue 12)',
    async run() {
      return formatFleet(await measureFleet());
    },
  },
];
