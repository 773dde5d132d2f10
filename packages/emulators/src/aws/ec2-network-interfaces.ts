import { describe, idsNotFound, renderTags } from './ec2-common';
import type { Handler } from './service';
import type { AwsState, Instance } from './state';
import { newTagSet } from './tags';
import type { XmlValue } from './xml';

/**
 * DescribeNetworkInterfaces over the primary interfaces of running instances: a
 * controller finds a node's security groups from its private IP
 * (`addresses.private-ip-address`), its instance (`attachment.instance-id`) or a group
 * (`group-id`). An instance's interface shares its security groups; it is deleted with
 * the instance ("delete on termination"). The interfaces of NLB nodes are not listed.
 */

interface Interface {
  readonly seq: number;
  readonly id: string;
  readonly instance: Instance;
  readonly tags: ReturnType<typeof newTagSet>;
}

function privateDnsName(state: AwsState, ip: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return state.region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${state.region}.compute.internal`;
}

/** A stable locally administered MAC address derived from the interface id. */
function macAddress(id: string): string {
  const hex = id.slice(-10).padStart(10, '0');
  return `0e:${hex.match(/../g)!.join(':')}`;
}

export function interfacesOf(state: AwsState): Interface[] {
  return [...state.instances.values()]
    .filter((i) => i.state === 'running' && i.networkInterfaceId !== undefined)
    .map((instance) => ({ seq: instance.seq, id: instance.networkInterfaceId!, instance, tags: newTagSet() }));
}

export function renderInterfaceForInstance(state: AwsState, instance: Instance): XmlValue {
  const groups = instance.securityGroupIds.map((id) => ({ groupId: id, groupName: state.securityGroups.get(id)?.name }));
  return {
    networkInterfaceId: instance.networkInterfaceId,
    subnetId: instance.subnetId,
    vpcId: instance.vpcId,
    description: '',
    ownerId: state.accountId,
    status: 'in-use',
    macAddress: macAddress(instance.networkInterfaceId ?? ''),
    privateIpAddress: instance.privateIp,
    privateDnsName: privateDnsName(state, instance.privateIp),
    sourceDestCheck: true,
    groupSet: groups,
    attachment: {
      attachmentId: `eni-attach-${(instance.networkInterfaceId ?? '').slice(4)}`,
      deviceIndex: 0,
      networkCardIndex: 0,
      status: 'attached',
      attachTime: instance.launchTime,
      deleteOnTermination: true,
    },
    privateIpAddressesSet: [{ privateIpAddress: instance.privateIp, privateDnsName: privateDnsName(state, instance.privateIp), primary: true }],
    interfaceType: 'interface',
  };
}

function renderInterface(state: AwsState, eni: Interface): XmlValue {
  const base = renderInterfaceForInstance(state, eni.instance) as Record<string, XmlValue>;
  const attachment = base['attachment'] as Record<string, XmlValue>;
  return {
    ...base,
    availabilityZone: eni.instance.az,
    requesterManaged: false,
    attachment: { ...attachment, instanceId: eni.instance.id, instanceOwnerId: state.accountId },
    ipv6AddressesSet: [],
    tagSet: renderTags(eni.tags),
  };
}

export const describeNetworkInterfaces: Handler = ({ state, params }) => {
  const running = interfacesOf(state);
  const page = describe(params, {
    all: running,
    idParam: 'NetworkInterfaceId',
    idOf: (eni) => eni.id,
    notFound: (missing) => idsNotFound('InvalidNetworkInterfaceID.NotFound', 'network interface', missing),
    fields: {
      'network-interface-id': (eni) => eni.id,
      'addresses.private-ip-address': (eni) => eni.instance.privateIp,
      'addresses.primary': () => 'true',
      'private-ip-address': (eni) => eni.instance.privateIp,
      'private-dns-name': (eni) => privateDnsName(state, eni.instance.privateIp),
      'attachment.instance-id': (eni) => eni.instance.id,
      'attachment.instance-owner-id': () => state.accountId,
      'attachment.status': () => 'attached',
      'attachment.device-index': () => '0',
      'attachment.attachment-id': (eni) => `eni-attach-${eni.id.slice(4)}`,
      'availability-zone': (eni) => eni.instance.az,
      'group-id': (eni) => eni.instance.securityGroupIds,
      'group-name': (eni) => eni.instance.securityGroupIds.map((id) => state.securityGroups.get(id)?.name),
      'subnet-id': (eni) => eni.instance.subnetId,
      'vpc-id': (eni) => eni.instance.vpcId,
      'owner-id': () => state.accountId,
      'requester-managed': () => 'false',
      'source-dest-check': () => 'true',
      status: () => 'in-use',
      'interface-type': () => 'interface',
      description: () => '',
      'mac-address': (eni) => macAddress(eni.id),
    },
  });
  return { networkInterfaceSet: page.items.map((eni) => renderInterface(state, eni)), nextToken: page.next };
};
