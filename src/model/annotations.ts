import * as z from 'zod/mini';
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors';
import {
  LISTENER_ATTRIBUTES,
  LOAD_BALANCER_ATTRIBUTES,
  TARGET_GROUP_ATTRIBUTES,
  attributeProblems,
  type AttributeRule,
} from './attributes';
import {
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS_PER_RESOURCE,
  TAG_CHARACTERS,
  isForeignOwnershipTag,
} from './limits';
import { OWNERSHIP_KEYS } from './tags';
import { resolveAliases, warningsOf, type Origin, type ServiceShape } from './alias-resolution';
import { CONTROLLER_NAMES } from './aliases';

/** ferry's ownership tags share AWS's per-resource allowance with the user's. */
const MAX_ADDITIONAL_TAGS = MAX_TAGS_PER_RESOURCE - OWNERSHIP_KEYS.length;

/**
 * The `ferry.io/` annotations: one zod schema that is the single source of truth for the
 * webhook's denials, the model builder and the README's table (`annotationDocs()`).
 *
 * Values are strings on the wire; each field parses its string into the typed value the
 * model builder uses. Defaults that depend on other inputs (the nodes, the traffic policy)
 * are applied by the model builder, not here.
 */
export const ANNOTATION_PREFIX = 'ferry.io/';

interface Doc {
  /** What a valid value looks like, used in error messages and the docs table. */
  accepted: string;
  description: string;
  default?: string;
}

// zod/mini rather than zod: the same schema engine at a fraction of the bundle size, which
// matters to the webhook's cold start.
const docs = z.registry<Doc>();

function annotation<T extends z.ZodMiniType>(schema: T, doc: Doc) {
  const field = z.optional(schema);
  docs.add(field, doc);
  return field;
}

/** string → T by a function, then checked by a schema. */
function parsed<M, O>(from: z.ZodMiniType<string, string>, map: (v: string) => M, to: z.ZodMiniType<O, M>): z.ZodMiniType<O, string> {
  // zod's pipe typing goes through Awaited<M>, which generic M cannot satisfy; the runtime shapes do.
  return z.pipe(z.pipe(from, z.transform(map)), to as never) as unknown as z.ZodMiniType<O, string>;
}

const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const list = z.pipe(z.string(), z.transform(splitList));

function listOf(item: z.ZodMiniType<string, string>, min = 1, max = 1000) {
  return parsed(z.string(), splitList, z.array(item).check(z.minLength(min), z.maxLength(max)));
}

function integer(min: number, max: number) {
  return parsed(z.string().check(z.regex(/^\s*\d+\s*$/)), Number, z.number().check(z.int(), z.gte(min), z.lte(max)));
}

const bool = z.pipe(z.enum(['true', 'false']), z.transform((v) => v === 'true'));

const upper = <T extends readonly [string, ...string[]]>(values: T) => parsed(z.string(), (v) => v.trim().toUpperCase(), z.enum(values));

const keyValues = z.pipe(list, z.transform((items: string[], ctx) => {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (key.length === 0) {
      ctx.issues.push({ code: 'custom', message: `"${item}" has no key; write key=value`, input: item });
      return z.NEVER;
    }
    out[key] = value;
  }
  return out;
}));

/** AWS: 1–32 alphanumerics or hyphens, no hyphen at either end, not starting with `internal-`. */
export const LOAD_BALANCER_NAME = /^(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/;

/** An NLB to adopt: its name, or its ARN (whose `loadbalancer/net/<name>/<id>` gives the name). */
const ADOPTABLE = /^((?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?|arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/net\/[A-Za-z0-9-]{1,32}\/[0-9a-f]+)$/;

/** The name of the NLB that `ferry.io/adopt-load-balancer` names. */
export function adoptedName(value: string): string {
  return /:loadbalancer\/net\/([^/]+)\//.exec(value)?.[1] ?? value;
}

const portSelector = listOf(z.string().check(z.regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?|\d{1,5})$/)));

