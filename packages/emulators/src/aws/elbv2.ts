import { AwsError } from './errors';
import { elbv2ParamErrors } from './elbv2-common';
import {
  addListenerCertificates,
  describeListenerCertificates,
  removeListenerCertificates,
} from './elbv2-listener-certificates';
import { describeListenerAttributes, modifyListenerAttributes } from './elbv2-listener-attributes';
import { createListener, deleteListener, describeListeners, modifyListener } from './elbv2-listeners';
import {
  createLoadBalancer,
  deleteLoadBalancer,
  describeLoadBalancerAttributes,
  describeLoadBalancers,
  modifyLoadBalancerAttributes,
  setIpAddressType,
  setSecurityGroups,
  setSubnets,
} from './elbv2-load-balancers';
import { addTagsHandler, describeTags, removeTags } from './elbv2-tags';
import {
  createTargetGroup,
  deleteTargetGroup,
  describeTargetGroupAttributes,
  describeTargetGroups,
  modifyTargetGroup,
  modifyTargetGroupAttributes,
} from './elbv2-target-groups';
import { deregisterTargets, describeTargetHealth, registerTargets } from './elbv2-targets';
import type { Handler, ServiceDefinition } from './service';
import { children, escapeXml } from './xml';

/**
 * Elastic Load Balancing v2 (API version 2015-12-01, awsQuery protocol):
 * `<XResponse xmlns=…><XResult>…</XResult><ResponseMetadata><RequestId>…` with lists
 * as `<member>`, errors as `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
 */
export const ELBV2_VERSION = '2015-12-01';
const XMLNS = `http://elasticloadbalancing.amazonaws.com/doc/${ELBV2_VERSION}/`;

const HANDLERS: Readonly<Record<string, Handler>> = {
  CreateLoadBalancer: createLoadBalancer,
  DescribeLoadBalancers: describeLoadBalancers,
  DeleteLoadBalancer: deleteLoadBalancer,
  DescribeLoadBalancerAttributes: describeLoadBalancerAttributes,
  ModifyLoadBalancerAttributes: modifyLoadBalancerAttributes,
  SetSubnets: setSubnets,
  SetSecurityGroups: setSecurityGroups,
  SetIpAddressType: setIpAddressType,
  CreateTargetGroup: createTargetGroup,
  DescribeTargetGroups: describeTargetGroups,
  ModifyTargetGroup: modifyTargetGroup,
  DeleteTargetGroup: deleteTargetGroup,
  DescribeTargetGroupAttributes: describeTargetGroupAttributes,
  ModifyTargetGroupAttributes: modifyTargetGroupAttributes,
  RegisterTargets: registerTargets,
  DeregisterTargets: deregisterTargets,
  DescribeTargetHealth: describeTargetHealth,
  CreateListener: createListener,
  DescribeListeners: describeListeners,
  ModifyListener: modifyListener,
  DeleteListener: deleteListener,
  AddListenerCertificates: addListenerCertificates,
  RemoveListenerCertificates: removeListenerCertificates,
  DescribeListenerCertificates: describeListenerCertificates,
  DescribeListenerAttributes: describeListenerAttributes,
  ModifyListenerAttributes: modifyListenerAttributes,
  DescribeTags: describeTags,
  AddTags: addTagsHandler,
  RemoveTags: removeTags,
};

export const elbv2Service: ServiceDefinition = {
  service: 'elbv2',
  version: ELBV2_VERSION,
  listStyle: 'member',
  paramErrors: elbv2ParamErrors,
  dispatch(action, ctx) {
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!handler) throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${ELBV2_VERSION}`);
    return handler(ctx);
  },
  renderResult(action, fields, requestId) {
    return (
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${children(fields, 'member')}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
    );
  },
  renderError(error, requestId) {
    return (
      `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${error.type}</Type><Code>${escapeXml(error.code)}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
    );
  },
  // ELBv2 throttles with HTTP 400 and the code "Throttling", which the SDK's retry
  // strategy lists among its throttling codes.
  throttlingError: () => new AwsError('Throttling', 'Rate exceeded', 400),
};
