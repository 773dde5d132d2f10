import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { ObservedState } from '../../../src/model/observed';
import { ConfigError, OwnershipError } from '../../../src/errors';
import { buildModel } from '../../../src/model/build';
import { describeAction, type Action } from '../../../src/plan/actions';
import { plan } from '../../../src/plan/plan';
import { CLUSTER, newNode, newNodes, newService, newSubnets, svc } from '../../support/fixtures';
import { emptyObserved, simulate } from '../../support/simulate';

const ctx = { cluster: CLUSTER.clusterName, service: 'default/web' };

function planFor(service: V1Service, nodes: V1Node[], observed: ObservedState): Action[] {
  return plan(buildModel(service, nodes, CLUSTER), observed, ctx);
}

/** Plans from `observed` and applies the plan in memory. */
function converge(service: V1Service, nodes: V1Node[], observed: ObservedState) {
  const actions = planFor(service, nodes, observed);
  return { actions, after: simulate(observed, actions) };
}

const ops = (actions: Action[]) => actions.map((a) => `${a.phase} ${a.op}`);

describe('plan', () => {
  const subnets = newSubnets();
  const created = () => converge(newService('web'), newNodes(3), emptyObserved(subnets)).after;

  test('creates a two-port load balancer from nothing, in dependency order (golden)', () => {
    const actions = planFor(newService('web'), newNodes(3), emptyObserved(subnets));
    expect(actions.map((a) => `${a.phase} ${describeAction(a)}`)).toMatchSnapshot();
  });

  test('a converged state plans nothing', () => {
    expect(planFor(newService('web'), newNodes(3), created())).toEqual([]);
  });

  test('a node added is one RegisterTargets per target group and nothing else', () => {
    const actions = planFor(newService('web'), newNodes(4), created());
    expect(actions).toEqual([
      expect.objectContaining({ op: 'RegisterTargets', targets: [{ id: 'i-00000000000001003', port: 30080 }] }),
      expect.objectContaining({ op: 'RegisterTargets', targets: [{ id: 'i-00000000000001003', port: 30443 }] }),
    ]);
  });

  test('a node removed is one DeregisterTargets per target group and nothing else', () => {
    expect(ops(planFor(newService('web'), newNodes(2), created()))).toEqual(['2 DeregisterTargets', '2 DeregisterTargets']);
  });

  test('300 nodes register in chunks of 200', () => {
    const actions = planFor(newService('web'), newNodes(300), emptyObserved(subnets));
    const registers = actions.filter((a) => a.op === 'RegisterTargets') as Array<Extract<Action, { op: 'RegisterTargets' }>>;
    expect(registers.map((a) => a.targets.length)).toEqual([200, 100, 200, 100]);
  });

  test('adding UDP to a TCP port replaces its target group: new one first, listener repointed, old one last', () => {
    const dns = newService(
      'web',
      svc.ports({ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }, { name: 'quic', port: 443, protocol: 'UDP', nodePort: 30443 }),
    );
    const { actions, after } = converge(dns, newNodes(3), created());
    expect(ops(actions)).toEqual([
      '1 AuthorizeSecurityGroupIngress',
      '1 CreateTargetGroup',
      '2 RegisterTargets',
      '3 ModifyListener',
      '7 DeleteTargetGroup',
    ]);
    expect(after.loadBalancers[0]!.listeners.map((l) => l.protocol)).toEqual(['TCP', 'TCP_UDP']);
    expect(planFor(dns, newNodes(3), after)).toEqual([]);
  });

  test('a scheme change builds the new load balancer before deleting the old one, keeping the security group', () => {
    const publicWeb = newService('web', svc.annotate({ 'ferry.io/scheme': 'internet-facing' }));
    const { actions, after } = converge(publicWeb, newNodes(3), created());
    expect(ops(actions)).toEqual([
      '1 CreateLoadBalancer',
      '1 CreateTargetGroup',
      '1 CreateTargetGroup',
      '2 RegisterTargets',
      '2 RegisterTargets',
      '3 CreateListener',
      '3 CreateListener',
      '6 DeleteLoadBalancer',
      '7 DeleteTargetGroup',
      '7 DeleteTargetGroup',
    ]);
    expect(after.loadBalancers.map((l) => [l.scheme, l.subnets])).toEqual([['internet-facing', ['subnet-puba', 'subnet-pubb', 'subnet-pubc']]]);
    expect(after.securityGroups).toHaveLength(1);
    expect(planFor(publicWeb, newNodes(3), after)).toEqual([]);
  });

  test('a scheme change under a pinned ferry.io/name is refused before anything changes', () => {
    const pinned = (scheme: string) => newService('web', svc.annotate({ 'ferry.io/name': 'edge', 'ferry.io/scheme': scheme }));
    const state = converge(pinned('internal'), newNodes(1), emptyObserved(subnets)).after;
    expect(() => planFor(pinned('internet-facing'), newNodes(1), state)).toThrow(ConfigError);
  });

  test('a dropped port loses its listener, then its target group', () => {
    const one = newService('web', svc.ports({ name: 'http', port: 80, nodePort: 30080 }));
    expect(ops(planFor(one, newNodes(3), created()))).toEqual(['2 RevokeSecurityGroupIngress', '4 DeleteListener', '7 DeleteTargetGroup']);
  });

  test('changed source ranges: new rules before the old ones go', () => {
    const ranged = newService('web', svc.set({ loadBalancerSourceRanges: ['198.51.100.0/24'] }));
    const actions = planFor(ranged, newNodes(3), created());
    expect(ops(actions)).toEqual(['1 AuthorizeSecurityGroupIngress', '2 RevokeSecurityGroupIngress']);
  });

  test('a health check annotation is one ModifyTargetGroup per group', () => {
    const slow = newService('web', svc.annotate({ 'ferry.io/healthcheck-interval': '30' }));
    expect(ops(planFor(slow, newNodes(3), created()))).toEqual(['2 ModifyTargetGroup', '2 ModifyTargetGroup']);
  });

  test('drift made outside ferry is undone: attributes, foreign tags (not aws: ones), subnets', () => {
    const state = created();
    const lb = state.loadBalancers[0]!;
    lb.attributes!['load_balancing.cross_zone.enabled'] = 'true';
    lb.tags = { ...lb.tags, stray: 'x', 'aws:cloudformation:stack-name': 's' };
    lb.subnets = ['subnet-priva'];
    expect(planFor(newService('web'), newNodes(3), state).map(describeAction)).toEqual([
      'move k8s-default-web-7ed1d8500a to subnets subnet-priva, subnet-privb, subnet-privc',
      'set load_balancing.cross_zone.enabled=false on k8s-default-web-7ed1d8500a',
      'remove tags stray from k8s-default-web-7ed1d8500a',
    ]);
  });

  test('switching to own security groups sets them, then deletes the managed one', () => {
    const own = newService('web', svc.annotate({ 'ferry.io/security-groups': 'sg-0123456789abcdef0' }));
    expect(ops(planFor(own, newNodes(3), created()))).toEqual(['2 SetSecurityGroups', '8 DeleteSecurityGroup']);
  });

  test('TLS listeners keep extra certificates separately', () => {
    const cert = (n: number) => `arn:aws:acm:us-east-1:123456789012:certificate/${n}`;
    const tls = (certs: string) => newService('web', svc.annotate({ 'ferry.io/ssl-cert': certs, 'ferry.io/ssl-ports': '443' }));
    const state = converge(tls(`${cert(1)},${cert(2)}`), newNodes(1), created()).after;
    expect(state.loadBalancers[0]!.listeners[1]!.certificates).toEqual([cert(1), cert(2)]);
    expect(planFor(tls(`${cert(1)},${cert(3)}`), newNodes(1), state).map(describeAction)).toEqual([
      'add 1 certificate(s) to listener 443 of k8s-default-web-7ed1d8500a',
      'remove 1 certificate(s) from listener 443 of k8s-default-web-7ed1d8500a',
    ]);
  });

  describe('the empty model', () => {
    const gone = newService('web', svc.deleting());

    test('deletes the load balancer, then target groups, then the security group', () => {
      const { actions, after } = converge(gone, [], created());
      expect(ops(actions)).toEqual(['6 DeleteLoadBalancer', '7 DeleteTargetGroup', '7 DeleteTargetGroup', '8 DeleteSecurityGroup']);
      // The backend group serves the whole cluster: the sweep removes it with the last Service.
      expect({ ...after, backend: undefined }).toEqual({ ...emptyObserved(subnets), subnets, backend: undefined });
      expect(after.backend?.groups.map((g) => g.name)).toEqual(['ferry-backend-test-cluster']);
    });

    test('refuses while ferry.io/deletion-protection is true; lifts the protection once it is not', () => {
      const protectedWeb = newService('web', svc.annotate({ 'ferry.io/deletion-protection': 'true' }));
      const state = converge(protectedWeb, newNodes(3), emptyObserved(subnets)).after;
      const stillProtected = newService('web', svc.deleting(), svc.annotate({ 'ferry.io/deletion-protection': 'true' }));
      expect(() => planFor(stillProtected, [], state)).toThrow(/has deletion protection/);
      expect(ops(planFor(gone, [], state)).slice(0, 2)).toEqual(['5 ModifyLoadBalancerAttributes', '6 DeleteLoadBalancer']);
    });
  });

  describe('ownership', () => {
    test('a load balancer by the wanted name without the cluster tag is refused, untouched', () => {
      const state = created();
      state.loadBalancers[0]!.tags = { Name: 'theirs' };
      expect(() => planFor(newService('web'), newNodes(3), state)).toThrow(
        new OwnershipError('load balancer k8s-default-web-7ed1d8500a is not tagged ferry.io/cluster=test-cluster; ferry does not touch it'),
      );
    });

    test('ferry.io/name naming another Service\'s load balancer is refused', () => {
      const state = converge(newService('web', svc.annotate({ 'ferry.io/name': 'edge' })), newNodes(1), emptyObserved(subnets)).after;
      state.loadBalancers[0]!.tags['ferry.io/service'] = 'default/other';
      expect(() => planFor(newService('web', svc.annotate({ 'ferry.io/name': 'edge' })), newNodes(1), state)).toThrow(
        'annotation ferry.io/name="edge": load balancer edge belongs to Service default/other; ferry does not touch it',
      );
    });

    test('resources of other Services found by name are never deleted', () => {
      const state = created();
      for (const tg of state.targetGroups) tg.tags['ferry.io/service'] = 'default/other';
      state.loadBalancers[0]!.tags['ferry.io/service'] = 'default/other';
      expect(planFor(newService('web', svc.deleting()), [], state).filter((a) => a.op !== 'DeleteSecurityGroup')).toEqual([]);
    });
  });

  describe('subnets', () => {
    test('none eligible is refused with what to tag', () => {
      expect(() => planFor(newService('web'), newNodes(1), emptyObserved([]))).toThrow(
        'no eligible subnets: tag subnets with kubernetes.io/role/internal-elb=1 and kubernetes.io/cluster/test-cluster=owned (or shared), or name them in ferry.io/subnets',
      );
    });

    test('two named subnets in one zone are refused', () => {
      const service = newService('web', svc.annotate({ 'ferry.io/subnets': 'subnet-priva,subnet-puba' }));
      expect(() => planFor(service, newNodes(1), emptyObserved(subnets))).toThrow(/both in us-east-1a; an NLB takes one subnet per Availability Zone/);
    });

    test('discovery spanning two VPCs is refused', () => {
      const other = newSubnets('vpc-99999999').map((s) => ({ ...s, id: `${s.id}-2`, availabilityZone: s.availabilityZone.replace('1a', '1d') }));
      expect(() => planFor(newService('web'), newNodes(1), emptyObserved([...subnets, ...other]))).toThrow(/span several VPCs/);
    });
  });

  test('a targets-only observation plans registrations only', () => {
    const state = { ...created(), scope: 'targets' as const, loadBalancers: [], securityGroups: [] };
    const changed = newService('web', svc.annotate({ 'ferry.io/cross-zone': 'true' }));
    expect(ops(planFor(changed, [...newNodes(3), newNode('node-9')], state))).toEqual(['2 RegisterTargets', '2 RegisterTargets']);
  });
});