const refined = <T extends z.ZodMiniType>(schema: T, ...rules: Array<[(v: z.output<T>) => boolean, string]>) =>
  schema.check(...rules.map(([ok, message]) => z.refine<z.output<T>>(ok, { message })));

/** `key=value` pairs of AWS-documented attributes, each key and value checked. */
const attributes = <C>(rules: readonly AttributeRule<C>[]) =>
  keyValues.check(
    z.superRefine((values: Record<string, string>, ctx) => {
      for (const message of attributeProblems(rules, values)) ctx.issues.push({ code: 'custom', message, input: values });
    }),
  );

/** An address checked by node:net; the refusal reads like the other annotations' ("expected …"). */
const address = (valid: (v: string) => boolean, accepted: string) => z.string().check(z.refine((v) => valid(v), { message: `expected ${accepted}` }));
const IPV4_ADDRESSES = 'comma-separated IPv4 addresses, one inside each subnet';
const IPV6_ADDRESSES = 'comma-separated IPv6 addresses, one inside each subnet';

const keysOf = (rules: readonly AttributeRule<unknown>[]) => rules.map((r) => `\`${r.key}\``).join(', ');

const shape = {
  'ferry.io/scheme': annotation(z.enum(['internal', 'internet-facing']), {
    accepted: '`internal` or `internet-facing`',
    default: 'internal',
    description: 'Whether the NLB has public addresses. Changing it replaces the NLB (new one first).',
  }),
  'ferry.io/target-type': annotation(z.enum(['instance', 'ip']), {
    accepted: '`instance` or `ip`',
    default: '`instance` when every eligible node has an AWS providerID, else `ip`',
    description: 'Register nodes by instance ID or by InternalIP. Changing it replaces the target groups.',
  }),
  'ferry.io/subnets': annotation(listOf(z.string()), {
    accepted: 'comma-separated subnet IDs (`subnet-…`) or subnet Name tags',
    default: 'discovered by the `kubernetes.io/role/elb` or `kubernetes.io/role/internal-elb` tag plus `kubernetes.io/cluster/<cluster>`, one per AZ',
    description: 'The subnets of the NLB, at most one per Availability Zone.',
  }),
  'ferry.io/healthcheck-protocol': annotation(upper(['TCP', 'HTTP', 'HTTPS'] as const), {
    accepted: '`TCP`, `HTTP` or `HTTPS`',
    default: 'HTTP',
    description: 'Health check protocol of every target group.',
  }),
  'ferry.io/healthcheck-port': annotation(
    z.union([z.literal('traffic-port'), integer(1, 65535)]),
    {
      accepted: '`traffic-port` or a port number from 1 to 65535',
      default: 'healthCheckNodePort (externalTrafficPolicy Local) or 10256, the node agent',
      description: 'Port the health check connects to on each target.',
    },
  ),
  'ferry.io/healthcheck-path': annotation(z.string().check(z.regex(/^\/[\x21-\x7e]{0,1023}$/)), {
    accepted: 'an HTTP path starting with `/`, at most 1024 printable characters',
    default: '/healthz',
    description: 'Path of HTTP and HTTPS health checks.',
  }),
  'ferry.io/healthcheck-interval': annotation(integer(5, 300), {
    accepted: 'whole seconds from 5 to 300',
    default: '10',
    description: 'Seconds between health checks of one target.',
  }),
  'ferry.io/healthcheck-timeout': annotation(integer(2, 120), {
    accepted: 'whole seconds from 2 to 120, less than the interval',
    default: '6',
    description: 'Seconds after which a health check without an answer fails.',
  }),
  'ferry.io/healthcheck-healthy-threshold': annotation(integer(2, 10), {
    accepted: 'a whole number from 2 to 10',
    default: '2',
    description: 'Consecutive successes before a target counts as healthy.',
  }),
  'ferry.io/healthcheck-unhealthy-threshold': annotation(integer(2, 10), {
    accepted: 'a whole number from 2 to 10',
    default: '2',
    description: 'Consecutive failures before a target counts as unhealthy.',
  }),
  'ferry.io/healthcheck-success-codes': annotation(
    parsed(
      z.string().check(z.regex(/^\s*[2-5]\d\d(\s*-\s*[2-5]\d\d)?(\s*,\s*[2-5]\d\d(\s*-\s*[2-5]\d\d)?)*\s*$/)),
      (v) => v.replace(/\s+/g, ''),
      refined(z.string(), [(v) => v.split(',').every(validCodeRange), 'codes must lie between 200 and 599, ranges low-high']),
    ),
    {
      accepted: 'HTTP codes from 200 to 599 as `200`, `200,204` or `200-399`',
      default: '200-399',
      description: 'HTTP codes a healthy target answers with (HTTP and HTTPS health checks).',
    },
  ),
  'ferry.io/proxy-protocol': annotation(portSelector, {
    accepted: '`*` or comma-separated port names or numbers',
    description: 'Send the PROXY protocol v2 header to targets of these ports.',
  }),
  'ferry.io/cross-zone': annotation(bool, {
    accepted: '`true` or `false`',
    default: 'false',
    description: 'Cross-zone load balancing of the NLB.',
  }),
  'ferry.io/deregistration-delay': annotation(integer(0, 3600), {
    accepted: 'whole seconds from 0 to 3600',
    default: '300',
    description: 'How long a removed node keeps its established connections.',
  }),
  'ferry.io/ssl-cert': annotation(
    listOf(z.string().check(z.regex(/^arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate|server-certificate)\/.+$/))),
    {
      accepted: 'comma-separated ACM or IAM certificate ARNs',
      description: 'Terminate TLS on the NLB with these certificates (the first is the default).',
    },
  ),
  'ferry.io/ssl-ports': annotation(portSelector, {
    accepted: '`*` or comma-separated port names or numbers',
    default: '`*` (every TCP port) when `ferry.io/ssl-cert` is set',
    description: 'Which TCP ports get TLS listeners.',
  }),
  'ferry.io/ssl-negotiation-policy': annotation(z.string().check(z.regex(/^ELBSecurityPolicy-[A-Za-z0-9-]+$/)), {
    accepted: 'an ELB security policy name such as `ELBSecurityPolicy-TLS13-1-2-2021-06`',
    default: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    description: 'TLS negotiation policy of the TLS listeners.',
  }),
  'ferry.io/additional-tags': annotation(
    refined(
      keyValues,
      [(tags) => !Object.keys(tags).some((k) => k.startsWith(ANNOTATION_PREFIX)), "keys under ferry.io/ are ferry's ownership tags and cannot be set"],
      [(tags) => !Object.keys(tags).some((k) => k.toLowerCase().startsWith('aws:')), 'keys starting with aws: are reserved by AWS'],
      [(tags) => Object.entries(tags).every(([k, v]) => k.length <= MAX_TAG_KEY_LENGTH && v.length <= MAX_TAG_VALUE_LENGTH), `tag keys may have at most ${MAX_TAG_KEY_LENGTH} characters and values ${MAX_TAG_VALUE_LENGTH}`],
      [(tags) => Object.entries(tags).every(([k, v]) => TAG_CHARACTERS.test(k) && TAG_CHARACTERS.test(v)), 'AWS allows only letters, digits, spaces and _ . : / = + - @ in tags'],
      [(tags) => Object.keys(tags).length <= MAX_ADDITIONAL_TAGS, `at most ${MAX_ADDITIONAL_TAGS} tags: AWS allows ${MAX_TAGS_PER_RESOURCE} per resource and ferry's ownership tags take ${OWNERSHIP_KEYS.length}`],
      [(tags) => !Object.keys(tags).some(isForeignOwnershipTag), "keys that other controllers use to claim resources (elbv2.k8s.aws/, service.k8s.aws/, kubernetes.io/cluster/, …) would make them take ferry's resources for theirs"],
    ),
    {
      accepted: `comma-separated \`key=value\` pairs, at most ${MAX_ADDITIONAL_TAGS}, in AWS's tag characters; keys not under \`ferry.io/\`, \`aws:\` or another controller's ownership prefix`,
      description: 'Extra tags on every AWS resource ferry creates for the Service.',
    },
  ),
  'ferry.io/security-groups': annotation(listOf(z.string().check(z.regex(/^sg-[0-9a-f]{8,17}$/)), 1, 5), {
    accepted: '1 to 5 comma-separated security group IDs (`sg-…`)',
    default: 'a security group ferry creates and manages for the Service',
    description: 'Bring your own security groups for the NLB; ferry then manages none.',
  }),
  'ferry.io/ip-address-type': annotation(z.enum(['ipv4', 'dualstack']), {
    accepted: '`ipv4` or `dualstack`',
    default: 'ipv4',
    description: 'Address family of the NLB.',
  }),
  'ferry.io/deletion-protection': annotation(bool, {
    accepted: '`true` or `false`',
    default: 'false',
    description: 'While true, ferry refuses to delete the NLB (remove it to let the Service go).',
  }),
  'ferry.io/target-node-labels': annotation(
    refined(keyValues, [(labels) => Object.keys(labels).length > 0, 'name at least one label']),
    {
      accepted: 'comma-separated `key=value` (or bare `key` for "has the label")',
      description: 'Register only nodes carrying all of these labels.',
    },
  ),
  'ferry.io/name': annotation(z.string().check(z.regex(LOAD_BALANCER_NAME)), {
    accepted: '1–32 letters, digits or hyphens, not starting or ending with a hyphen nor starting with `internal-`',
    default: '`k8s-<namespace>-<name>-<hash>`',
    description: 'Explicit NLB name. ferry refuses a name whose NLB belongs to another Service.',
  }),
  'ferry.io/adopt-load-balancer': annotation(z.string().check(z.regex(ADOPTABLE)), {
    accepted: 'the name or ARN of an existing Network Load Balancer (`arn:aws:elasticloadbalancing:…:loadbalancer/net/<name>/<id>`)',
    description:
      "Take over an existing NLB (the AWS Load Balancer Controller's or the cloud provider's), keeping its DNS name and addresses: ferry tags it, builds its own target groups, warms them up on a spare listener, repoints the listeners in place once a target is healthy, then removes the old target groups. Needs the one-time IAM step in infra/README.md, or the NLB tagged by hand.",
  }),
  'ferry.io/load-balancer-attributes': annotation(attributes(LOAD_BALANCER_ATTRIBUTES), {
    accepted: `comma-separated \`key=value\` of the NLB attributes AWS documents: ${keysOf(LOAD_BALANCER_ATTRIBUTES)}`,
    default: "AWS's default of each attribute",
    description: 'Load balancer attributes (access logs, DNS client routing, zonal shift, …). `ferry.io/cross-zone` and `ferry.io/deletion-protection` may not disagree with them.',
  }),
  'ferry.io/target-group-attributes': annotation(attributes(TARGET_GROUP_ATTRIBUTES), {
    accepted: `comma-separated \`key=value\` of the NLB target group attributes AWS documents: ${keysOf(TARGET_GROUP_ATTRIBUTES)}`,
    default: "AWS's default of each attribute",
    description: "Attributes of every target group (client IP preservation, connection termination, …). The named annotations and the Service's session affinity may not disagree with them.",
  }),
  'ferry.io/listener-attributes': annotation(attributes(LISTENER_ATTRIBUTES), {
    accepted: `comma-separated \`key=value\`: ${keysOf(LISTENER_ATTRIBUTES)} (60–6000)`,
    default: "AWS's (350 s idle timeout); removing the annotation leaves the listeners as they are",
    description: 'Attributes of every TCP listener (the TCP idle timeout).',
  }),
  'ferry.io/eip-allocations': annotation(listOf(z.string().check(z.regex(/^eipalloc-[0-9a-f]{8,17}$/)), 1, 6), {
    accepted: 'comma-separated Elastic IP allocation IDs (`eipalloc-…`), one per subnet, in the order of the subnets\' Availability Zones',
    description: 'Fixed public addresses of an internet-facing NLB. Changing them replaces the NLB (new one first).',
  }),
  'ferry.io/private-ipv4-addresses': annotation(listOf(address(isIPv4, IPV4_ADDRESSES), 1, 6), {
    accepted: IPV4_ADDRESSES,
    description: 'Fixed private addresses of an internal NLB. Changing them replaces the NLB (new one first).',
  }),
  'ferry.io/ipv6-addresses': annotation(listOf(address(isIPv6, IPV6_ADDRESSES), 1, 6), {
    accepted: IPV6_ADDRESSES,
    description: 'Fixed IPv6 addresses of a dualstack NLB. Changing them replaces the NLB (new one first).',
  }),
  'ferry.io/alpn-policy': annotation(z.enum(['HTTP1Only', 'HTTP2Only', 'HTTP2Optional', 'HTTP2Preferred', 'None']), {
    accepted: '`HTTP1Only`, `HTTP2Only`, `HTTP2Optional`, `HTTP2Preferred` or `None`',
    default: 'None',
    description: 'ALPN policy of the TLS listeners.',
  }),
  'ferry.io/backend-protocol': annotation(parsed(z.string(), (v) => v.trim().toLowerCase(), z.enum(['tcp', 'tls'])), {
    accepted: '`tcp` or `tls`',
    default: 'tcp',
    description: 'Protocol from the NLB to the nodes for TLS listeners: `tls` re-encrypts. Changing it replaces the target groups.',
  }),
  'ferry.io/manage-backend-security-group-rules': annotation(bool, {
    accepted: '`true` or `false`',
    default: 'true',
    description: "Open the nodes' security groups to the NLB (from ferry's backend security group). `false` for clusters that manage these rules themselves.",
  }),
  'ferry.io/ipvs-scheduler': annotation(z.enum(['rr', 'lc', 'dh', 'sh', 'sed', 'nq']), {
    accepted: '`rr`, `lc`, `dh`, `sh`, `sed` or `nq`',
    default: "the node agent's `--scheduler` (rr)",
    description: 'Node agent, ipvs and userspace modes: how connections are spread over endpoints.',
  }),
} as const;

