import { readFile } from 'node:fs/promises';
import { Argument, Command } from '@commander-js/extra-typings';
import type { V1Service } from '@kubernetes/client-node';
import { runCommand } from '../agent/options';
import { ConfigError } from '../errors';
import { resolveAliases, type Fate, type Resolution } from '../model/alias-resolution';
import { CONTROLLER_NAMES, foreignSuffix, foreignType, type Controller } from '../model/aliases';
import { validateAnnotations } from '../model/annotations';
import { CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION } from '../model/record';
import { ADOPT_ANNOTATION, LOAD_BALANCER_CLASS } from '../model/service';
import { environment } from './environment';

/* eslint-disable @typescript-eslint/no-require-imports -- the Kubernetes client is loaded when the command runs, so that --help and usage errors answer at once */

/**
 * `ferry migrate <namespace>/<name> | --file FILE [--class] [--adopt [NAME]]`: a Service
 * rewritten for ferry, as YAML for `kubectl apply -f -`, followed by YAML comments saying
 * what became of each annotation. It changes nothing itself.
 */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand(argv, (exit) =>
    new Command('ferry migrate')
      .description(
        "Print a Service rewritten for ferry: its AWS Load Balancer Controller and cloud-provider annotations as ferry.io/ ones, with the defaults of the controller its aws-load-balancer-type annotation names written out, then (as YAML comments, so the output can go to kubectl apply -f -) what became of each annotation. Reads the Service from the cluster, or from a manifest with --file; changes nothing. Exits 1 when ferry would refuse the Service.",
      )
      .addArgument(new Argument('[service]', 'the Service, as <namespace>/<name> (with --file: which Service of the file)').argParser(serviceKey))
      .option('--file <file>', 'read the Service from this manifest (YAML or JSON, - for standard input) instead of the cluster')
      .option('--class', `also set spec.loadBalancerClass: ${LOAD_BALANCER_CLASS} (Kubernetes takes it only on a new Service: see the notes printed)`)
      .option('--adopt [load-balancer]', "add ferry.io/adopt-load-balancer to keep the NLB that serves the Service now (default: the one its status names)")
      .addHelpText('after', environment(['KUBECONFIG', 'the kubeconfig, read unless --file is given (default: in-cluster, then ~/.kube/config)']))
      .action(async (service, options) => exit(await migrate(service, options))),
  );
}

function serviceKey(text: string): [string, string] {
  const match = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(text);
  if (!match) throw new ConfigError(`<service> ${JSON.stringify(text)} is invalid; accepted: <namespace>/<name> such as default/web`);
  return [match[1]!, match[2]!];
}

interface MigrateOptions {
  file?: string;
  class?: true;
  adopt?: string | true;
}

async function migrate(key: [string, string] | undefined, options: MigrateOptions): Promise<number> {
  if (!key && options.file === undefined) throw new ConfigError('name the Service as <namespace>/<name>, or give a manifest with --file FILE');
  const service = options.file !== undefined ? await fromFile(options.file, key) : await fromCluster(key!);
  const result = rewriteForFerry(service, { setClass: options.class === true, ...(options.adopt !== undefined ? { adopt: options.adopt } : {}) });
  const { dumpYaml } = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  process.stdout.write(`${dumpYaml(result.manifest)}${comments(result, options.file !== undefined ? `--file ${options.file}` : 'the cluster')}`);
  return result.problems.length > 0 ? 1 : 0;
}

async function fromCluster([namespace, name]: [string, string]): Promise<V1Service> {
  const { ClientNodeKubeApi } = require('../kube/api') as typeof import('../kube/api');
  const { loadKubeConfig } = require('../kube/kubeconfig') as typeof import('../kube/kubeconfig');
  const service = await new ClientNodeKubeApi(loadKubeConfig(process.env.KUBECONFIG)).getService(namespace, name);
  if (!service) throw new Error(`Service ${namespace}/${name} not found`);
  return service;
}

