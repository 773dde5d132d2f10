import { AwsError, constraintMessage } from './errors';
import {
  configError,
  elbArn,
  enumParam,
  intParam,
  pageOf,
  requireListener,
  requireLoadBalancer,
  targetGroupNotFound,
  validationError,
} from './elbv2-common';
import { defaultListenerAttributes } from './elbv2-listener-attributes';
import { renderListener } from './elbv2-render';
import { checkTagQuota, requestTags } from './elbv2-tags';
import { checkMotoListenerProtocol, isMoto } from './fidelity';
import {
  ALPN_POLICIES,
  DEFAULT_SSL_POLICY,
  PROTOCOL_ENUM,
  protocolsCompatible,
  requireNlbProtocol,
  SSL_POLICIES,
} from './elbv2-validate';
import type { Params } from './query';
import type { Handler } from './service';
import type { AwsState, Listener, LoadBalancer } from './state';
import { newTagSet } from './tags';

/** Listeners of Network Load Balancers: one forward action to one target group. */

const MAX_LISTENERS_PER_LOAD_BALANCER = 50;

interface ListenerSpec {
  readonly port: number;
  readonly protocol: string;
  readonly targetGroupArn: string;
  readonly certificates: string[];
  readonly sslPolicy: string | undefined;
  readonly alpnPolicy: string[] | undefined;
}

/** The single target group an NLB listener's default action forwards to. */
function forwardTargetGroup(params: Params): string | undefined {
  const actions = params.structs('DefaultActions');
  if (actions === undefined) return undefined;
  if (actions.length === 0) throw validationError(constraintMessage('defaultActions', null, 'Member must not be null'));
  if (actions.length > 1) throw new AwsError('TooManyActions', 'A Network Load Balancer listener supports exactly one default action');
  const action = actions[0]!;
  const type = action.required('Type');
  if (type !== 'forward') throw new AwsError('InvalidLoadBalancerAction', `The action type '${type}' is not supported by Network Load Balancer listeners; use 'forward'`);
  const arns = new Set<string>();
  const direct = action.str('TargetGroupArn');
  if (direct) arns.add(direct);
  for (const tuple of action.struct('ForwardConfig')?.structs('TargetGroups') ?? []) arns.add(tuple.required('TargetGroupArn'));
  if (arns.size === 0) throw validationError('A target group ARN must be specified for a forward action');
  if (arns.size > 1) throw validationError('A Network Load Balancer listener can forward to only one target group');
  return [...arns][0];
}

function certificateArns(params: Params): string[] | undefined {
  const certificates = params.structs('Certificates');
  if (certificates === undefined) return undefined;
  const arns = certificates.map((c) => c.required('CertificateArn'));
  if (arns.length > 1) throw new AwsError('TooManyCertificates', 'A listener takes one default certificate; add others with AddListenerCertificates');
  for (const arn of arns) {
    // The emulator has no ACM; any ACM or IAM server-certificate ARN stands for an issued certificate.
    if (!/^arn:aws[a-z-]*:(acm:[^:]*:\d{12}:certificate\/|iam::\d{12}:server-certificate\/)\S+$/.test(arn)) {
      throw new AwsError('CertificateNotFound', `Certificate '${arn}' not found`);
    }
  }
  return arns;
}

/** Request over current settings (ModifyListener) or over nothing (CreateListener), validated. */
function resolveSpec(state: AwsState, lb: LoadBalancer, params: Params, current: Listener | undefined): ListenerSpec {
  const protocol = enumParam(params, 'Protocol', PROTOCOL_ENUM) ?? current?.protocol;
  if (protocol === undefined) throw validationError('A protocol must be specified for Network Load Balancer listeners');
  requireNlbProtocol(protocol, 'listener');
  const port = intParam(params, 'Port', 1, 65535) ?? current?.port;
  if (port === undefined) throw validationError('A port must be specified for Network Load Balancer listeners');
  const targetGroupArn = forwardTargetGroup(params) ?? current?.targetGroupArn;
  if (targetGroupArn === undefined) throw validationError(constraintMessage('defaultActions', null, 'Member must not be null'));

  const tls = protocol === 'TLS';
  // "If you change the protocol from HTTPS to HTTP, or from TLS to TCP, the security
  // policy and server certificate properties are removed."
  const keep = tls && current?.protocol === 'TLS';
  const certificates = certificateArns(params) ?? (keep ? current.certificates : []);
  const policyParam = params.str('SslPolicy');
  const alpnParam = params.list('AlpnPolicy');
  if (!tls && (certificates.length > 0 || policyParam !== undefined || alpnParam !== undefined)) {
    throw validationError('Certificates, an SSL policy and an ALPN policy can be specified only for TLS listeners');
  }
  if (tls && certificates.length === 0) throw validationError('A certificate must be specified for TLS listeners');
  if (policyParam !== undefined && !SSL_POLICIES.has(policyParam)) throw new AwsError('SSLPolicyNotFound', `SSL policy '${policyParam}' not found`);
  if (alpnParam !== undefined && (alpnParam.length > 1 || alpnParam.some((a) => !(ALPN_POLICIES as readonly string[]).includes(a)))) {
    throw new AwsError('ALPNPolicyNotFound', `ALPN policy '${alpnParam.join(', ')}' not found; use one of ${ALPN_POLICIES.join(', ')}`);
  }

  checkTargetGroup(state, lb, protocol, targetGroupArn);
  return {
    port,
    protocol,
    targetGroupArn,
    certificates,
    sslPolicy: tls ? (policyParam ?? (keep ? current.sslPolicy : undefined) ?? DEFAULT_SSL_POLICY) : undefined,
    alpnPolicy: tls ? (alpnParam ?? (keep ? current.alpnPolicy : undefined)) : undefined,
  };
}