export const annotationsSchema = z.strictObject(shape).check(z.superRefine((a, ctx) => {
  const interval = a['ferry.io/healthcheck-interval'] ?? 10;
  const timeout = a['ferry.io/healthcheck-timeout'];
  if (timeout != null && timeout >= interval) {
    ctx.addIssue({
      code: 'custom',
      path: ['ferry.io/healthcheck-timeout'],
      message: `must be less than the interval (${interval}s)`,
    });
  }
  if (a['ferry.io/ssl-ports'] && !a['ferry.io/ssl-cert']) {
    ctx.addIssue({ code: 'custom', path: ['ferry.io/ssl-ports'], message: 'needs ferry.io/ssl-cert as well' });
  }
  if (a['ferry.io/ssl-negotiation-policy'] && !a['ferry.io/ssl-cert']) {
    ctx.addIssue({
      code: 'custom',
      path: ['ferry.io/ssl-negotiation-policy'],
      message: 'needs ferry.io/ssl-cert as well',
    });
  }
  for (const key of ['ferry.io/alpn-policy', 'ferry.io/backend-protocol'] as const) {
    if (a[key] !== undefined && !a['ferry.io/ssl-cert']) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'applies to TLS listeners: needs ferry.io/ssl-cert as well' });
    }
  }
  const scheme = a['ferry.io/scheme'] ?? 'internal';
  if (a['ferry.io/eip-allocations'] && scheme !== 'internet-facing') {
    ctx.addIssue({ code: 'custom', path: ['ferry.io/eip-allocations'], message: 'Elastic IPs need ferry.io/scheme=internet-facing' });
  }
  if (a['ferry.io/private-ipv4-addresses'] && scheme !== 'internal') {
    ctx.addIssue({ code: 'custom', path: ['ferry.io/private-ipv4-addresses'], message: 'private addresses are for internal NLBs: remove ferry.io/scheme=internet-facing or use ferry.io/eip-allocations' });
  }
  if (a['ferry.io/ipv6-addresses'] && a['ferry.io/ip-address-type'] !== 'dualstack') {
    ctx.addIssue({ code: 'custom', path: ['ferry.io/ipv6-addresses'], message: 'IPv6 addresses need ferry.io/ip-address-type=dualstack' });
  }
  const adopt = a['ferry.io/adopt-load-balancer'];
  if (adopt !== undefined) {
    if (a['ferry.io/name'] !== undefined && a['ferry.io/name'] !== adoptedName(adopt)) {
      ctx.addIssue({ code: 'custom', path: ['ferry.io/name'], message: `differs from the load balancer ferry.io/adopt-load-balancer names (${adoptedName(adopt)}); remove one of the two` });
    }
    for (const key of ['ferry.io/eip-allocations', 'ferry.io/private-ipv4-addresses', 'ferry.io/ipv6-addresses'] as const) {
      if (a[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: "an adopted load balancer keeps its addresses (AWS sets them only at creation); remove it" });
    }
  }
  const lb = a['ferry.io/load-balancer-attributes'] ?? {};
  const named: Array<[AnnotationKey, string, string | undefined]> = [
    ['ferry.io/cross-zone', 'load_balancing.cross_zone.enabled', a['ferry.io/cross-zone']?.toString()],
    ['ferry.io/deletion-protection', 'deletion_protection.enabled', a['ferry.io/deletion-protection']?.toString()],
  ];
  for (const [key, attribute, value] of named) {
    if (value !== undefined && lb[attribute] !== undefined && lb[attribute] !== value) {
      ctx.addIssue({ code: 'custom', path: ['ferry.io/load-balancer-attributes'], message: `sets ${attribute}=${lb[attribute]} but ${key} says ${value}; keep one of the two` });
    }
  }
  if (lb['access_logs.s3.enabled'] === 'true' && !lb['access_logs.s3.bucket']) {
    ctx.addIssue({ code: 'custom', path: ['ferry.io/load-balancer-attributes'], message: 'access_logs.s3.enabled=true needs access_logs.s3.bucket' });
  }
  const tg = a['ferry.io/target-group-attributes'] ?? {};
  const tgNamed: Array<[AnnotationKey, string]> = [
    ['ferry.io/deregistration-delay', 'deregistration_delay.timeout_seconds'],
    ['ferry.io/proxy-protocol', 'proxy_protocol_v2.enabled'],
  ];
  for (const [key, attribute] of tgNamed) {
    if (a[key] !== undefined && tg[attribute] !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['ferry.io/target-group-attributes'], message: `sets ${attribute}, which ${key} sets too; keep one of the two` });
    }
  }
  if (a['ferry.io/healthcheck-protocol'] === 'TCP') {
    for (const key of ['ferry.io/healthcheck-path', 'ferry.io/healthcheck-success-codes'] as const) {
      if (a[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'applies to HTTP and HTTPS health checks only' });
      }
    }
  }
}));