async function fromFile(file: string, key: [string, string] | undefined): Promise<V1Service> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' || err.code === 'EISDIR' ? new ConfigError(`--file ${file}: ${err.code === 'ENOENT' ? 'no such file' : 'a directory, not a manifest'}`) : err;
  });
  const { loadAllYaml } = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  let documents: unknown[];
  try {
    // An empty document (a trailing ---) is no object; the client's loader would trip on it.
    documents = text.split(/^---[ \t]*$/m).filter((d) => d.trim() !== '').flatMap((d) => loadAllYaml(d) as unknown[]);
  } catch (err) {
    throw new ConfigError(`--file ${file} is not a YAML or JSON manifest: ${(err as Error).message.split('\n')[0]}`);
  }
  const services = documents.filter((d): d is V1Service => isRecord(d) && d.kind === 'Service');
  const named = (s: V1Service) => `${s.metadata?.namespace ?? 'default'}/${s.metadata?.name ?? ''}`;
  if (key) {
    const found = services.find((s) => named(s) === `${key[0]}/${key[1]}`);
    if (!found) throw new ConfigError(`--file ${file} holds no Service ${key[0]}/${key[1]}${services.length > 0 ? ` (it holds ${services.map(named).join(', ')})` : ''}`);
    return found;
  }
  if (services.length === 1) return services[0]!;
  if (services.length === 0) throw new ConfigError(`--file ${file} holds no Service (kind: Service)`);
  throw new ConfigError(`--file ${file} holds ${services.length} Services (${services.map(named).join(', ')}); name one as <namespace>/<name>`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface Rewrite {
  manifest: V1Service;
  /** Each annotation (and each default written out) and what became of it. */
  rows: Array<[annotation: string, fate: string]>;
  notes: string[];
  /** Why ferry would refuse the Service; empty when it would serve it. */
  problems: string[];
}

/** Left out of the rewrite: the server's bookkeeping, and ferry's record, which only ferry may write. */
const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink'] as const;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const RECORD = new Set([CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION]);
const SOURCE_RANGES = 'load-balancer-source-ranges';
const FOREIGN_FINALIZERS: Readonly<Record<string, Controller>> = { 'service.k8s.aws/resources': 'LBC', 'service.kubernetes.io/load-balancer-cleanup': 'CPA' };

/** The Service as ferry would read it, with nothing left to an alias; pure. */
export function rewriteForFerry(service: V1Service, options: { setClass: boolean; adopt?: string | true }): Rewrite {
  const original = service.metadata?.annotations ?? {};
  const resolution = resolveAliases(original, { service });
  const byKey = new Map<string, Fate>(resolution.fates.map((f) => [f.key, f]));
  const problems = validateAnnotations(original, undefined, service);
  markRefused(resolution, problems);
  const annotations: Record<string, string> = {};
  const rows: Rewrite['rows'] = [];
  const notes: string[] = [];
  const spec: NonNullable<V1Service['spec']> = { ...service.spec };

  for (const [key, value] of Object.entries(original)) {
    const fate = byKey.get(key);
    if (key === LAST_APPLIED) rows.push([key, 'left out: kubectl writes it afresh on apply']);
    else if (RECORD.has(key)) rows.push([key, "left out: ferry's record of what it made, which only ferry writes"]);
    else if (fate) {
      const kept = settle(fate, spec, value);
      if (kept) annotations[key] = value;
      rows.push([key, fateText(fate, resolution)]);
    } else {
      annotations[key] = value;
      rows.push([key, foreignSuffix(key) !== undefined && !key.startsWith('ferry.io/') ? 'kept: ferry does not read it' : 'kept']);
    }
  }
  const written = new Set(Object.keys(original).filter((k) => k.startsWith('ferry.io/')));
  for (const [key, value] of Object.entries(resolution.effective)) {
    const origin = resolution.origins.get(key);
    // A refused alias stays as the Service wrote it, for the user to fix there.
    if (written.has(key) || (origin?.kind === 'alias' && origin.keys.some((k) => byKey.get(k)?.kind === 'invalid'))) continue;
    annotations[key] = value;
    if (origin?.kind === 'default') rows.push([key, `added: ${value}, ${CONTROLLER_NAMES[origin.controller]}'s default (ferry's own differs)`]);
  }

  if (options.adopt !== undefined) adopt(options.adopt, service, annotations, rows);
  if (options.setClass) {
    spec.loadBalancerClass = LOAD_BALANCER_CLASS;
    // A new Service gets its own cluster IPs; keeping the old ones would clash while it exists.
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  notes.push(...classNotes(service, options, resolution.controller));

  const metadata: NonNullable<V1Service['metadata']> = { ...service.metadata, annotations };
  for (const field of SERVER_FIELDS) delete metadata[field];
  const manifest: V1Service = { apiVersion: 'v1', kind: 'Service', metadata, spec };

  if (problems.length === 0) problems.push(...validateAnnotations(annotations, undefined, manifest));
  if (problems.length > 0) notes.push(`ferry would refuse this Service: ${problems.join('; ')}`);
  return { manifest, rows, notes, problems };
}

/**
 * Marks the aliases a refusal names (validateAnnotations words it "annotation <key>=…" or
 * "annotations <key>, …") as invalid, with the detail, so the table says why.
 */
function markRefused(resolution: Resolution, problems: readonly string[]): void {
  for (const fate of resolution.fates) {
    if (fate.kind !== 'mapped' && fate.kind !== 'translated') continue;
    const problem = problems.find((p) => p.startsWith(`annotation ${fate.key}=`) || (p.startsWith('annotations ') && p.split(' (read as ')[0]!.split(/[ ,]+/).includes(fate.key)));
    if (!problem) continue;
    fate.kind = 'invalid';
    resolution.problems.push({ key: fate.key, value: fate.value, detail: problem.slice(problem.indexOf(' invalid: ') + ' invalid: '.length) });
  }
}

/** Moves what belongs in spec there; whether the annotation stays in the rewrite (only an invalid one, to be fixed). */
function settle(fate: Fate, spec: NonNullable<V1Service['spec']>, value: string): boolean {
  if (fate.kind === 'invalid') return true;
  if (foreignSuffix(fate.key) === SOURCE_RANGES && fate.kind === 'ignored') {
    // Kubernetes lets spec.loadBalancerSourceRanges win over the annotation too.
    if (!spec.loadBalancerSourceRanges || spec.loadBalancerSourceRanges.length === 0) {
      spec.loadBalancerSourceRanges = value.split(',').map((s) => s.trim()).filter(Boolean);
      fate.reason = 'moved to spec.loadBalancerSourceRanges';
    } else fate.reason = 'spec.loadBalancerSourceRanges is set and wins';
    fate.kind = 'dropped';
  }
  return false;
}

function fateText(f: Fate, resolution: Resolution): string {
  const warning = f.warning ? ` (${f.warning})` : '';
  switch (f.kind) {
    case 'mapped':
      return `mapped to ${f.ferry}${warning}`;
    case 'translated':
      return `translated to ${f.ferry}=${f.ferryValue}${f.reason ? `; ${f.reason}` : ''}${warning}`;
    case 'overridden':
    case 'dropped':
      return `dropped: ${f.reason}`;
    case 'ignored':
      return `dropped, ferry cannot honour it: ${f.reason?.replace(/^Not honoured: /, '')}`;
    case 'marker': {
      const implied = f.ferry ? `; it also means ${f.ferry}=${f.ferryValue}${warning}` : '';
      if (!resolution.controller) return `removed: it ${f.reason}${implied}`;
      const defaults = resolution.defaults.length > 0 ? `${CONTROLLER_NAMES[resolution.controller]}'s defaults are written out as ferry.io/ annotations` : `${CONTROLLER_NAMES[resolution.controller]}'s defaults match ferry's here`;
      return `removed: it hands an unclassed Service to ${resolution.controller}; ${defaults}${implied}`;
    }
    case 'invalid':
      return `kept, invalid: ${resolution.problems.find((p) => p.key === f.key)?.detail ?? 'see the notes'}`;
  }
}

/** The NLB name an ELB DNS name carries: `[internal-]<name>-<id>.elb.<region>.amazonaws.com`. */
export function loadBalancerNameOf(hostname: string): string | undefined {
  const match = /^(?:internal-)?(.+)-[0-9a-f]+\.elb\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/.exec(hostname);
  return match?.[1];
}

function adopt(given: string | true, service: V1Service, annotations: Record<string, string>, rows: Rewrite['rows']): void {
  let name = given;
  if (name === true) {
    const hostname = service.status?.loadBalancer?.ingress?.[0]?.hostname;
    const derived = hostname ? loadBalancerNameOf(hostname) : undefined;
    if (!derived) {
      throw new ConfigError(
        `--adopt needs the load balancer's name or ARN (--adopt NAME): the Service's status names ${hostname ? `${hostname}, which is not an Elastic Load Balancing DNS name` : 'no load balancer'}`,
      );
    }
    name = derived;
  }
  annotations[ADOPT_ANNOTATION] = name;
  rows.push([ADOPT_ANNOTATION, `added: ${name}, to take over the NLB that serves the Service and keep its DNS name`]);
  // The adopted NLB keeps its name and addresses: AWS sets them only at creation.
  for (const key of ['ferry.io/name', 'ferry.io/eip-allocations', 'ferry.io/private-ipv4-addresses', 'ferry.io/ipv6-addresses']) {
    if (annotations[key] === undefined) continue;
    delete annotations[key];
    rows.push([key, 'left out: an adopted load balancer keeps its name and addresses']);
  }
}

function classNotes(service: V1Service, options: { setClass: boolean; adopt?: string | true }, controller: Controller | undefined): string[] {
  const notes: string[] = [];
  if (service.spec?.type !== 'LoadBalancer') notes.push(`spec.type is ${service.spec?.type ?? 'ClusterIP'}: ferry serves LoadBalancer Services only.`);
  if (options.setClass) {
    notes.push(
      `spec.loadBalancerClass is set to ${LOAD_BALANCER_CLASS}. Kubernetes accepts a class only when a Service is created (or turned into a LoadBalancer): the field is immutable after that, so apply this as a new Service (delete and re-create it, or give it a new name). The new Service gets a new NLB unless it adopts the old one (--adopt).`,
    );
  } else if (service.spec?.loadBalancerClass === undefined) {
    notes.push(
      `spec.loadBalancerClass stays unset: ferry serves the Service as an unclassed one (FERRY_CLAIM_UNCLASSED, on by default) as long as no other controller serves it. --class sets ${LOAD_BALANCER_CLASS}, which Kubernetes takes only on a new Service.`,
    );
  } else if (service.spec.loadBalancerClass !== LOAD_BALANCER_CLASS) {
    notes.push(`spec.loadBalancerClass is ${service.spec.loadBalancerClass}, another controller's: ferry leaves the Service alone. The class cannot be changed on an existing Service; re-create it with --class.`);
  }
  const hostname = service.status?.loadBalancer?.ingress?.[0]?.hostname ?? service.status?.loadBalancer?.ingress?.[0]?.ip;
  const serving = controller ?? (service.metadata?.finalizers ?? []).map((f) => FOREIGN_FINALIZERS[f]).find(Boolean);
  const who = serving ? CONTROLLER_NAMES[serving] : 'another controller';
  if (hostname && options.adopt === undefined && !service.metadata?.finalizers?.includes('ferry.io/load-balancer-cleanup')) {
    notes.push(
      `${who} serves it now at ${hostname}. ferry does not claim a Service another controller serves: to take over that NLB and keep its DNS name, add ${ADOPT_ANNOTATION} (--adopt); see docs/migration.md.`,
    );
  }
  if (options.adopt !== undefined || foreignType(service.metadata?.annotations) !== undefined) {
    notes.push(`Stop ${who} from serving the Service before applying this, or the two controllers fight over it (docs/migration.md).`);
  }
  for (const finalizer of service.metadata?.finalizers ?? []) {
    const owner = FOREIGN_FINALIZERS[finalizer];
    if (owner) notes.push(`metadata.finalizers keeps ${finalizer}: ${CONTROLLER_NAMES[owner]} removes it when it lets the Service go; remove it by hand if that controller is gone.`);
  }
  return notes;
}

/** The table and notes as YAML comments after the manifest. */
function comments(result: Rewrite, source: string): string {
  const width = Math.min(80, Math.max(10, ...result.rows.map(([k]) => k.length)));
  const lines = [
    `ferry migrate, from ${source}. What became of each annotation:`,
    ...(result.rows.length === 0 ? ['  (the Service has no annotations)'] : result.rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)),
    ...(result.notes.length > 0 ? ['', 'Notes:', ...result.notes.map((n) => `  - ${n}`)] : []),
  ];
  return lines.map((l) => (l ? `# ${l}` : '#')).join('\n') + '\n';
}
