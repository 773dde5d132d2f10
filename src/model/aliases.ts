import type { V1Service } from '@kubernetes/client-node';

/**
 * The Service annotations of the AWS Load Balancer Controller (LBC) and of the cloud
 * provider's service controller (CPA, the legacy in-tree AWS provider) that ferry reads as
 * aliases of its own `ferry.io/` annotations, and those it cannot honour: one row per
 * annotation suffix, with the controllers that read it, ferry's equivalent, the value
 * translation where the values differ, and the source each row comes from. The resolution
 * (which row wins, the controllers' defaults) is alias-resolution.ts; the README's
 * comparison table and `ferry migrate` are generated from these rows.
 *
 * Sources, cited by the rows:
 * - LBC: kubernetes-sigs/aws-load-balancer-controller, pkg/annotations/constants.go (the
 *   `SvcLBSuffix*` list), pkg/service/*.go and docs/guide/service/annotations.md
 *   (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/).
 * - CPA: kubernetes/cloud-provider-aws, docs/service_controller.md and
 *   pkg/providers/v1/{aws.go,aws_loadbalancer.go,aws_validations.go}.
 */

export type Controller = 'LBC' | 'CPA';

export const CONTROLLER_NAMES: Readonly<Record<Controller, string>> = {
  LBC: 'the AWS Load Balancer Controller',
  CPA: "the cloud provider's service controller",
};

/**
 * LBC reads both spellings, `service.kubernetes.io/` first when a Service has both (its
 * service annotation parser, pkg/k8s, tested with that prefix order); CPA reads the beta one.
 */
export const FOREIGN_PREFIXES = ['service.kubernetes.io/', 'service.beta.kubernetes.io/'] as const;

/** The suffix that hands an unclassed Service to LBC or CPA. */
export const TYPE_SUFFIX = 'aws-load-balancer-type';

/** LBC's per-listener attributes: `aws-load-balancer-listener-attributes.TCP-80: key=value`. */
export const LISTENER_ATTRIBUTES_SUFFIX = 'aws-load-balancer-listener-attributes';

/** A `ferry.io/` annotation (annotations.ts holds the list; a unit test keeps the two in step). */
export type FerryKey = `ferry.io/${string}`;

/** What a foreign value becomes. */
export type Translation =
  /** The ferry annotation's value; `warning` when ferry honours it differently. */
  | { value: string; warning?: string }
  /** Keys of a `key=value` ferry annotation (several aliases may feed one). */
  | { attributes: Record<string, string> }
  /** No effect here, for LBC and CPA too: why. */
  | { drop: string }
  /** The value cannot be read: what is accepted (worded like the schema's "expected …"). */
  | { problem: string };

/** What a translation may look at besides the value. */
export interface AliasContext {
  /** The controller whose type annotation the Service carries, if any. */
  profile: Controller | undefined;
  /** Another foreign annotation's value by suffix (the winning spelling). */
  get(suffix: string): string | undefined;
  service: Pick<V1Service, 'spec'> | undefined;
}

export interface AliasRow {
  /** After `service.beta.kubernetes.io/` (or LBC's `service.kubernetes.io/`). */
  suffix: string;
  /** How LBC reads it for an NLB ('' as documented), or false when it does not. */
  lbc: string | false;
  /** How CPA reads it for an NLB ('' as documented), or false when it does not. */
  cpa: string | false;
  /** ferry's equivalent; absent when ferry cannot honour it (then `instead` may say what to do). */
  ferry?: FerryKey;
  instead?: string;
  /** Value translation; without one the value passes as it is, through the same schema. */
  translate?: (value: string, context: AliasContext) => Translation;
  /** What differs, or why ferry cannot honour it: for the README and `ferry migrate`. */
  note: string;
  /** A few words for admission warnings and Events, when ferry ignores it (default: the note's gist). */
  warn?: string;
  source: string;
}