export type Annotations = z.output<typeof annotationsSchema>;
export type AnnotationKey = keyof typeof shape;

function validCodeRange(range: string): boolean {
  const [low, high = low] = range.split('-').map(Number) as [number, number?];
  return low >= 200 && high <= 599 && low <= high;
}

/**
 * Parses the effective `ferry.io/` annotations of a Service: its own, then its LBC and CPA
 * aliases (alias-resolution.ts), then the defaults of the controller its type annotation
 * names. The Service's ports and traffic policy take part (a named health-check port, those
 * defaults). Throws a {@link ConfigError} whose message names each bad annotation as the
 * Service spells it, its value and what is accepted.
 */
export function parseAnnotations(all: Record<string, string> | undefined, service?: ServiceShape): Annotations {
  const { problems, effective } = review(all, Object.keys(all ?? {}), service);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return annotationsSchema.parse(effective);
}

/**
 * The problems with a Service's `ferry.io/` annotations and their aliases, one sentence
 * each; empty if valid. At most {@link MAX_PROBLEM_BYTES} of them, then one saying how many
 * were left out: a Service may hold thousands of unknown keys, and its deny message or Event
 * must stay small.
 */
export function validateAnnotations(
  all: Readonly<Record<string, unknown>> | undefined,
  /** `Object.keys(all)`, when the caller has it already: on 20,000 keys it costs milliseconds. */
  keys: readonly string[] = Object.keys(all ?? {}),
  service?: ServiceShape,
): string[] {
  return review(all, keys, service).problems;
}