function checkTargetGroup(state: AwsState, lb: LoadBalancer, protocol: string, arn: string): void {
  const tg = state.targetGroups.get(arn);
  if (!tg) throw targetGroupNotFound(arn);
  if (tg.vpcId !== lb.vpcId) throw configError(`Target group '${arn}' and load balancer '${lb.arn}' must be in the same VPC`);
  // "You can specify the same target group in multiple listeners, but these listeners
  // must belong to the same Network Load Balancer."
  if (state.loadBalancersOf(arn).some((other) => other !== lb.arn)) {
    throw new AwsError('TargetGroupAssociationLimit', `The following target groups cannot be associated with more than one load balancer: ${arn}`);
  }
  if (!protocolsCompatible(protocol, tg.protocol)) {
    throw new AwsError('IncompatibleProtocols', `Listener protocol '${protocol}' is not supported with a target group with the protocol '${tg.protocol}'`);
  }
  if (tg.ipAddressType === 'ipv6' && lb.ipAddressType === 'ipv4') {
    throw configError(`IPv6 target group '${arn}' cannot be used with an IPv4 load balancer`);
  }
}

function sameSpec(listener: Listener, spec: ListenerSpec): boolean {
  return (
    listener.protocol === spec.protocol &&
    listener.targetGroupArn === spec.targetGroupArn &&
    listener.certificates.join() === spec.certificates.join() &&
    listener.sslPolicy === spec.sslPolicy &&
    (listener.alpnPolicy ?? []).join() === (spec.alpnPolicy ?? []).join()
  );
}

export const createListener: Handler = ({ state, params }) => {
  const lb = requireLoadBalancer(state, params.required('LoadBalancerArn'));
  const spec = resolveSpec(state, lb, params, undefined);
  const tags = requestTags(params);
  checkTagQuota('listener', new Map(), tags);
  const listeners = state.listenersOf(lb.arn);
  const onPort = listeners.find((l) => l.port === spec.port);
  if (onPort) {
    // CreateListener is idempotent: the same settings on the same port return the original.
    if (sameSpec(onPort, spec)) return { Listeners: [renderListener(onPort)] };
    throw new AwsError('DuplicateListener', `A listener already exists on this port for this load balancer '${lb.arn}'`);
  }
  if (listeners.length >= MAX_LISTENERS_PER_LOAD_BALANCER) {
    throw new AwsError('TooManyListeners', `You've reached the limit on the number of listeners per load balancer (${MAX_LISTENERS_PER_LOAD_BALANCER})`);
  }
  const listener: Listener = {
    seq: state.nextSeq(),
    arn: elbArn(state, `listener/net/${lb.name}/${lb.lbId}/${state.hex(16)}`),
    loadBalancerArn: lb.arn,
    ...spec,
    extraCertificates: [],
    tags: newTagSet(tags),
    attributes: defaultListenerAttributes(),
  };
  state.listeners.set(listener.arn, listener);
  return { Listeners: [renderListener(listener)] };
};

export const modifyListener: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  const lb = requireLoadBalancer(state, listener.loadBalancerArn);
  checkMotoListenerProtocol(state, params.str('Protocol'));
  const spec = resolveSpec(state, lb, params, listener);
  if (isMoto(state) && listener.protocol === 'TLS' && spec.protocol === 'TLS') {
    // moto's ModifyListener never reads AlpnPolicy and takes Certificates only for HTTPS: a TLS listener keeps both.
    Object.assign(spec, { certificates: listener.certificates, alpnPolicy: listener.alpnPolicy });
  }
  if (state.listenersOf(lb.arn).some((l) => l !== listener && l.port === spec.port)) {
    throw validationError(`Listener port '${spec.port}' is already in use`);
  }
  Object.assign(listener, spec);
  // A listener that stops being TLS loses its certificates, the SNI ones too.
  if (spec.protocol !== 'TLS') listener.extraCertificates = [];
  return { Listeners: [renderListener(listener)] };
};

export const describeListeners: Handler = ({ state, params }) => {
  const lbArn = params.str('LoadBalancerArn');
  const arns = params.list('ListenerArns');
  if (lbArn !== undefined && arns?.length) throw validationError('Listener ARNs and a load balancer ARN cannot be specified at the same time');
  let selected: Listener[];
  if (lbArn !== undefined) {
    selected = state.listenersOf(requireLoadBalancer(state, lbArn).arn);
  } else if (arns?.length) {
    if (arns.some((arn) => !state.listeners.has(arn))) throw new AwsError('ListenerNotFound', 'One or more listeners not found');
    selected = [...state.listeners.values()].filter((l) => arns.includes(l.arn));
  } else {
    throw validationError('You must specify either listener ARNs or a load balancer ARN');
  }
  const page = pageOf(selected, params);
  return { Listeners: page.items.map(renderListener), NextMarker: page.next };
};

export const deleteListener: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  state.listeners.delete(listener.arn);
  return {};
};
