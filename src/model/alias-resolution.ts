import type { V1Service } from '@kubernetes/client-node';
import {
  ALIASES,
  CONTROLLER_NAMES,
  FOREIGN_PREFIXES,
  LISTENER_ATTRIBUTES_SUFFIX,
  TYPE_SUFFIX,
  aliasRow,
  controllerOfType,
  foreignPrefix,
  foreignSuffix,
  type AliasContext,
  type Controller,
  type FerryKey,
} from './aliases';

/**
 * A Service's effective `ferry.io/` annotations: its own, then what its LBC and CPA
 * annotations (aliases.ts) translate to, then the defaults of the controller its type
 * annotation names. A `ferry.io/` annotation always wins. Pure, and linear in the number of
 * annotations: the webhook runs it on every Service of ferry's class.
 */

/** The parts of a Service the translation looks at: its ports and traffic policy. */
export type ServiceShape = Pick<V1Service, 'spec'>;

export type FateKind =
  /** Read as the ferry annotation, value unchanged. */
  | 'mapped'
  /** Read as the ferry annotation, value translated. */
  | 'translated'
  /** A `ferry.io/` annotation, or a stronger alias, sets the same thing. */
  | 'overridden'
  /** No effect here, for LBC and CPA as for ferry. */
  | 'dropped'
  /** ferry cannot honour it: warned about. */
  | 'ignored'
  /** The type annotation: it decides the claim and the defaults. */
  | 'marker'
  /** Its value cannot be read: refused, naming it. */
  | 'invalid';

/** What became of one foreign annotation. */
export interface Fate {
  key: string;
  value: string;
  kind: FateKind;
  /** The ferry annotation it was read as (or would have been). */
  ferry?: string;
  ferryValue?: string;
  reason?: string;
  /** Short, for an admission warning or an Event: ferry honours it differently or not at all. */
  warning?: string;
}

export type Origin =
  /** From these foreign annotations; `value` is what the user wrote when there is one. */
  | { kind: 'alias'; keys: string[]; value: string }
  | { kind: 'default'; controller: Controller };

export interface Resolution {
  /** Whose defaults apply: the controller the type annotation names, if any. */
  controller: Controller | undefined;
  /** What the schema checks and the model builder reads. */
  effective: Record<string, string>;
  /** Where each effective value that is not the Service's own `ferry.io/` annotation came from. */
  origins: Map<string, Origin>;
  fates: Fate[];
  /** The controller's defaults that were filled in, in order. */
  defaults: Array<{ key: string; value: string }>;
  /** Foreign values that cannot be read, worded after "annotation key=value is invalid: ". */
  problems: Array<{ key: string; value: string; detail: string }>;
}

export interface ResolveOptions {
  /** `Object.keys(annotations)`, when the caller has it already. */
  keys?: readonly string[];
  /** The Service's own `ferry.io/` values (default: every string one). */
  own?: Readonly<Record<string, string>>;
  service?: ServiceShape | undefined;
}

const LISTENER_ATTRIBUTES_DOT = `${LISTENER_ATTRIBUTES_SUFFIX}.`;

/** LBC names one annotation per listener; a hostile Service could name thousands. */
const MAX_LISTENER_ANNOTATIONS = 50;

/** The TLS policy LBC (its --default-ssl-policy) and CPA (AWS's API default) leave a listener with. */
export const FOREIGN_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

const TLS_SETTINGS: readonly FerryKey[] = ['ferry.io/ssl-ports', 'ferry.io/ssl-negotiation-policy', 'ferry.io/alpn-policy', 'ferry.io/backend-protocol'];
const HTTP_CHECK_SETTINGS: readonly FerryKey[] = ['ferry.io/healthcheck-path', 'ferry.io/healthcheck-success-codes'];

/**
 * Attributes that a named setting also sets: LBC lets the named annotation win over the
 * attribute list (getAnnotationSpecificLbAttributes; the proxy-protocol annotation "takes
 * precedence over" target-group-attributes), where ferry's schema refuses the pair.
 */