/**
 * {@link validateAnnotations}, and the warnings about the LBC and CPA annotations ferry does
 * not honour as written: the webhook's one pass over a Service's annotations.
 */
export function reviewAnnotations(
  all: Readonly<Record<string, unknown>> | undefined,
  keys: readonly string[] = Object.keys(all ?? {}),
  service?: ServiceShape,
): { problems: string[]; warnings: string[] } {
  const { problems, warnings } = review(all, keys, service);
  return { problems, warnings };
}

function review(
  all: Readonly<Record<string, unknown>> | undefined,
  keys: readonly string[],
  service: ServiceShape | undefined,
): { problems: string[]; effective: Record<string, string>; warnings: string[] } {
  // Unknown keys are sorted out here in one pass rather than by the strict schema, so that
  // 20,000 of them cost a set lookup each and a few sentences, not 20,000 sentences. The
  // webhook passes annotations as they arrived, hence the check that values are strings.
  const mine: Record<string, string> = {};
  const unknown: string[] = [];
  let unknownCount = 0;
  for (const key of keys) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    if (!KNOWN_KEYS.has(key)) {
      if (++unknownCount <= MAX_UNKNOWN_DESCRIBED) unknown.push(key);
      continue;
    }
    const value = all![key];
    if (typeof value === 'string') mine[key] = value;
  }
  const aliases = resolveAliases(all, { keys, own: mine, service });
  const effective = aliases.effective;
  const result = annotationsSchema.safeParse(effective);
  const problems = aliases.problems.map((p) => `annotation ${clip(p.key)}=${quote(p.value)} is invalid: ${p.detail}`);
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => describeIssue(issue, effective, aliases.origins)));
  if (unknown.length > 0) problems.push(...describeIssue({ code: 'unrecognized_keys', keys: unknown, input: mine, path: [], message: '' }, mine));
  return { problems: capProblems(problems, MAX_PROBLEM_BYTES, unknownCount - unknown.length), effective, warnings: warningsOf(aliases) };
}