const LBC_CONSTANTS = 'LBC pkg/annotations/constants.go';
const LBC_DOCS = 'LBC docs/guide/service/annotations.md';
const LBC_LB = 'LBC pkg/service/model_build_load_balancer.go';
const LBC_TG = 'LBC pkg/service/model_build_target_group.go';
const CPA_DOCS = 'CPA docs/service_controller.md';
const CPA_AWS = 'CPA pkg/providers/v1/aws.go';
const CPA_LB = 'CPA pkg/providers/v1/aws_loadbalancer.go';
const CPA_VALIDATIONS = 'CPA pkg/providers/v1/aws_validations.go';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, which both controllers use for their boolean annotations. */
export function goBool(value: string): boolean | undefined {
  const v = value.trim();
  return GO_TRUE.has(v) ? true : GO_FALSE.has(v) ? false : undefined;
}

const BOOLEAN: Translation = { problem: 'expected `true` or `false`' };
const asBool = (v: string): Translation => {
  const b = goBool(v);
  return b === undefined ? BOOLEAN : { value: String(b) };
};

/** LBC's ParseStringMapAnnotation: `k=v,k2=v2`, spaces trimmed, a bare key meaning the empty value. */
function keyValues(value: string): Translation {
  const out: Record<string, string> = {};
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (!key) return { problem: `"${item}" has no key; write key=value` };
    out[key] = eq < 0 ? '' : item.slice(eq + 1).trim();
  }
  return { attributes: out };
}

const listItems = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

/** LBC: "You can specify a list of port names or port values, `*` does not match any ports". */
function lbcSslPorts(value: string, context: AliasContext): Translation {
  if (context.profile !== 'LBC') return { value };
  const named = listItems(value).filter((p) => p !== '*');
  if (named.length === 0) return { drop: "LBC's `*` matches no port, so LBC makes no TLS listener" };
  return { value: named.join(',') };
}

function sslCert(value: string, context: AliasContext): Translation {
  const ports = context.get('aws-load-balancer-ssl-ports');
  if (context.profile === 'LBC' && ports !== undefined && listItems(ports).every((p) => p === '*')) {
    return { drop: 'aws-load-balancer-ssl-ports names no port for LBC (`*` matches none), so LBC makes no TLS listener' };
  }
  return { value };
}

/** LBC resolves a named health-check port to the Service port's NodePort for instance targets. */
function healthCheckPort(value: string, context: AliasContext): Translation {
  const v = value.trim();
  if (v === 'traffic-port' || /^\d+$/.test(v)) return { value: v };
  const port = context.service?.spec?.ports?.find((p) => p.name === v);
  if (port?.nodePort) return { value: String(port.nodePort) };
  return { problem: 'expected `traffic-port`, a port number, or the name of a Service port that has a NodePort' };
}

/** The access log bucket and prefix count only with logs on, for both controllers. */
function accessLogPart(attribute: string) {
  return (value: string, context: AliasContext): Translation => {
    const enabled = context.get('aws-load-balancer-access-log-enabled');
    if (enabled === undefined || goBool(enabled) !== true) return { drop: 'read only with aws-load-balancer-access-log-enabled=true, by LBC and CPA alike' };
    return { attributes: { [attribute]: value.trim() } };
  };
}

/** A Service annotation ferry has no counterpart for. */
const unsupported = (suffix: string, lbc: string | false, cpa: string | false, note: string, warn: string, source: string): AliasRow => ({
  suffix,
  lbc,
  cpa,
  note,
  warn,
  source,
});

/** Classic ELB settings: CPA reads them for Classic ELBs only, so they do nothing on an NLB anywhere. */
const classicOnly = (suffix: string, equivalent: string): AliasRow =>
  unsupported(suffix, false, 'Classic ELB only', `A Classic ELB setting: CPA does not apply it to NLBs, and neither does ferry.${equivalent}`, 'a Classic ELB setting, no effect on an NLB', `${CPA_DOCS}; ${CPA_AWS} EnsureLoadBalancer (the NLB branch returns before reading it)`);

/**
 * Rows sharing a ferry annotation are in precedence order: the first present one wins
 * (LBC's own order: `scheme` over `internal`, the named access-log annotations over
 * `attributes`).
 */