const NAMED_ATTRIBUTES: ReadonlyArray<[named: FerryKey, list: FerryKey, attribute: string]> = [
  ['ferry.io/cross-zone', 'ferry.io/load-balancer-attributes', 'load_balancing.cross_zone.enabled'],
  ['ferry.io/deletion-protection', 'ferry.io/load-balancer-attributes', 'deletion_protection.enabled'],
  ['ferry.io/proxy-protocol', 'ferry.io/target-group-attributes', 'proxy_protocol_v2.enabled'],
  ['ferry.io/deregistration-delay', 'ferry.io/target-group-attributes', 'deregistration_delay.timeout_seconds'],
];

interface Contribution {
  keys: string[];
  fates: Fate[];
  value?: string;
  attributes?: Record<string, string>;
}

export function resolveAliases(annotations: Readonly<Record<string, unknown>> | undefined, options: ResolveOptions = {}): Resolution {
  const keys = options.keys ?? Object.keys(annotations ?? {});
  const own = options.own ?? ownValues(annotations, keys);
  const service = options.service;
  const fates: Fate[] = [];
  const found = new Map<string, { key: string; value: string }>();
  const perListener: Array<{ key: string; value: string; listener: string }> = [];
  let listenersLeftOut = 0;
  for (const key of keys) {
    const prefix = foreignPrefix(key);
    if (prefix === undefined) continue;
    const value = annotations![key];
    if (typeof value !== 'string') continue;
    if (key.startsWith(LISTENER_ATTRIBUTES_DOT, prefix.length)) {
      if (perListener.length < MAX_LISTENER_ANNOTATIONS) perListener.push({ key, value, listener: key.slice(prefix.length + LISTENER_ATTRIBUTES_DOT.length) });
      else listenersLeftOut++;
      continue;
    }
    const suffix = key.slice(prefix.length);
    if (!aliasRow(suffix)) continue;
    const earlier = found.get(suffix);
    if (earlier === undefined) found.set(suffix, { key, value });
    else {
      // LBC reads service.kubernetes.io/ first.
      const [winner, loser] = key.startsWith(FOREIGN_PREFIXES[0]) ? [{ key, value }, earlier] : [earlier, { key, value }];
      found.set(suffix, winner);
      fates.push({ ...loser, kind: 'overridden', reason: `${winner.key} wins, as LBC reads ${FOREIGN_PREFIXES[0]} first` });
    }
  }
  if (found.size === 0 && perListener.length === 0) {
    return { controller: undefined, effective: { ...own }, origins: new Map(), fates, defaults: [], problems: [] };
  }

  const type = found.get(TYPE_SUFFIX);
  const controller = type ? controllerOfType(type.value) : undefined;
  const context: AliasContext = { profile: controller, get: (s) => found.get(s)?.value, service };
  const problems: Resolution['problems'] = [];
  const contributions = new Map<FerryKey, Contribution>();

  for (const row of ALIASES) {
    const entry = found.get(row.suffix);
    if (!entry) continue;
    const fate: Fate = { key: entry.key, value: entry.value, kind: 'mapped', ...(row.ferry ? { ferry: row.ferry } : {}) };
    fates.push(fate);
    if (row.suffix === TYPE_SUFFIX) {
      Object.assign(fate, { kind: 'marker', reason: markerReason(controller, entry.value) });
      continue;
    }
    if (!row.ferry && !row.translate) {
      Object.assign(fate, { kind: 'ignored', reason: row.note, warning: `not honoured: ${row.warn ?? 'ferry has no equivalent'}` });
      continue;
    }
    if (controller && row.ferry && row[controller === 'LBC' ? 'lbc' : 'cpa'] === false) {
      // A Service with a controller's marker gets what that controller would build.
      Object.assign(fate, {
        kind: 'ignored',
        reason: `${CONTROLLER_NAMES[controller]} does not read it for an NLB, and ferry builds what it would for ${type!.key}=${type!.value}`,
        warning: `not honoured: ${controller} ignores it on NLBs`,
      });
      continue;
    }
    if (row.ferry && own[row.ferry] !== undefined) {
      Object.assign(fate, { kind: 'overridden', reason: `${row.ferry} is set and wins` });
      continue;
    }
    const t = row.translate ? row.translate(entry.value, context) : { value: entry.value };
    if ('problem' in t) {
      fate.kind = 'invalid';
      problems.push({ key: entry.key, value: entry.value, detail: t.problem });
      continue;
    }
    if ('drop' in t || !row.ferry) {
      Object.assign(fate, { kind: 'dropped', reason: 'drop' in t ? t.drop : row.note });
      continue;
    }
    const c = contributions.get(row.ferry) ?? { keys: [], fates: [] };
    contributions.set(row.ferry, c);
    if ('value' in t) {
      if (c.value !== undefined || c.attributes !== undefined) {
        Object.assign(fate, { kind: 'overridden', reason: `${c.keys[0]} wins, as in LBC` });
        continue;
      }
      c.value = t.value;
      Object.assign(fate, { kind: t.value === entry.value ? 'mapped' : 'translated', ferryValue: t.value }, t.warning ? { warning: t.warning } : {});
    } else {
      const shadowed = Object.keys(t.attributes).filter((k) => c.attributes?.[k] !== undefined);
      // Earlier rows win a shared key: LBC's named annotations over its attribute list.
      const merged = { ...c.attributes };
      for (const [k, v] of Object.entries(t.attributes)) if (merged[k] === undefined) merged[k] = v;
      c.attributes = merged;
      Object.assign(fate, { kind: 'translated', ferryValue: formatKeyValues(t.attributes) }, shadowed.length > 0 ? { reason: `${shadowed.join(', ')} left to ${c.keys.join(', ')}, as in LBC` } : {});
    }
    c.keys.push(entry.key);
    c.fates.push(fate);
  }

  const effective: Record<string, string> = { ...own };
  const origins = new Map<string, Origin>();
  const compose = (key: FerryKey, c: Contribution) => {
    const value = c.value ?? formatKeyValues(c.attributes ?? {});
    if (value === '' && c.attributes !== undefined) {
      delete effective[key];
      origins.delete(key);
      for (const f of c.fates) Object.assign(f, { kind: 'dropped', ferryValue: undefined });
      return;
    }
    effective[key] = value;
    const single = c.keys.length === 1 ? found.get(foreignSuffix(c.keys[0]!)!)?.value : undefined;
    origins.set(key, { kind: 'alias', keys: [...c.keys], value: single ?? value });
  };
  for (const [key, c] of contributions) compose(key, c);

  const fromAlias = (key: FerryKey) => origins.get(key)?.kind === 'alias';
  const drop = (key: FerryKey, reason: string) => {
    const c = contributions.get(key);
    if (!c || !fromAlias(key)) return;
    for (const f of c.fates) Object.assign(f, { kind: 'dropped', reason, ferryValue: undefined });
    delete effective[key];
    origins.delete(key);
  };

  for (const [named, list, attribute] of NAMED_ATTRIBUTES) {
    const c = contributions.get(list);
    if (effective[named] === undefined || !fromAlias(list) || c?.attributes?.[attribute] === undefined) continue;
    delete c.attributes[attribute];
    for (const f of c.fates) {
      if (!f.ferryValue?.split(',').some((kv) => kv.startsWith(`${attribute}=`))) continue;
      f.ferryValue = f.ferryValue.split(',').filter((kv) => !kv.startsWith(`${attribute}=`)).join(',');
      f.reason = `${f.reason ? `${f.reason}; ` : ''}${attribute} left to ${describeSource(origins.get(named), named)}, as in LBC`;
    }
    compose(list, c);
  }

  const stickiness = contributions.get('ferry.io/target-group-attributes')?.attributes?.['stickiness.enabled'];
  if (service && stickiness !== undefined && fromAlias('ferry.io/target-group-attributes')) {
    const affinity = service.spec?.sessionAffinity === 'ClientIP';
    if (stickiness !== String(affinity)) {
      const c = contributions.get('ferry.io/target-group-attributes')!;
      for (const f of c.fates) f.kind = 'invalid';
      problems.push({
        key: c.keys[0]!,
        value: found.get(foreignSuffix(c.keys[0]!)!)!.value,
        detail: `sets stickiness.enabled=${stickiness}, but ferry takes stickiness from spec.sessionAffinity (${service.spec?.sessionAffinity ?? 'None'}): ${affinity ? 'remove the attribute' : 'set spec.sessionAffinity: ClientIP instead'}`,
      });
    }
  }

  if (effective['ferry.io/ssl-cert'] === undefined) {
    for (const key of TLS_SETTINGS) drop(key, 'no effect without a certificate (aws-load-balancer-ssl-cert), for LBC and CPA alike');
  }

  if (perListener.length > 0) resolveListenerAttributes(perListener, listenersLeftOut, { controller, own, effective, origins, fates, service });

  if (controller === 'LBC' && type!.value.trim() === 'nlb-ip' && effective['ferry.io/target-type'] === undefined) {
    effective['ferry.io/target-type'] = 'ip';
    origins.set('ferry.io/target-type', { kind: 'alias', keys: [type!.key], value: type!.value });
    const fate = fates.find((f) => f.key === type!.key)!;
    Object.assign(fate, { ferry: 'ferry.io/target-type', ferryValue: 'ip', warning: "nlb-ip targets are pods for LBC; ferry registers the nodes' IPs" });
  }

  if (checkProtocol(controller, own, effective, service) === 'TCP') {
    for (const key of HTTP_CHECK_SETTINGS) drop(key, 'applies to HTTP and HTTPS health checks; LBC and CPA ignore it for TCP ones too');
  }

  const defaults = controller ? fillDefaults(controller, own, effective, origins, service) : [];
  return { controller, effective, origins, fates, defaults, problems };
}

