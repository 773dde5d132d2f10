import { ConfigError } from '../../../src/errors';
import type { Subnet } from '../../../src/model/types';
import { mapAddresses } from '../../../src/plan/subnets';

/** Fixed addresses placed in the NLB's subnets (SubnetMappings), as AWS takes them. */
const subnets: Subnet[] = [
  { id: 'subnet-b', vpcId: 'vpc-1', availabilityZone: 'us-east-1b', cidr: '10.0.1.0/24', ipv6Cidrs: ['2600:1f18:1::/64'], tags: {} },
  { id: 'subnet-a', vpcId: 'vpc-1', availabilityZone: 'us-east-1a', cidr: '10.0.0.0/24', ipv6Cidrs: ['2600:1f18:0::/64'], tags: {} },
];

describe('fixed addresses in subnets', () => {
  test('private IPv4 and IPv6 addresses go to the subnet whose block holds them, in any order', () => {
    expect(mapAddresses({ privateIPv4Addresses: ['10.0.1.9', '10.0.0.9'], ipv6Addresses: ['2600:1f18::9', '2600:1f18:1::9'] }, subnets)).toEqual([
      { subnetId: 'subnet-a', privateIPv4Address: '10.0.0.9', ipv6Address: '2600:1f18::9' },
      { subnetId: 'subnet-b', privateIPv4Address: '10.0.1.9', ipv6Address: '2600:1f18:1::9' },
    ]);
  });

  test('Elastic IPs go in the order of the subnets\' Availability Zones', () => {
    expect(mapAddresses({ allocationIds: ['eipalloc-first', 'eipalloc-second'] }, subnets)).toEqual([
      { subnetId: 'subnet-a', allocationId: 'eipalloc-first' },
      { subnetId: 'subnet-b', allocationId: 'eipalloc-second' },
    ]);
  });

  test.each([
    [{ allocationIds: ['eipalloc-1'] }, /gives 1 Elastic IPs, but the load balancer has 2 subnets \(subnet-a in us-east-1a, subnet-b in us-east-1b\)/],
    [{ privateIPv4Addresses: ['10.0.0.9', '10.9.9.9'] }, /names 10\.9\.9\.9, which lies in none of the load balancer's subnets/],
    [{ privateIPv4Addresses: ['10.0.0.9', '10.0.0.10'] }, /names 10\.0\.0\.9 and 10\.0\.0\.10, both in subnet-a: give one per subnet/],
  ])('%j is refused, saying what to change', (addresses, message) => {
    expect(() => mapAddresses(addresses, subnets)).toThrow(ConfigError);
    expect(() => mapAddresses(addresses, subnets)).toThrow(message);
  });
});
