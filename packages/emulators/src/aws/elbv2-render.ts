import { loadBalancerAddresses } from './elbv2-subnet-mappings';
import { isMoto, MOTO_HOSTED_ZONE } from './fidelity';
import type { AwsState, Listener, LoadBalancer, TargetGroup } from './state';
import type { XmlValue } from './xml';

/**
 * The ELBv2 response shapes, member names as in the SDK's schemas (LoadBalancer$,
 * TargetGroup$, Listener$ in @aws-sdk/client-elastic-load-balancing-v2).
 */

/** Route 53 hosted zone ids of Network Load Balancers (not ALBs), per region. */
const NLB_HOSTED_ZONES: Readonly<Record<string, string>> = {
  'us-east-1': 'Z26RNL4JYFTOTI',
  'us-east-2': 'ZLMOA37VPKANP',
  'us-west-1': 'Z24FKFUX50B4VW',
  'us-west-2': 'Z18D5FSROUN65G',
  'eu-west-1': 'Z2IFOLAFXWLO4F',
  'eu-central-1': 'Z3F0SRJ5LGBH90',
  'ap-northeast-1': 'Z31USIVHYNEOWT',
  'ap-southeast-1': 'ZKVM4W9LS7TM',
};

export function hostedZoneFor(region: string): string {
  return NLB_HOSTED_ZONES[region] ?? 'Z26RNL4JYFTOTI';
}

/** With a data plane, each zone's node reports the address it listens on (dataplane/). */
export function renderAvailabilityZones(lb: LoadBalancer, state?: AwsState): XmlValue {
  // Static addresses of the subnet mapping first, then the data plane's (elbv2-subnet-mappings.ts).
  return lb.subnets.map((s) => ({ ZoneName: s.az, SubnetId: s.subnetId, LoadBalancerAddresses: loadBalancerAddresses(state, lb, s) }));
}

export function renderLoadBalancer(state: AwsState, lb: LoadBalancer): XmlValue {
  return {
    LoadBalancerArn: lb.arn,
    DNSName: lb.dnsName,
    CanonicalHostedZoneId: isMoto(state) ? MOTO_HOSTED_ZONE : hostedZoneFor(state.region),
    CreatedTime: lb.createdTime,
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: lb.vpcId,
    State: { Code: 'active' },
    Type: lb.type,
    AvailabilityZones: renderAvailabilityZones(lb, state),
    // An NLB created without security groups reports none at all, not an empty list.
    SecurityGroups: lb.securityGroupsEnabled ? lb.securityGroups : undefined,
    IpAddressType: lb.ipAddressType,
    EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: lb.securityGroupsEnabled ? lb.enforceSecurityGroupsOnPrivateLink : undefined,
  };
}

/** `loadBalancerArns`: from `state.loadBalancersByTargetGroup()` when rendering many, so a page does not scan every listener per group. */
export function renderTargetGroup(state: AwsState, tg: TargetGroup, loadBalancerArns = state.loadBalancersOf(tg.arn)): XmlValue {
  const hc = tg.healthCheck;
  return {
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: tg.protocol,
    Port: tg.port,
    VpcId: tg.vpcId,
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: hc.port,
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    HealthCheckPath: hc.path,
    Matcher: hc.matcher === undefined ? undefined : { HttpCode: hc.matcher },
    LoadBalancerArns: loadBalancerArns,
    TargetType: tg.targetType,
    IpAddressType: tg.ipAddressType,
  };
}

export function renderListener(listener: Listener): XmlValue {
  return {
    ListenerArn: listener.arn,
    LoadBalancerArn: listener.loadBalancerArn,
    Port: listener.port,
    Protocol: listener.protocol,
    Certificates: listener.certificates.length > 0 ? listener.certificates.map((arn) => ({ CertificateArn: arn })) : undefined,
    SslPolicy: listener.sslPolicy,
    // AWS reports a forward action both ways: the TargetGroupArn shorthand and the ForwardConfig it expands to.
    DefaultActions: [
      {
        Type: 'forward',
        TargetGroupArn: listener.targetGroupArn,
        ForwardConfig: {
          TargetGroups: [{ TargetGroupArn: listener.targetGroupArn, Weight: 1 }],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      },
    ],
    AlpnPolicy: listener.alpnPolicy,
  };
}