/** More unknown keys than fit in a message are counted, not described. */
const MAX_UNKNOWN_DESCRIBED = 200;

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(shape));

/** Bytes of problem sentences kept, so that a whole deny message stays under about 4 KiB. */
export const MAX_PROBLEM_BYTES = 3 * 1024;

/**
 * The first problems that fit in `budget` bytes, then `and N more problems not shown`
 * (counting `undescribed` ones that were never put into words).
 */
export function capProblems(problems: readonly string[], budget = MAX_PROBLEM_BYTES, undescribed = 0): string[] {
  const out: string[] = [];
  let used = 0;
  for (const problem of problems) {
    const size = Buffer.byteLength(problem) + 2;
    if (used + size > budget) {
      // Even a single enormous problem gets named, cut short.
      if (out.length === 0) out.push(`${problem.slice(0, Math.floor(budget / 4))}…`);
      break;
    }
    out.push(problem);
    used += size;
  }
  const left = problems.length - out.length + undescribed;
  if (left > 0) out.push(`and ${left} more problem${left === 1 ? '' : 's'} not shown`);
  return out;
}

/** Unknown keys that get a "did you mean": each costs an edit distance per known key. */
const MAX_SUGGESTIONS = 5;

function describeIssue(issue: z.core.$ZodIssue, values: Record<string, string>, origins?: ReadonlyMap<string, Origin>): string[] {
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(shape);
    let listed = false;
    return issue.keys.map((key, i) => {
      const hint = i < MAX_SUGGESTIONS ? closest(key, known) : undefined;
      if (hint) return `unknown annotation ${clip(key)}: did you mean ${hint}?`;
      // The list of what ferry reads is long; once per message is enough.
      if (listed) return `unknown annotation ${clip(key)}`;
      listed = true;
      return `unknown annotation ${clip(key)}: ferry reads ${known.join(', ')}`;
    });
  }
  const key = String(issue.path[0]);
  const doc = docOf(key as AnnotationKey);
  const detail = issue.code === 'custom' ? `${issue.message}` : `expected ${doc?.accepted ?? 'a valid value'}`;
  return [`${invalid(key, values, origins?.get(key))}: ${detail}`];
}