/**
 * At most this many warnings, each at most this long: the API server truncates a warning
 * past 256 characters and all of them past 4 KiB (k8s.io/apiserver, endpoints/filters/warning.go).
 */
export const MAX_WARNINGS = 8;
export const MAX_WARNING_LENGTH = 200;

/** The admission warnings and Event lines for what ferry does not honour as written. */
export function warningsOf(resolution: Pick<Resolution, 'fates'>): string[] {
  const all = resolution.fates.filter((f) => f.warning).map((f) => clipWarning(`${f.key}: ${f.warning}`));
  if (all.length <= MAX_WARNINGS) return all;
  const shown = all.slice(0, MAX_WARNINGS - 1);
  return [...shown, `and ${all.length - shown.length} more annotations ferry does not honour as written (ferry migrate lists them)`];
}

/**
 * What the reconciler says in a Warning Event (reason `UnsupportedAnnotation`): the LBC or
 * CPA annotations of the Service that ferry does not honour as written. Empty when there
 * are none.
 */
export function aliasWarnings(service: V1Service): string[] {
  return warningsOf(resolveAliases(service.metadata?.annotations, { service }));
}

function clipWarning(text: string): string {
  return text.length <= MAX_WARNING_LENGTH ? text : `${text.slice(0, MAX_WARNING_LENGTH - 1)}…`;
}

