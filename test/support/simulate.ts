import type { ObservedState } from '../../src/model/observed';
import type { Action } from '../../src/plan/actions';
import { LOAD_BALANCER_ATTRIBUTES, TARGET_GROUP_ATTRIBUTES, attributeDefaults } from '../../src/model/attributes';
import { BACKEND_RESOURCE } from '../../src/model/security';
import { TAG_RESOURCE } from '../../src/model/tags';
import type { Subnet } from '../../src/model/types';

/**
 * Applies planned actions to an observed state in memory, as AWS would, so plan tests can
 * check convergence (plan → apply → plan again plans nothing) without any I/O. The
 * integration suite checks the same against the emulator with the real SDK.
 */
export function simulate(state: ObservedState, actions: readonly Action[]): ObservedState {
  const s: ObservedState = structuredClone({ ...state, scope: 'full' });
  const lb = (name: string) => s.loadBalancers.find((l) => l.name === name)!;
  const tg = (name: string) => s.targetGroups.find((t) => t.name === name)!;
  const sgId = (ref: { managed: string } | { id: string }) =>
    'id' in ref ? ref.id : [...s.securityGroups, ...(s.backend?.groups ?? [])].find((g) => g.name === ref.managed)!.id;
  for (const a of [...actions].sort((x, y) => x.phase - y.phase)) {
    switch (a.op) {
      case 'CreateSecurityGroup': {
        const group = { id: `sg-${a.group.name}`, name: a.group.name, vpcId: a.vpcId, tags: a.group.tags, ingress: [] };
        if (a.group.tags[TAG_RESOURCE] === BACKEND_RESOURCE) s.backend!.groups.push(group);
        else s.securityGroups.push(group);
        break;
      }
      case 'AuthorizeDirectIngress':
        s.backend!.nodeGroups.find((g) => g.id === a.groupId)!.ingress.push(...a.rules);
        break;
      case 'AuthorizeBackendIngress':
        s.backend!.nodeGroups
          .find((g) => g.id === a.groupId)!
          .ingress.push(...a.rules.map((r) => ({ ...r, sourceGroup: sgId(a.backend) })));
        break;
      case 'AuthorizeSecurityGroupIngress':
        s.securityGroups
          .find((g) => g.name === a.group)!
          .ingress.push(...a.rules.map((r) => ({ protocol: r.protocol, fromPort: r.port, toPort: r.port, cidr: r.cidr })));
        break;
      case 'RevokeSecurityGroupIngress': {
        const g = s.securityGroups.find((x) => x.id === a.groupId)!;
        g.ingress = g.ingress.filter((r) => !a.rules.some((x) => JSON.stringify(x) === JSON.stringify(r)));
        break;
      }
      case 'DeleteSecurityGroup':
        s.securityGroups = s.securityGroups.filter((g) => g.id !== a.groupId);
        break;
      case 'CreateLoadBalancer':
        s.loadBalancers.push({
          arn: `arn:lb/${a.name}`,
          name: a.name,
          dnsName: `${a.name}.elb.example`,
          type: 'network',
          scheme: a.scheme,
          vpcId: vpcOf(state.subnets ?? [], a.subnets[0]!),
          ipAddressType: a.ipAddressType,
          subnets: [...a.subnets].sort(),
          securityGroups: a.securityGroups.map(sgId).sort(),
          tags: a.tags,
          attributes: attributeDefaults(LOAD_BALANCER_ATTRIBUTES, { scheme: a.scheme }),
          listeners: [],
        });
        break;
      case 'ModifyLoadBalancerAttributes':
        Object.assign(lb(a.loadBalancer).attributes!, a.attributes);
        break;
      case 'SetSubnets':
        lb(a.loadBalancer).subnets = [...a.subnets].sort();
        break;
      case 'SetSecurityGroups':
        lb(a.loadBalancer).securityGroups = a.securityGroups.map(sgId).sort();
        break;
      case 'SetIpAddressType':
        lb(a.loadBalancer).ipAddressType = a.ipAddressType;
        break;
      case 'DeleteLoadBalancer': {
        const gone = lb(a.loadBalancer);
        s.loadBalancers = s.loadBalancers.filter((l) => l !== gone);
        for (const t of s.targetGroups) t.loadBalancerArns = t.loadBalancerArns.filter((x) => x !== gone.arn);
        break;
      }
      case 'CreateTargetGroup':
        s.targetGroups.push({
          arn: `arn:tg/${a.group.name}`,
          name: a.group.name,
          protocol: a.group.protocol,
          port: a.group.port,
          targetType: a.group.targetType,
          vpcId: a.vpcId,
          loadBalancerArns: [],
          healthCheck: a.group.healthCheck,
          tags: a.group.tags,
          attributes: attributeDefaults(TARGET_GROUP_ATTRIBUTES, { protocol: a.group.protocol, targetType: a.group.targetType }),
          targets: [],
        });
        break;
      case 'ModifyTargetGroup':
        tg(a.targetGroup).healthCheck = a.healthCheck;
        break;
      case 'ModifyTargetGroupAttributes':
        Object.assign(tg(a.targetGroup).attributes!, a.attributes);
        break;
      case 'RegisterTargets':
        tg(a.targetGroup).targets!.push(...a.targets);
        tg(a.targetGroup).targets!.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : x.port - y.port));
        break;
      case 'DeregisterTargets':
        tg(a.targetGroup).targets = tg(a.targetGroup).targets!.filter((t) => !a.targets.some((x) => x.id === t.id && x.port === t.port));
        break;
      case 'DeleteTargetGroup':
        s.targetGroups = s.targetGroups.filter((t) => t.name !== a.targetGroup);
        break;
      case 'AddTags':
        Object.assign(a.kind === 'loadBalancer' ? lb(a.resource).tags : tg(a.resource).tags, a.tags);
        break;
      case 'RemoveTags': {
        const tags = a.kind === 'loadBalancer' ? lb(a.resource).tags : tg(a.resource).tags;
        for (const k of a.keys) delete tags[k];
        break;
      }
      case 'CreateListener':
      case 'ModifyListener': {
        const l = lb(a.loadBalancer);
        l.listeners = l.listeners.filter((x) => x.port !== a.listener.port);
        l.listeners.push({
          arn: `arn:listener/${a.loadBalancer}/${a.listener.port}`,
          port: a.listener.port,
          protocol: a.listener.protocol,
          targetGroupArn: tg(a.listener.targetGroup).arn,
          certificates: a.listener.protocol === 'TLS' ? a.listener.certificates.slice(0, 1) : [],
          sslPolicy: a.listener.sslPolicy,
          alpnPolicy: a.listener.protocol === 'TLS' ? (a.listener.alpnPolicy ?? 'None') : undefined,
          attributes: { 'tcp.idle_timeout.seconds': '350' },
        });
        l.listeners.sort((x, y) => x.port - y.port);
        relink(s);
        break;
      }
      case 'ModifyListenerAttributes':
        Object.assign(lb(a.loadBalancer).listeners.find((x) => x.port === a.port)!.attributes!, a.attributes);
        break;
      case 'AddListenerCertificates': {
        const l = lb(a.loadBalancer).listeners.find((x) => x.port === a.port)!;
        l.certificates = [...l.certificates.slice(0, 1), ...[...l.certificates.slice(1), ...a.certificates].sort()];
        break;
      }
      case 'RemoveListenerCertificates': {
        const l = lb(a.loadBalancer).listeners.find((x) => x.port === a.port)!;
        l.certificates = l.certificates.filter((c, i) => i === 0 || !a.certificates.includes(c));
        break;
      }
      case 'DeleteListener': {
        const l = lb(a.loadBalancer);
        l.listeners = l.listeners.filter((x) => x.port !== a.port);
        relink(s);
        break;
      }
    }
  }
  return s;
}

function relink(s: ObservedState): void {
  for (const t of s.targetGroups) {
    t.loadBalancerArns = s.loadBalancers.filter((l) => l.listeners.some((x) => x.targetGroupArn === t.arn)).map((l) => l.arn);
  }
}

function vpcOf(subnets: readonly Subnet[], id: string): string {
  return subnets.find((x) => x.id === id)?.vpcId ?? 'vpc-unknown';
}

export function emptyObserved(subnets: Subnet[]): ObservedState {
  return { scope: 'full', subnets, loadBalancers: [], targetGroups: [], securityGroups: [], backend: { groups: [], nodeGroups: [], untaggedNodes: [] } };
}
