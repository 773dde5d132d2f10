import { validationError } from './elbv2-common';

/**
 * ELBv2's naming and protocol rules. Messages are the ones AWS returns (as seen in
 * CloudFormation and SDK error logs), e.g. "The load balancer name 'x-' cannot end
 * with a hyphen(-)"; names are checked by DescribeLoadBalancers(Names) too.
 */
const NAME_CHARS = /^[A-Za-z0-9-]+$/;
const MAX_NAME_LENGTH = 32;

export function validateLoadBalancerName(name: string): void {
  const prefix = `The load balancer name '${name}'`;
  if (name.length > MAX_NAME_LENGTH) throw validationError(`${prefix} cannot be longer than '${MAX_NAME_LENGTH}' characters`);
  if (!NAME_CHARS.test(name)) throw validationError(`${prefix} can only contain characters that are alphanumeric characters and hyphens(-)`);
  if (name.startsWith('-')) throw validationError(`${prefix} cannot begin with a hyphen(-)`);
  if (name.endsWith('-')) throw validationError(`${prefix} cannot end with a hyphen(-)`);
  // "internal-" would be ambiguous with the DNS names of internal Classic/Application LBs.
  if (name.startsWith('internal-')) throw validationError(`${prefix} cannot begin with 'internal-'`);
}

export function validateTargetGroupName(name: string): void {
  const prefix = `Target group name '${name}'`;
  if (name.length > MAX_NAME_LENGTH) throw validationError(`${prefix} cannot be longer than '${MAX_NAME_LENGTH}' characters`);
  if (!NAME_CHARS.test(name)) throw validationError(`${prefix} can only contain characters that are alphanumeric characters or hyphens(-)`);
  if (name.startsWith('-') || name.endsWith('-')) throw validationError(`${prefix} cannot begin or end with '-'`);
}

/** Every value of the model's ProtocolEnum (what AWS validates the field against). */
export const PROTOCOL_ENUM = ['HTTP', 'HTTPS', 'TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE', 'QUIC', 'TCP_QUIC'] as const;

/** The protocols a Network Load Balancer's listeners and target groups use (QUIC is out of scope). */
export const NLB_PROTOCOLS = ['TCP', 'TLS', 'UDP', 'TCP_UDP'] as const;

export function requireNlbProtocol(protocol: string, what: 'listener' | 'target group'): void {
  if (!(NLB_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw validationError(`The ${what} protocol '${protocol}' is not supported by ferry's AWS emulator, which models Network Load Balancers only (${NLB_PROTOCOLS.join(', ')})`);
  }
}

/**
 * Which target group protocols a listener may forward to, per the NLB guide
 * ("Create a target group"): TCP → TCP or TCP_UDP, TLS → TCP or TLS, UDP → UDP or
 * TCP_UDP, TCP_UDP → TCP_UDP only.
 */
const COMPATIBLE_TARGET_PROTOCOLS: Readonly<Record<string, readonly string[]>> = {
  TCP: ['TCP', 'TCP_UDP'],
  TLS: ['TCP', 'TLS'],
  UDP: ['UDP', 'TCP_UDP'],
  TCP_UDP: ['TCP_UDP'],
};

export function protocolsCompatible(listenerProtocol: string, targetGroupProtocol: string): boolean {
  return COMPATIBLE_TARGET_PROTOCOLS[listenerProtocol]?.includes(targetGroupProtocol) ?? false;
}

/** The predefined TLS policies an NLB TLS listener accepts (DescribeSSLPolicies). */
export const SSL_POLICIES: ReadonlySet<string> = new Set([
  'ELBSecurityPolicy-2016-08',
  'ELBSecurityPolicy-TLS13-1-2-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Res-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06',
  'ELBSecurityPolicy-TLS13-1-1-2021-06',
  'ELBSecurityPolicy-TLS13-1-0-2021-06',
  'ELBSecurityPolicy-TLS13-1-3-2021-06',
  'ELBSecurityPolicy-TLS-1-0-2015-04',
  'ELBSecurityPolicy-TLS-1-1-2017-01',
  'ELBSecurityPolicy-TLS-1-2-2017-01',
  'ELBSecurityPolicy-TLS-1-2-Ext-2018-06',
  'ELBSecurityPolicy-FS-2018-06',
  'ELBSecurityPolicy-FS-1-1-2019-08',
  'ELBSecurityPolicy-FS-1-2-2019-08',
  'ELBSecurityPolicy-FS-1-2-Res-2019-08',
  'ELBSecurityPolicy-FS-1-2-Res-2020-10',
  'ELBSecurityPolicy-2015-05',
]);

/** The API's default when a TLS listener names no policy. */
export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

export const ALPN_POLICIES = ['HTTP1Only', 'HTTP2Only', 'HTTP2Optional', 'HTTP2Preferred', 'None'] as const;