export const ALIASES: readonly AliasRow[] = [
  {
    suffix: TYPE_SUFFIX,
    lbc: '`external` or `nlb-ip`',
    cpa: '`nlb` (without it: a Classic ELB)',
    note: "Hands an unclassed Service to LBC (`external`, `nlb-ip`) or CPA (`nlb`): ferry leaves such a Service alone (see the claim rule). On a Service that is ferry's (spec.loadBalancerClass: ferry.io/nlb, or ferry.io/adopt-load-balancer) it selects whose defaults fill in what the Service leaves unsaid. `nlb-ip` also means ip targets, as in LBC.",
    source: `LBC pkg/service/service_utils.go checkAWSLoadBalancerTypeAnnotation; ${CPA_LB} isNLB, isLBExternal`,
  },
  {
    suffix: 'aws-load-balancer-scheme',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/scheme',
    note: 'Same values. Wins over aws-load-balancer-internal, as in LBC. CPA does not read it: a Service with its `nlb` marker is internet-facing unless aws-load-balancer-internal says otherwise.',
    source: `${LBC_LB} buildLoadBalancerSchemeViaAnnotation; ${CPA_AWS} EnsureLoadBalancer`,
  },
  {
    suffix: 'aws-load-balancer-internal',
    lbc: 'deprecated; true or false',
    cpa: 'any value but `false` means internal',
    ferry: 'ferry.io/scheme',
    translate: (value, context) => {
      if (context.profile === 'CPA') {
        // CPA: `internalAnnotation == "false"` → internet-facing, any other non-empty value → internal.
        if (value === '') return { drop: 'empty: CPA builds an internet-facing NLB' };
        return { value: value === 'false' ? 'internet-facing' : 'internal' };
      }
      const b = goBool(value);
      return b === undefined ? BOOLEAN : { value: b ? 'internal' : 'internet-facing' };
    },
    note: '`true` → `internal`, `false` → `internet-facing`. With CPA\'s `nlb` marker any value other than `false` means internal, as CPA reads it.',
    source: `${LBC_LB} buildLoadBalancerSchemeLegacyAnnotation; ${CPA_AWS} EnsureLoadBalancer (internalAnnotation)`,
  },
  {
    suffix: 'aws-load-balancer-nlb-target-type',
    lbc: '`instance` or `ip`',
    cpa: false,
    ferry: 'ferry.io/target-type',
    translate: (value) =>
      value.trim() === 'ip'
        ? { value: 'ip', warning: "LBC's ip targets are pods; ferry registers the nodes' IPs on their NodePorts" }
        : { value: value.trim() },
    note: "`instance` is the same. LBC's `ip` registers pod IPs; ferry's `ip` registers the nodes' InternalIPs on the NodePorts, and its node agent carries the traffic on (mapped, with a warning).",
    warn: "ip means node IPs to ferry, pod IPs to LBC",
    source: `${LBC_DOCS} (nlb-target-type); ${LBC_TG} buildTargetGroupPort`,
  },
  {
    suffix: 'aws-load-balancer-name',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/name',
    note: 'Same values. ferry refuses a name whose NLB is not its own: to keep an existing NLB use ferry.io/adopt-load-balancer.',
    source: `${LBC_LB} buildLoadBalancerName`,
  },
  {
    suffix: 'aws-load-balancer-proxy-protocol',
    lbc: '`*` only',
    cpa: false,
    ferry: 'ferry.io/proxy-protocol',
    note: 'Same value `*` (ferry also takes port names or numbers). Wins over proxy_protocol_v2.enabled in aws-load-balancer-target-group-attributes, as in LBC. CPA reads it for Classic ELBs only, so with its `nlb` marker it has no effect.',
    source: `${LBC_TG} buildTargetGroupAttributes; ${CPA_AWS} EnsureLoadBalancer (read after the NLB branch returns)`,
  },
  {
    suffix: 'aws-load-balancer-ip-address-type',
    lbc: '`ipv4` or `dualstack`',
    cpa: 'NLB only',
    ferry: 'ferry.io/ip-address-type',
    note: 'Same values.',
    source: `${LBC_LB} buildLoadBalancerIPAddressType; ${CPA_VALIDATIONS} validateServiceAnnotations`,
  },
  {
    suffix: 'aws-load-balancer-access-log-enabled',
    lbc: 'deprecated',
    cpa: '',
    ferry: 'ferry.io/load-balancer-attributes',
    translate: (value, context) => {
      const b = goBool(value);
      if (b === undefined) return BOOLEAN;
      // LBC adds the attribute only for true; CPA writes false explicitly.
      if (!b && context.profile === 'LBC') return { drop: 'LBC sets no attribute for false' };
      return { attributes: { 'access_logs.s3.enabled': String(b) } };
    },
    note: 'Becomes access_logs.s3.enabled in ferry.io/load-balancer-attributes; wins over the same key in aws-load-balancer-attributes, as in LBC.',
    source: `${LBC_LB} getAnnotationSpecificLbAttributes; ${CPA_LB} reconcileLBAttributes`,
  },
  {
    suffix: 'aws-load-balancer-access-log-s3-bucket-name',
    lbc: 'deprecated',
    cpa: '',
    ferry: 'ferry.io/load-balancer-attributes',
    translate: accessLogPart('access_logs.s3.bucket'),
    note: 'Becomes access_logs.s3.bucket in ferry.io/load-balancer-attributes, with access logs on only.',
    source: `${LBC_LB} getAnnotationSpecificLbAttributes; ${CPA_LB} reconcileLBAttributes`,
  },
  {
    suffix: 'aws-load-balancer-access-log-s3-bucket-prefix',
    lbc: 'deprecated',
    cpa: '',
    ferry: 'ferry.io/load-balancer-attributes',
    translate: accessLogPart('access_logs.s3.prefix'),
    note: 'Becomes access_logs.s3.prefix in ferry.io/load-balancer-attributes, with access logs on only.',
    source: `${LBC_LB} getAnnotationSpecificLbAttributes; ${CPA_LB} reconcileLBAttributes`,
  },
  {
    suffix: 'aws-load-balancer-attributes',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/load-balancer-attributes',
    translate: keyValues,
    note: 'Same `key=value` list, checked against the attributes AWS documents. The named annotations (access logs, cross-zone) win over the same keys here, as in LBC.',
    source: `${LBC_LB} getLoadBalancerAttributes, buildLoadBalancerAttributes`,
  },
  classicOnly('aws-load-balancer-access-log-emit-interval', ''),
  {
    suffix: 'aws-load-balancer-cross-zone-load-balancing-enabled',
    lbc: 'deprecated',
    cpa: '',
    ferry: 'ferry.io/cross-zone',
    translate: asBool,
    note: 'Same meaning (Go booleans such as `1` or `True` are read as true). Wins over load_balancing.cross_zone.enabled in aws-load-balancer-attributes, as in LBC.',
    source: `${LBC_LB} getAnnotationSpecificLbAttributes; ${CPA_LB} reconcileLBAttributes`,
  },
  {
    suffix: 'aws-load-balancer-ssl-cert',
    lbc: 'a list; the first is the default',
    cpa: 'one ARN',
    ferry: 'ferry.io/ssl-cert',
    translate: sslCert,
    note: 'Same list of ACM or IAM certificate ARNs. Without aws-load-balancer-ssl-negotiation-policy the TLS listeners get ELBSecurityPolicy-2016-08, the policy LBC and CPA leave them with (ferry\'s own default is ELBSecurityPolicy-TLS13-1-2-2021-06).',
    source: `${LBC_DOCS} (ssl-cert, ssl-negotiation-policy); ${CPA_AWS} EnsureLoadBalancer; AWS: the API's default TLS policy is ELBSecurityPolicy-2016-08`,
  },
  {
    suffix: 'aws-load-balancer-ssl-ports',
    lbc: 'names or numbers; `*` matches none',
    cpa: '`*` or names or numbers',
    ferry: 'ferry.io/ssl-ports',
    translate: lbcSslPorts,
    note: "Same list. With LBC's marker `*` matches no port, as LBC documents; elsewhere `*` means every TCP port, as for CPA and ferry. No effect without a certificate.",
    source: `${LBC_DOCS} (ssl-ports); ${CPA_AWS} getPortSets, EnsureLoadBalancer`,
  },
  {
    suffix: 'aws-load-balancer-ssl-negotiation-policy',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/ssl-negotiation-policy',
    note: 'Same values. No effect without a certificate.',
    source: `${LBC_DOCS} (ssl-negotiation-policy); ${CPA_LB} createListenerV2`,
  },
  {
    suffix: 'aws-load-balancer-backend-protocol',
    lbc: '`ssl` or `tcp`',
    cpa: '`ssl` makes TLS target groups',
    ferry: 'ferry.io/backend-protocol',
    translate: (value) => {
      const v = value.trim().toLowerCase();
      if (v === 'ssl') return { value: 'tls' };
      if (v === 'http' || v === 'https') return { drop: 'a Classic ELB listener setting, no effect on an NLB' };
      return { value };
    },
    note: '`ssl` → `tls`, `tcp` → `tcp`; `http` and `https` configure Classic ELB listeners only. No effect without a certificate.',
    source: `${LBC_DOCS} (backend-protocol); ${CPA_AWS} EnsureLoadBalancer (backendProtocol == "ssl")`,
  },
  {
    suffix: 'aws-load-balancer-alpn-policy',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/alpn-policy',
    note: 'Same values. No effect without a certificate.',
    source: `${LBC_DOCS} (alpn-policy)`,
  },
  {
    suffix: 'aws-load-balancer-additional-resource-tags',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/additional-tags',
    note: 'Same `key=value` list; keys of another controller\'s ownership tags are refused.',
    source: `${LBC_LB} buildAdditionalResourceTags; ${CPA_LB} ensureLoadBalancerv2`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-protocol',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/healthcheck-protocol',
    note: 'Same values. With LBC\'s or CPA\'s marker the default is theirs: TCP (HTTP for externalTrafficPolicy: Local).',
    source: `${LBC_TG} buildTargetGroupHealthCheckProtocol; ${CPA_AWS} buildNLBHealthCheckConfiguration`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-port',
    lbc: '`traffic-port`, a number or a port name',
    cpa: '`traffic-port` or a number',
    ferry: 'ferry.io/healthcheck-port',
    translate: healthCheckPort,
    note: "Same values; a Service port's name becomes its NodePort, as LBC resolves it for instance targets.",
    source: `${LBC_TG} buildTargetGroupHealthCheckPort; ${CPA_AWS} buildNLBHealthCheckConfiguration`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-path',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/healthcheck-path',
    note: 'Same values. No effect on a TCP health check. With LBC\'s or CPA\'s marker an HTTP check without a path checks `/`, as theirs do.',
    source: `${LBC_TG} buildTargetGroupHealthCheckPath; ${CPA_AWS} buildNLBHealthCheckConfiguration`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-healthy-threshold',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/healthcheck-healthy-threshold',
    note: 'Same values.',
    source: `${LBC_TG}; ${CPA_AWS} buildNLBHealthCheckConfiguration`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-unhealthy-threshold',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/healthcheck-unhealthy-threshold',
    note: 'Same values.',
    source: `${LBC_TG}; ${CPA_AWS} buildNLBHealthCheckConfiguration`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-interval',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/healthcheck-interval',
    note: 'Same values.',
    source: `${LBC_TG} buildTargetGroupHealthCheckIntervalSeconds; ${CPA_AWS} buildNLBHealthCheckConfiguration`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-timeout',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/healthcheck-timeout',
    note: 'Same values; ferry keeps it below the interval. CPA parses it but never sends it, so with its marker AWS\'s default applies (6 s for HTTP, 10 s otherwise).',
    source: `${LBC_TG} buildTargetGroupHealthCheckTimeoutSeconds; ${CPA_LB} ensureTargetGroup ("HealthCheckTimeoutSeconds: Currently not configurable")`,
  },
  {
    suffix: 'aws-load-balancer-healthcheck-success-codes',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/healthcheck-success-codes',
    note: 'Same values. No effect on a TCP health check.',
    source: `${LBC_TG} buildTargetGroupHealthCheckMatcher`,
  },
  {
    suffix: 'aws-load-balancer-target-group-attributes',
    lbc: '',
    cpa: 'preserve_client_ip.enabled and proxy_protocol_v2.enabled only',
    ferry: 'ferry.io/target-group-attributes',
    translate: keyValues,
    note: 'Same `key=value` list, checked against the attributes AWS documents. ferry takes stickiness from spec.sessionAffinity, so stickiness.enabled must agree with it.',
    source: `${LBC_TG} buildTargetGroupAttributes; ${CPA_VALIDATIONS} validateServiceAnnotationTargetGroupAttributes`,
  },
  {
    suffix: 'aws-load-balancer-subnets',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/subnets',
    note: 'Same values: subnet IDs or Name tags, one per Availability Zone.',
    source: `${LBC_LB} buildLoadBalancerSubnets; ${CPA_AWS} ServiceAnnotationLoadBalancerSubnets`,
  },
  {
    suffix: 'aws-load-balancer-eip-allocations',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/eip-allocations',
    note: 'Same values, one per subnet; internet-facing only.',
    source: `${LBC_LB} buildLoadBalancerSubnetMappings; ${CPA_LB} ensureLoadBalancerv2`,
  },
  {
    suffix: 'aws-load-balancer-private-ipv4-addresses',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/private-ipv4-addresses',
    note: 'Same values, one inside each subnet; internal only.',
    source: `${LBC_LB} buildLoadBalancerSubnetMappings`,
  },
  {
    suffix: 'aws-load-balancer-ipv6-addresses',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/ipv6-addresses',
    note: 'Same values, one inside each subnet; dualstack only.',
    source: `${LBC_LB} buildLoadBalancerSubnetMappings`,
  },
  {
    suffix: 'aws-load-balancer-target-node-labels',
    lbc: '',
    cpa: '',
    ferry: 'ferry.io/target-node-labels',
    note: 'Same `key=value` list.',
    source: `${LBC_DOCS} (target-node-labels); ${CPA_AWS} ServiceAnnotationLoadBalancerTargetNodeLabels`,
  },
  {
    suffix: 'aws-load-balancer-security-groups',
    lbc: 'IDs or Name tags',
    cpa: false,
    ferry: 'ferry.io/security-groups',
    note: 'Security group IDs are the same; ferry does not look groups up by Name tag, so a name is refused. CPA refuses it on NLBs.',
    source: `${LBC_DOCS} (security-groups); ${CPA_VALIDATIONS} validateServiceAnnotations`,
  },
  {
    suffix: 'aws-load-balancer-manage-backend-security-group-rules',
    lbc: '',
    cpa: false,
    ferry: 'ferry.io/manage-backend-security-group-rules',
    translate: asBool,
    note: 'Same meaning.',
    source: `${LBC_DOCS} (manage-backend-security-group-rules)`,
  },
  {
    suffix: LISTENER_ATTRIBUTES_SUFFIX,
    lbc: 'one annotation per listener: `.TCP-80`',
    cpa: false,
    ferry: 'ferry.io/listener-attributes',
    note: 'Read when the same attributes are given for every TCP listener of the Service (ferry sets one value for all of them); otherwise not honoured.',
    warn: 'ferry sets one value for every TCP listener',
    source: `${LBC_CONSTANTS} SvcLBSuffixlsAttsAnnotationPrefix`,
  },
  {
    suffix: 'aws-load-balancer-enable-tcp-udp-listener',
    lbc: '',
    cpa: false,
    translate: () => ({ drop: 'ferry always serves a port open on TCP and UDP as one TCP_UDP listener' }),
    note: 'Built in: ferry always serves a port that is open on TCP and UDP as one TCP_UDP listener.',
    source: LBC_CONSTANTS,
  },
  {
    ...unsupported('load-balancer-source-ranges', '', '', 'Use spec.loadBalancerSourceRanges, which ferry reads and which wins over this annotation in Kubernetes too; `ferry migrate` moves the value there.', 'use spec.loadBalancerSourceRanges', `${LBC_DOCS} (lb-source-ranges); k8s.io/cloud-provider service helpers GetLoadBalancerSourceRanges`),
    instead: 'spec.loadBalancerSourceRanges',
  },
  unsupported('aws-load-balancer-proxy-protocol-per-target-group', '', false, 'Not honoured: ferry.io/proxy-protocol names the ports that get the PROXY protocol.', 'use ferry.io/proxy-protocol with port names', LBC_CONSTANTS),
  unsupported('aws-load-balancer-eip-allocations-discovery-tags', '', false, 'Not honoured: ferry does not look Elastic IPs up by tag; list their allocation IDs in ferry.io/eip-allocations.', 'list the IDs in ferry.io/eip-allocations', LBC_CONSTANTS),
  unsupported('aws-load-balancer-inbound-sg-rules-on-private-link-traffic', '', false, 'Not honoured: ferry leaves the NLB attribute as AWS sets it.', 'not honoured by ferry', LBC_CONSTANTS),
  unsupported('aws-load-balancer-security-group-prefix-lists', '', false, "Not honoured: ferry's security group admits spec.loadBalancerSourceRanges; bring your own groups with ferry.io/security-groups for prefix lists.", 'use ferry.io/security-groups for prefix lists', LBC_CONSTANTS),
  unsupported('aws-load-balancer-multi-cluster-target-group', '', false, 'Not honoured: ferry registers the nodes of its own cluster only.', 'not honoured by ferry', LBC_CONSTANTS),
  unsupported('aws-load-balancer-enable-prefix-for-ipv6-source-nat', '', false, 'Not honoured: ferry sets no source NAT prefixes.', 'not honoured by ferry', LBC_CONSTANTS),
  unsupported('aws-load-balancer-source-nat-ipv6-prefixes', '', false, 'Not honoured: ferry sets no source NAT prefixes.', 'not honoured by ferry', LBC_CONSTANTS),
  unsupported('aws-load-balancer-minimum-load-balancer-capacity', '', false, 'Not honoured: ferry makes no capacity reservation.', 'not honoured by ferry', LBC_CONSTANTS),
  unsupported('aws-load-balancer-enable-icmp-for-path-mtu-discovery', '', false, "Not honoured: ferry's security group admits the listener ports only.", 'not honoured by ferry', LBC_CONSTANTS),
  unsupported('aws-load-balancer-disable-nlb-sg', '', false, 'Not honoured: ferry always gives the NLB a security group (its own, or those of ferry.io/security-groups).', 'ferry always attaches a security group', LBC_CONSTANTS),
  unsupported('aws-load-balancer-quic-enabled-ports', '', false, 'Not honoured: ferry makes TCP, UDP, TCP_UDP and TLS listeners.', 'not honoured by ferry', LBC_CONSTANTS),
  classicOnly('aws-load-balancer-connection-draining-enabled', ' ferry.io/deregistration-delay sets how long a removed node keeps its connections.'),
  classicOnly('aws-load-balancer-connection-draining-timeout', ' ferry.io/deregistration-delay sets how long a removed node keeps its connections.'),
  classicOnly('aws-load-balancer-connection-idle-timeout', ' ferry.io/listener-attributes sets tcp.idle_timeout.seconds.'),
  classicOnly('aws-load-balancer-extra-security-groups', ' ferry.io/security-groups brings your own.'),
];

