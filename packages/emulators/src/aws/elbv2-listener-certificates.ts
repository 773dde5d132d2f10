import { AwsError } from './errors';
import { pageOf, requireListener, validationError } from './elbv2-common';
import type { Handler } from './service';

/**
 * A TLS listener's certificate list: its default certificate (set by Create/ModifyListener)
 * plus SNI certificates added and removed one by one. DescribeListenerCertificates reports
 * both, the default one with IsDefault=true.
 */
const MAX_CERTIFICATES_PER_LISTENER = 25;

function requestedArns(params: Parameters<Handler>[0]['params']): string[] {
  const certificates = params.structs('Certificates') ?? [];
  if (certificates.length === 0) throw validationError('At least one certificate must be specified');
  return certificates.map((c) => c.required('CertificateArn'));
}

export const addListenerCertificates: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  if (listener.protocol !== 'TLS') throw validationError('Certificates can be added only to TLS listeners');
  const added = requestedArns(params).filter((arn) => !listener.certificates.includes(arn));
  const next = [...new Set([...listener.extraCertificates, ...added])];
  if (next.length + 1 > MAX_CERTIFICATES_PER_LISTENER) {
    throw new AwsError('TooManyCertificates', `You've reached the limit on the number of certificates per load balancer (${MAX_CERTIFICATES_PER_LISTENER})`);
  }
  listener.extraCertificates = next;
  return { Certificates: added.map((arn) => ({ CertificateArn: arn, IsDefault: false })) };
};

export const removeListenerCertificates: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  const arns = requestedArns(params);
  if (arns.some((arn) => listener.certificates.includes(arn))) {
    throw new AwsError('OperationNotPermitted', 'The default certificate cannot be removed; change it with ModifyListener');
  }
  listener.extraCertificates = listener.extraCertificates.filter((arn) => !arns.includes(arn));
  return {};
};

export const describeListenerCertificates: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  const all = [
    ...listener.certificates.map((arn) => ({ arn, isDefault: true })),
    ...listener.extraCertificates.map((arn) => ({ arn, isDefault: false })),
  ].map((c, seq) => ({ ...c, seq }));
  const page = pageOf(all, params);
  return { Certificates: page.items.map((c) => ({ CertificateArn: c.arn, IsDefault: c.isDefault })), NextMarker: page.next };
};