/** "annotation k=v is invalid", naming what the Service wrote: possibly LBC or CPA aliases. */
function invalid(key: string, values: Record<string, string>, origin: Origin | undefined): string {
  const value = quote(values[key] ?? '');
  if (origin?.kind === 'alias') {
    if (origin.keys.length === 1) return `annotation ${clip(origin.keys[0]!)}=${quote(origin.value)} is invalid`;
    return `annotations ${origin.keys.map(clip).join(', ')} (read as ${key}=${value}) are invalid`;
  }
  if (origin?.kind === 'default') return `annotation ${key}=${value} (the default of ${CONTROLLER_NAMES[origin.controller]}) is invalid`;
  return `annotation ${clip(key)}=${value} is invalid`;
}

/** A value as JSON, its first 60 characters only when longer: enough to recognise it. */
function quote(value: string): string {
  return value.length <= 80 ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)`;
}

function clip(key: string): string {
  return key.length <= 120 ? key : `${key.slice(0, 100)}… (${key.length} characters)`;
}

function docOf(key: AnnotationKey): Doc | undefined {
  const field = shape[key];
  return field ? docs.get(field) : undefined;
}

/** Rows for the README's annotation table, in schema order. */
export function annotationDocs(): Array<{ key: string } & Doc> {
  return (Object.keys(shape) as AnnotationKey[]).map((key) => ({ key, ...(docOf(key) as Doc) }));
}

/** The nearest known key within edit distance 3, to catch typos such as `ferry.io/shceme`. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    // Lengths further apart than the best distance so far rule a candidate out for free.
    if (Math.abs(candidate.length - key.length) >= bestDistance) continue;
    const d = editDistance(key, candidate, bestDistance - 1);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Levenshtein distance if it is at most `bound`, else `bound + 1`. Only a band of width
 * 2·bound+1 around the diagonal can hold such a distance, and a row with nothing within
 * the bound ends the search: O(length × bound) rather than O(length²).
 */
function editDistance(a: string, b: string, bound: number): number {
  const over = bound + 1;
  if (Math.abs(a.length - b.length) > bound) return over;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => Math.min(j, over));
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(over);
    row[0] = Math.min(i, over);
    let best = row[0];
    for (let j = Math.max(1, i - bound); j <= Math.min(b.length, i + bound); j++) {
      row[j] = Math.min(over, prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > bound) return over;
    prev = row;
  }
  return prev[b.length]!;
}