const BY_SUFFIX: ReadonlyMap<string, AliasRow> = new Map(ALIASES.map((r) => [r.suffix, r]));

export function aliasRow(suffix: string): AliasRow | undefined {
  return BY_SUFFIX.get(suffix);
}

/** The suffix of a foreign annotation key, if it has one of the two prefixes. */
export function foreignSuffix(key: string): string | undefined {
  const prefix = foreignPrefix(key);
  return prefix === undefined ? undefined : key.slice(prefix.length);
}

/**
 * The prefix of a key that may be an LBC or CPA annotation: one of the two prefixes followed
 * by one of the two suffix stems every row has. Checked in place, without slicing: the
 * webhook runs this on every annotation of a Service, which may hold 20,000.
 */
export function foreignPrefix(key: string): string | undefined {
  // Most annotations are neither: one character tells before any longer comparison.
  if (key.charCodeAt(0) !== 0x73 /* s */) return undefined;
  for (const prefix of FOREIGN_PREFIXES) {
    if (key.startsWith(prefix) && (key.startsWith('aws-load-balancer-', prefix.length) || key.startsWith('load-balancer-source-ranges', prefix.length))) return prefix;
  }
  return undefined;
}

/** Whose defaults a type annotation value selects. */
export function controllerOfType(value: string): Controller | undefined {
  const v = value.trim();
  if (v === 'nlb') return 'CPA';
  if (v === 'external' || v === 'nlb-ip') return 'LBC';
  return undefined;
}

/**
 * The type annotation of a Service, the winning spelling: LBC reads both, CPA the beta one,
 * and any value hands the Service to one of them (CPA builds a Classic ELB for a value that
 * is not `nlb`).
 */
export function foreignType(annotations: Readonly<Record<string, unknown>> | undefined): { key: string; value: string } | undefined {
  for (const prefix of FOREIGN_PREFIXES) {
    const key = `${prefix}${TYPE_SUFFIX}`;
    const value = annotations?.[key];
    if (typeof value === 'string' && value.trim() !== '') return { key, value };
  }
  return undefined;
}