function ownValues(annotations: Readonly<Record<string, unknown>> | undefined, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = annotations![key];
    if (key.startsWith('ferry.io/') && typeof value === 'string') out[key] = value;
  }
  return out;
}

function formatKeyValues(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function markerReason(controller: Controller | undefined, value: string): string {
  if (!controller) return `names no controller ferry knows (${JSON.stringify(value)}); ferry's own defaults apply`;
  return `hands an unclassed Service to ${CONTROLLER_NAMES[controller]}; on a Service of ferry's class it selects ${controller}'s defaults`;
}

/** A named setting's source, for a note: the foreign annotation it came from, or itself. */
function describeSource(origin: Origin | undefined, key: string): string {
  return origin?.kind === 'alias' ? origin.keys.join(', ') : key;
}

/**
 * The health check protocol in effect: the Service's, else the controller's default (TCP,
 * or HTTP with externalTrafficPolicy: Local), else ferry's (HTTP).
 */
function checkProtocol(controller: Controller | undefined, own: Readonly<Record<string, string>>, effective: Readonly<Record<string, string>>, service: ServiceShape | undefined): string {
  const given = effective['ferry.io/healthcheck-protocol'];
  if (given !== undefined) return given.trim().toUpperCase();
  return controller && takesTcpDefault(own, service) ? 'TCP' : 'HTTP';
}

/**
 * LBC and CPA check TCP on the traffic port unless externalTrafficPolicy is Local (then
 * both check HTTP /healthz on the healthCheckNodePort, as ferry does). A Service that writes
 * ferry's own HTTP-only settings asks for HTTP.
 */
function takesTcpDefault(own: Readonly<Record<string, string>>, service: ServiceShape | undefined): boolean {
  return takesTheirCheck(service) && HTTP_CHECK_SETTINGS.every((k) => own[k] === undefined);
}

/** With externalTrafficPolicy: Local, LBC's and CPA's health checks are ferry's. */
function takesTheirCheck(service: ServiceShape | undefined): boolean {
  return service?.spec?.externalTrafficPolicy !== 'Local';
}

/**
 * What LBC or CPA would build where the Service says nothing, where it differs from ferry's
 * own defaults. Sources: LBC pkg/service/model_builder.go (defaultHealthCheck*: TCP,
 * traffic-port, "/", interval 10, timeout 10, thresholds 3; --default-ssl-policy
 * ELBSecurityPolicy-2016-08); CPA pkg/providers/v1/aws.go (EnsureLoadBalancer: internet-facing
 * unless aws-load-balancer-internal; buildNLBHealthCheckConfiguration: TCP, traffic-port, "/",
 * interval 30, thresholds 3, the timeout never sent so AWS's applies) and
 * aws_loadbalancer.go (no SslPolicy sent: AWS's ELBSecurityPolicy-2016-08).
 */
function fillDefaults(
  controller: Controller,
  own: Readonly<Record<string, string>>,
  effective: Record<string, string>,
  origins: Map<string, Origin>,
  service: ServiceShape | undefined,
): Array<{ key: string; value: string }> {
  const filled: Array<{ key: string; value: string }> = [];
  const set = (key: FerryKey, value: string) => {
    if (effective[key] !== undefined) return;
    effective[key] = value;
    origins.set(key, { kind: 'default', controller });
    filled.push({ key, value });
  };
  if (controller === 'CPA') set('ferry.io/scheme', 'internet-facing');
  if (takesTheirCheck(service)) {
    if (takesTcpDefault(own, service)) set('ferry.io/healthcheck-protocol', 'TCP');
    set('ferry.io/healthcheck-port', 'traffic-port');
    set('ferry.io/healthcheck-interval', controller === 'CPA' ? '30' : '10');
    set('ferry.io/healthcheck-healthy-threshold', '3');
    set('ferry.io/healthcheck-unhealthy-threshold', '3');
    const protocol = (effective['ferry.io/healthcheck-protocol'] ?? 'HTTP').trim().toUpperCase();
    if (protocol !== 'TCP') set('ferry.io/healthcheck-path', '/');
    const interval = effective['ferry.io/healthcheck-interval']!;
    if (/^\s*\d+\s*$/.test(interval)) {
      // LBC sends 10 s; CPA sends none, so AWS's default for the protocol applies. ferry's
      // schema keeps the timeout below the interval (AWS: "Health check interval must be
      // greater than the timeout"), so an interval of 10 gets 9.
      const wanted = controller === 'CPA' && protocol === 'HTTP' ? 6 : 10;
      const timeout = Math.min(wanted, Number(interval) - 1);
      if (timeout >= 2) set('ferry.io/healthcheck-timeout', String(timeout));
    }
  }
  if (effective['ferry.io/ssl-cert'] !== undefined) set('ferry.io/ssl-negotiation-policy', FOREIGN_SSL_POLICY);
  return filled;
}

/**
 * LBC's `aws-load-balancer-listener-attributes.TCP-<port>` annotations become
 * ferry.io/listener-attributes when they give the same attributes to every TCP listener:
 * ferry sets one value for all of them.
 */
function resolveListenerAttributes(
  entries: ReadonlyArray<{ key: string; value: string; listener: string }>,
  leftOut: number,
  r: {
    controller: Controller | undefined;
    own: Readonly<Record<string, string>>;
    effective: Record<string, string>;
    origins: Map<string, Origin>;
    fates: Fate[];
    service: ServiceShape | undefined;
  },
): void {
  const row = aliasRow(LISTENER_ATTRIBUTES_SUFFIX)!;
  const fates: Fate[] = entries.map((e) => ({ key: e.key, value: e.value, kind: 'mapped', ferry: row.ferry! }));
  r.fates.push(...fates);
  const give = (fate: Partial<Fate>) => fates.forEach((f) => Object.assign(f, fate));
  if (r.controller === 'CPA') return give({ kind: 'ignored', reason: `${CONTROLLER_NAMES.CPA} does not read it`, warning: 'not honoured: CPA ignores it on NLBs' });
  if (r.own['ferry.io/listener-attributes'] !== undefined) return give({ kind: 'overridden', reason: 'ferry.io/listener-attributes is set and wins' });
  const tcp = tcpListenerPorts(r.service, r.effective);
  const values = new Set(entries.map((e) => e.value.trim()));
  const named = new Set(entries.map((e) => (/^TCP-(\d+)$/.exec(e.listener) ? Number(e.listener.slice(4)) : NaN)));
  const covers =
    tcp !== undefined &&
    tcp.length > 0 &&
    leftOut === 0 &&
    values.size === 1 &&
    named.size === tcp.length &&
    tcp.every((p) => named.has(p));
  if (!covers) return give({ kind: 'ignored', reason: row.note, warning: `not honoured: ${row.warn}` });
  const value = [...values][0]!;
  r.effective['ferry.io/listener-attributes'] = value;
  r.origins.set('ferry.io/listener-attributes', { kind: 'alias', keys: entries.map((e) => e.key), value });
  give({ kind: 'translated', ferryValue: value });
}

/** The ports that become TCP listeners: TCP only (not also UDP), and not made TLS by ssl-cert/ssl-ports. */
function tcpListenerPorts(service: ServiceShape | undefined, effective: Readonly<Record<string, string>>): number[] | undefined {
  const ports = service?.spec?.ports;
  if (!ports) return undefined;
  const udp = new Set(ports.filter((p) => p.protocol === 'UDP').map((p) => p.port));
  const tls = effective['ferry.io/ssl-cert'] !== undefined ? (effective['ferry.io/ssl-ports'] ?? '*').split(',').map((s) => s.trim()) : [];
  const isTls = (p: { port: number; name?: string }) => tls.includes('*') || tls.includes(String(p.port)) || (p.name !== undefined && tls.includes(p.name));
  return [...new Set(ports.filter((p) => (p.protocol ?? 'TCP') === 'TCP' && !udp.has(p.port) && !isTls(p)).map((p) => p.port))];
}
