import { AwsError } from './errors';
import { ec2ParamErrors } from './ec2-common';
import { allocateAddress, describeAddresses, releaseAddress } from './ec2-addresses';
import { describeInstances, runInstances, terminateInstances } from './ec2-instances';
import { describeNetworkInterfaces } from './ec2-network-interfaces';
import { createSubnet, createVpc, deleteSubnet, deleteVpc, describeAvailabilityZones, describeSubnets, describeVpcs } from './ec2-network';
import {
  authorizeSecurityGroupIngress,
  createSecurityGroup,
  deleteSecurityGroup,
  describeSecurityGroupRules,
  describeSecurityGroups,
  revokeSecurityGroupIngress,
} from './ec2-security-groups';
import { createTags, deleteTags } from './ec2-tags';
import type { Handler, ServiceDefinition } from './service';
import { children, escapeXml, XML_DECLARATION } from './xml';

/**
 * Amazon EC2 (API version 2016-11-15, ec2Query protocol): results sit directly under
 * `<XResponse>` after `<requestId>`, lists are `<item>`, and errors use the
 * `<Response><Errors><Error>` envelope with `<RequestID>`.
 */
export const EC2_VERSION = '2016-11-15';
const XMLNS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;

const HANDLERS: Readonly<Record<string, Handler>> = {
  CreateVpc: createVpc,
  DescribeVpcs: describeVpcs,
  DeleteVpc: deleteVpc,
  CreateSubnet: createSubnet,
  DescribeSubnets: describeSubnets,
  DeleteSubnet: deleteSubnet,
  DescribeAvailabilityZones: describeAvailabilityZones,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DeleteSecurityGroup: deleteSecurityGroup,
  AuthorizeSecurityGroupIngress: authorizeSecurityGroupIngress,
  RevokeSecurityGroupIngress: revokeSecurityGroupIngress,
  DescribeSecurityGroupRules: describeSecurityGroupRules,
  AllocateAddress: allocateAddress,
  DescribeAddresses: describeAddresses,
  ReleaseAddress: releaseAddress,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
};

export const ec2Service: ServiceDefinition = {
  service: 'ec2',
  version: EC2_VERSION,
  listStyle: 'flat',
  paramErrors: ec2ParamErrors,
  dispatch(action, ctx) {
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!handler) throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`);
    // DryRun answers whether the call would have been allowed, without doing it.
    if (ctx.params.bool('DryRun') === true) throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    return handler(ctx);
  },
  renderResult(action, fields, requestId) {
    return `${XML_DECLARATION}<${action}Response xmlns="${XMLNS}"><requestId>${requestId}</requestId>${children(fields, 'item')}</${action}Response>`;
  },
  renderError(error, requestId) {
    return (
      `${XML_DECLARATION}<Response><Errors><Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error></Errors>` +
      `<RequestID>${requestId}</RequestID></Response>`
    );
  },
  // EC2 throttles with HTTP 503 and "RequestLimitExceeded".
  throttlingError: () => new AwsError('RequestLimitExceeded', 'Request limit exceeded.', 503),
};
