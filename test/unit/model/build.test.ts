import { buildModel } from '../../../src/model/build';
import { ConfigError } from '../../../src/errors';
import { LOAD_BALANCER_NAME } from '../../../src/model/annotations';
import { LOAD_BALANCER_ATTRIBUTES, TARGET_GROUP_ATTRIBUTES, attributeDefaults } from '../../../src/model/attributes';
import { CLUSTER, newNode, newNodes, newService, node, svc } from '../../support/fixtures';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';
const CERT2 = 'arn:aws:acm:us-east-1:123456789012:certificate/1f3c1c7e-0000-4000-8000-000000000000';

const lbOf = (...args: Parameters<typeof buildModel>) => buildModel(...args).loadBalancer!;

describe('buildModel', () => {
  test('a two-port Service on three nodes (golden)', () => {
    expect(buildModel(newService('web'), newNodes(3), CLUSTER)).toMatchSnapshot();
  });

  test.each([
    ['type ClusterIP', newService('a', svc.set({ type: 'ClusterIP' })), CLUSTER],
    ['another loadBalancerClass', newService('a', svc.set({ loadBalancerClass: 'example.com/other' })), CLUSTER],
    ['being deleted', newService('a', svc.deleting()), CLUSTER],
    ['no class while unclassed Services are not claimed', newService('a'), { ...CLUSTER, claimUnclassedServices: false }],
  ])('%s builds the empty model', (_, service, config) => {
    expect(buildModel(service, newNodes(3), config)).toEqual({
      service: { namespace: 'default', name: 'a', uid: 'uid-a' },
      loadBalancer: null,
      deletionProtection: false,
    });
  });

  test('the empty model remembers deletion protection, even beside an invalid annotation', () => {
    const service = newService('a', svc.deleting(), svc.annotate({ 'ferry.io/deletion-protection': 'true', 'ferry.io/scheme': 'bogus' }));
    expect(buildModel(service, [], CLUSTER).deletionProtection).toBe(true);
  });

  test('ferry.io/nlb class is served even when unclassed Services are not', () => {
    const service = newService('a', svc.set({ loadBalancerClass: 'ferry.io/nlb' }));
    expect(buildModel(service, newNodes(1), { ...CLUSTER, claimUnclassedServices: false }).loadBalancer).not.toBeNull();
  });

  describe('ports', () => {
    test('the same port on TCP and UDP becomes one TCP_UDP listener and target group', () => {
      const service = newService(
        'dns',
        svc.ports({ name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30053 }, { name: 'dns-udp', port: 53, protocol: 'UDP', nodePort: 30053 }),
      );
      const lb = lbOf(service, newNodes(2), CLUSTER);
      expect(lb.listeners).toEqual([expect.objectContaining({ port: 53, protocol: 'TCP_UDP' })]);
      expect(lb.targetGroups).toEqual([expect.objectContaining({ protocol: 'TCP_UDP', port: 30053, servicePort: 53 })]);
      expect(lb.securityGroups).toEqual({
        managed: expect.objectContaining({
          ingress: [
            { protocol: 'tcp', port: 53, cidr: '0.0.0.0/0' },
            { protocol: 'udp', port: 53, cidr: '0.0.0.0/0' },
          ],
        }),
      });
    });

    test.each([
      [
        'SCTP',
        svc.ports({ name: 'sig', port: 3868, protocol: 'SCTP', nodePort: 30868 }),
        'spec.ports[0] (sig) uses protocol SCTP: Network Load Balancers carry TCP and UDP only; change the port to TCP or UDP, or serve it without ferry',
      ],
      [
        'TCP and UDP on different NodePorts',
        svc.ports({ name: 't', port: 53, protocol: 'TCP', nodePort: 30053 }, { name: 'u', port: 53, protocol: 'UDP', nodePort: 30054 }),
        'spec.ports[1] (u): port 53 is on TCP (nodePort 30053) and UDP (nodePort 30054); an NLB serves both as one TCP_UDP listener, so give them the same nodePort',
      ],
      [
        'allocateLoadBalancerNodePorts false',
        (s: Parameters<ReturnType<typeof svc.set>>[0]) => {
          s.spec!.allocateLoadBalancerNodePorts = false;
          s.spec!.ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
        },
        "spec.ports[0] (http) has no nodePort because spec.allocateLoadBalancerNodePorts is false: ferry's target groups point at NodePorts; set it to true or give every port a nodePort",
      ],
      ['no ports', svc.ports(), 'spec.ports is empty: a load balancer needs at least one port'],
    ])('refuses %s', (_, tweak, message) => {
      expect(() => buildModel(newService('a', tweak), newNodes(3), CLUSTER)).toThrow(new ConfigError(message));
    });
  });

  describe('nodes and targets', () => {
    test('instance targets at the NodePort when every node has an AWS providerID', () => {
      const [tg] = lbOf(newService('a'), newNodes(2), CLUSTER).targetGroups;
      expect(tg!.targetType).toBe('instance');
      expect(tg!.targets).toEqual([
        { id: 'i-00000000000001000', port: 30080 },
        { id: 'i-00000000000001001', port: 30080 },
      ]);
    });

    test('ip targets from InternalIP when any node lacks an AWS providerID', () => {
      const nodes = [newNode('node-0'), newNode('node-1', node.noProviderID())];
      const [tg] = lbOf(newService('a'), nodes, CLUSTER).targetGroups;
      expect(tg!.targetType).toBe('ip');
      expect(tg!.targets.map((t) => t.id)).toEqual(['10.0.0.10', '10.0.1.10']);
    });

    test('excluded, autoscaler-tainted and deleting nodes get no traffic; readiness does not matter', () => {
      const nodes = [
        newNode('node-0'),
        newNode('node-1', node.label({ 'node.kubernetes.io/exclude-from-external-load-balancers': '' })),
        newNode('node-2', node.taint('ToBeDeletedByClusterAutoscaler')),
        newNode('node-3', node.deleting()),
        newNode('node-4', (n) => (n.status!.conditions = [{ type: 'Ready', status: 'False' }])),
      ];
      expect(lbOf(newService('a'), nodes, CLUSTER).targetGroups[0]!.targets.map((t) => t.id)).toEqual([
        'i-00000000000001000',
        'i-00000000000001004',
      ]);
    });

    test('ferry.io/target-node-labels keeps nodes carrying every label', () => {
      const nodes = [newNode('node-0', node.label({ pool: 'edge', public: '' })), newNode('node-1', node.label({ pool: 'edge' })), newNode('node-2')];
      const service = newService('a', svc.annotate({ 'ferry.io/target-node-labels': 'pool=edge,public' }));
      expect(lbOf(service, nodes, CLUSTER).targetGroups[0]!.targets.map((t) => t.id)).toEqual(['i-00000000000001000']);
    });

    test.each([
      ['no nodes at all', [], 'no eligible nodes: the cluster has no Nodes'],
      [
        'every node excluded',
        newNodes(2, node.label({ 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' })),
        'no eligible nodes: all 2 Nodes are being deleted, excluded (node.kubernetes.io/exclude-from-external-load-balancers, ToBeDeletedByClusterAutoscaler) or filtered out by ferry.io/target-node-labels',
      ],
    ])('refuses a Service with %s', (_, nodes, message) => {
      expect(() => buildModel(newService('a'), nodes, CLUSTER)).toThrow(new ConfigError(message));
    });

    test('refuses instance targets when no node has an AWS providerID', () => {
      const service = newService('a', svc.annotate({ 'ferry.io/target-type': 'instance' }));
      expect(() => buildModel(service, newNodes(2, node.noProviderID()), CLUSTER)).toThrow(
        'no eligible nodes: none of the 2 candidate Nodes has an AWS providerID (aws:///<az>/<instance-id>); use ferry.io/target-type=ip',
      );
    });
  });

  describe('health checks', () => {
    test('a path without a port checks the traffic port (the agent\'s port answers /healthz only); Local keeps its healthCheckNodePort', () => {
      const path = { 'ferry.io/healthcheck-path': '/ready' };
      expect(lbOf(newService('a', svc.annotate(path)), newNodes(1), CLUSTER).targetGroups[0]!.healthCheck).toMatchObject({ port: 'traffic-port', path: '/ready' });
      expect(lbOf(newService('a', svc.annotate(path), svc.local(32100)), newNodes(1), CLUSTER).targetGroups[0]!.healthCheck).toMatchObject({ port: 32100, path: '/ready' });
      expect(lbOf(newService('a', svc.annotate({ ...path, 'ferry.io/healthcheck-port': '8080' })), newNodes(1), CLUSTER).targetGroups[0]!.healthCheck).toMatchObject({ port: 8080 });
    });

    test('externalTrafficPolicy Cluster checks the node agent on 10256', () => {
      expect(lbOf(newService('a'), newNodes(1), CLUSTER).targetGroups[0]!.healthCheck).toEqual({
        protocol: 'HTTP',
        port: 10256,
        path: '/healthz',
        successCodes: '200-399',
        intervalSeconds: 10,
        timeoutSeconds: 6,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      });
    });

    test('externalTrafficPolicy Local checks the healthCheckNodePort', () => {
      expect(lbOf(newService('a', svc.local(32123)), newNodes(1), CLUSTER).targetGroups[0]!.healthCheck.port).toBe(32123);
    });

    test('annotations override the health check', () => {
      const service = newService(
        'a',
        svc.annotate({
          'ferry.io/healthcheck-protocol': 'TCP',
          'ferry.io/healthcheck-port': 'traffic-port',
          'ferry.io/healthcheck-interval': '30',
          'ferry.io/healthcheck-timeout': '10',
          'ferry.io/healthcheck-healthy-threshold': '3',
          'ferry.io/healthcheck-unhealthy-threshold': '4',
        }),
      );
      expect(lbOf(service, newNodes(1), CLUSTER).targetGroups[0]!.healthCheck).toEqual({
        protocol: 'TCP',
        port: 'traffic-port',
        intervalSeconds: 30,
        timeoutSeconds: 10,
        healthyThreshold: 3,
        unhealthyThreshold: 4,
      });
    });
  });

  describe('target group attributes', () => {
    test('ClientIP affinity turns on source_ip stickiness; proxy protocol and delay per annotation', () => {
      const service = newService(
        'a',
        svc.set({ sessionAffinity: 'ClientIP' }),
        svc.annotate({ 'ferry.io/proxy-protocol': 'https', 'ferry.io/deregistration-delay': '15' }),
      );
      const [http, https] = lbOf(service, newNodes(1), CLUSTER).targetGroups;
      expect(http!.attributes).toMatchObject({
        'deregistration_delay.timeout_seconds': '15',
        'proxy_protocol_v2.enabled': 'false',
        'stickiness.enabled': 'true',
        'stickiness.type': 'source_ip',
      });
      expect(https!.attributes['proxy_protocol_v2.enabled']).toBe('true');
    });

    test('every attribute AWS documents is managed, at its default unless annotated', () => {
      const [tcp] = lbOf(newService('a'), newNodes(1), CLUSTER).targetGroups;
      expect(tcp!.attributes).toEqual(attributeDefaults(TARGET_GROUP_ATTRIBUTES, { protocol: 'TCP', targetType: 'instance' }));
      expect(tcp!.attributes['preserve_client_ip.enabled']).toBe('true');
      const [ip] = lbOf(newService('a', svc.annotate({ 'ferry.io/target-type': 'ip' })), newNodes(1), CLUSTER).targetGroups;
      // AWS: client IP preservation is off by default for ip targets over TCP.
      expect(ip!.attributes['preserve_client_ip.enabled']).toBe('false');
    });

    test('ferry.io/target-group-attributes passes documented attributes through to every target group', () => {
      const service = newService(
        'a',
        svc.annotate({ 'ferry.io/target-group-attributes': 'preserve_client_ip.enabled=false, deregistration_delay.connection_termination.enabled=true' }),
      );
      for (const tg of lbOf(service, newNodes(1), CLUSTER).targetGroups) {
        expect(tg.attributes).toMatchObject({ 'preserve_client_ip.enabled': 'false', 'deregistration_delay.connection_termination.enabled': 'true' });
      }
    });

    test('attributes AWS refuses for UDP are refused up front, naming the port', () => {
      const service = newService(
        'a',
        svc.ports({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
        svc.annotate({ 'ferry.io/target-group-attributes': 'preserve_client_ip.enabled=false' }),
      );
      expect(() => buildModel(service, newNodes(1), CLUSTER)).toThrow(/preserve_client_ip\.enabled=false, but port 53 is UDP/);
    });

    test('stickiness follows the session affinity; an attribute saying otherwise is refused', () => {
      const service = newService('a', svc.annotate({ 'ferry.io/target-group-attributes': 'stickiness.enabled=true' }));
      expect(() => buildModel(service, newNodes(1), CLUSTER)).toThrow(/stickiness\.enabled=true but spec\.sessionAffinity is None/);
    });

    test('a port selector naming a port the Service lacks is refused', () => {
      const service = newService('a', svc.annotate({ 'ferry.io/proxy-protocol': 'grpc' }));
      expect(() => buildModel(service, newNodes(1), CLUSTER)).toThrow(
        'annotation ferry.io/proxy-protocol names grpc, which the Service has no port for',
      );
    });
  });

  describe('load balancer and listener settings', () => {
    // AWS's defaults are the planner's to apply: an adopted NLB keeps whatever its owner set.
    test('load balancer attributes: the pass-through, then the named annotations; nothing implicit', () => {
      const lb = lbOf(
        newService('a', svc.annotate({ 'ferry.io/load-balancer-attributes': 'access_logs.s3.enabled=true,access_logs.s3.bucket=my-logs,dns_record.client_routing_policy=availability_zone_affinity', 'ferry.io/cross-zone': 'true' })),
        newNodes(1),
        CLUSTER,
      );
      expect(lb.attributes).toEqual({
        'access_logs.s3.enabled': 'true',
        'access_logs.s3.bucket': 'my-logs',
        'dns_record.client_routing_policy': 'availability_zone_affinity',
        'load_balancing.cross_zone.enabled': 'true',
      });
    });

    test('listener attributes go to TCP listeners only; ALPN to TLS listeners', () => {
      const service = newService(
        'a',
        svc.ports({ name: 'raw', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'tls', port: 443, protocol: 'TCP', nodePort: 30443 }),
        svc.annotate({ 'ferry.io/listener-attributes': 'tcp.idle_timeout.seconds=900', 'ferry.io/ssl-cert': CERT, 'ferry.io/ssl-ports': 'tls', 'ferry.io/alpn-policy': 'HTTP2Preferred' }),
      );
      const [raw, tls] = lbOf(service, newNodes(1), CLUSTER).listeners;
      expect(raw).toMatchObject({ protocol: 'TCP', attributes: { 'tcp.idle_timeout.seconds': '900' } });
      expect(raw!.alpnPolicy).toBeUndefined();
      expect(tls).toMatchObject({ protocol: 'TLS', attributes: {}, alpnPolicy: 'HTTP2Preferred' });
    });

    test('ferry.io/backend-protocol=tls re-encrypts to the nodes: TLS target groups behind TLS listeners, under new names', () => {
      const plain = lbOf(newService('a', svc.annotate({ 'ferry.io/ssl-cert': CERT })), newNodes(1), CLUSTER);
      const tls = lbOf(newService('a', svc.annotate({ 'ferry.io/ssl-cert': CERT, 'ferry.io/backend-protocol': 'tls' })), newNodes(1), CLUSTER);
      expect(tls.targetGroups.map((tg) => tg.protocol)).toEqual(['TLS', 'TLS']);
      expect(tls.targetGroups[0]!.name).not.toBe(plain.targetGroups[0]!.name);
      expect(tls.targetGroups[0]!.attributes['preserve_client_ip.enabled']).toBe('true');
    });

    test('fixed addresses are part of the load balancer name (AWS sets them only at creation)', () => {
      const one = lbOf(newService('a', svc.annotate({ 'ferry.io/private-ipv4-addresses': '10.0.0.10' })), newNodes(1), CLUSTER);
      const other = lbOf(newService('a', svc.annotate({ 'ferry.io/private-ipv4-addresses': '10.0.0.11' })), newNodes(1), CLUSTER);
      const none = lbOf(newService('a'), newNodes(1), CLUSTER);
      expect(one.addresses).toEqual({ privateIPv4Addresses: ['10.0.0.10'] });
      expect(new Set([one.name, other.name, none.name]).size).toBe(3);
    });
  });

  describe('backend security group rules', () => {
    test('the NodePort range once per protocol and the agent\'s health port, whatever the Service\'s ports', () => {
      const lb = lbOf(
        newService('a', svc.ports({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 31053 }, { name: 'web', port: 80, protocol: 'TCP', nodePort: 30080 })),
        newNodes(1),
        CLUSTER,
      );
      expect(lb.backend).toEqual({
        group: { name: 'ferry-backend-test-cluster', description: expect.any(String), tags: { 'ferry.io/cluster': 'test-cluster', 'ferry.io/service': 'cluster-wide', 'ferry.io/resource': 'BackendSecurityGroup' } },
        rules: [
          { protocol: 'tcp', fromPort: 10256, toPort: 10256 },
          { protocol: 'tcp', fromPort: 30000, toPort: 32767 },
          { protocol: 'udp', fromPort: 30000, toPort: 32767 },
        ],
        nodeGroupTag: 'kubernetes.io/cluster/test-cluster',
      });
    });

    test('turned off by ferry.io/manage-backend-security-group-rules=false', () => {
      expect(lbOf(newService('a', svc.annotate({ 'ferry.io/manage-backend-security-group-rules': 'false' })), newNodes(1), CLUSTER).backend).toBeNull();
    });

    test('a Service bringing five security groups leaves no room for the backend group', () => {
      const five = Array.from({ length: 5 }, (_, i) => `sg-0000000${i}`).join(',');
      expect(() => buildModel(newService('a', svc.annotate({ 'ferry.io/security-groups': five })), newNodes(1), CLUSTER)).toThrow(/name at most 4/);
    });
  });

  describe('TLS', () => {
    test('ssl-cert alone makes every TCP port a TLS listener with the default policy', () => {
      const service = newService('a', svc.annotate({ 'ferry.io/ssl-cert': `${CERT},${CERT2}` }));
      expect(lbOf(service, newNodes(1), CLUSTER).listeners).toEqual([
        expect.objectContaining({ port: 80, protocol: 'TLS', certificates: [CERT, CERT2], sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' }),
        expect.objectContaining({ port: 443, protocol: 'TLS' }),
      ]);
    });

    test('ssl-ports picks ports by name or number; target groups stay TCP', () => {
      const service = newService('a', svc.annotate({ 'ferry.io/ssl-cert': CERT, 'ferry.io/ssl-ports': 'https' }));
      const lb = lbOf(service, newNodes(1), CLUSTER);
      expect(lb.listeners.map((l) => [l.port, l.protocol, l.certificates.length])).toEqual([
        [80, 'TCP', 0],
        [443, 'TLS', 1],
      ]);
      expect(lb.targetGroups.map((t) => t.protocol)).toEqual(['TCP', 'TCP']);
    });

    test('naming a UDP port in ssl-ports is refused', () => {
      const service = newService(
        'a',
        svc.ports({ name: 'q', port: 443, protocol: 'UDP', nodePort: 30443 }),
        svc.annotate({ 'ferry.io/ssl-cert': CERT, 'ferry.io/ssl-ports': 'q' }),
      );
      expect(() => buildModel(service, newNodes(1), CLUSTER)).toThrow(
        'annotation ferry.io/ssl-ports names port 443 (UDP): only TCP ports can be TLS listeners',
      );
    });
  });

  describe('security groups', () => {
    test('loadBalancerSourceRanges become the managed group rules, per listener protocol', () => {
      const service = newService('a', svc.set({ loadBalancerSourceRanges: ['203.0.113.0/24', '2001:DB8::/32'] }), svc.ports({ name: 'x', port: 80, nodePort: 30080 }));
      const sg = lbOf(service, newNodes(1), CLUSTER).securityGroups;
      expect('managed' in sg && sg.managed.ingress).toEqual([
        { protocol: 'tcp', port: 80, cidr: '2001:db8::/32' },
        { protocol: 'tcp', port: 80, cidr: '203.0.113.0/24' },
      ]);
    });

    test('an invalid source range names its index', () => {
      const service = newService('a', svc.set({ loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.300/32'] }));
      expect(() => buildModel(service, newNodes(1), CLUSTER)).toThrow(
        'spec.loadBalancerSourceRanges[1] "10.0.0.300/32" is not a CIDR: write an IPv4 or IPv6 block such as 203.0.113.0/24',
      );
    });

    test('own security groups replace the managed one, and cannot be combined with source ranges', () => {
      const own = newService('a', svc.annotate({ 'ferry.io/security-groups': 'sg-0123456789abcdef0' }));
      expect(lbOf(own, newNodes(1), CLUSTER).securityGroups).toEqual({ ids: ['sg-0123456789abcdef0'] });
      own.spec!.loadBalancerSourceRanges = ['10.0.0.0/8'];
      expect(() => buildModel(own, newNodes(1), CLUSTER)).toThrow(/needs the security group ferry manages/);
    });
  });

  describe('names and tags', () => {
    test('names fit AWS rules, even for long namespaces and names', () => {
      const service = newService('a-very-long-service-name.with.dots', (s) => (s.metadata!.namespace = 'team-platform-production'));
      const lb = lbOf(service, newNodes(1), CLUSTER);
      for (const name of [lb.name, ...lb.targetGroups.map((t) => t.name)]) {
        expect(name).toMatch(LOAD_BALANCER_NAME);
        expect(name.length).toBeLessThanOrEqual(32);
      }
      expect(lb.name).toMatch(/^k8s-teamplat-averylon-[0-9a-f]{10}$/);
    });

    test('a scheme change renames the load balancer and its target groups; a NodePort change renames nothing', () => {
      const before = lbOf(newService('a'), newNodes(1), CLUSTER);
      const scheme = lbOf(newService('a', svc.annotate({ 'ferry.io/scheme': 'internet-facing' })), newNodes(1), CLUSTER);
      const nodePort = lbOf(newService('a', svc.ports({ name: 'http', port: 80, nodePort: 31000 }, { name: 'https', port: 443, nodePort: 30443 })), newNodes(1), CLUSTER);
      expect(scheme.name).not.toBe(before.name);
      expect(scheme.targetGroups[0]!.name).not.toBe(before.targetGroups[0]!.name);
      expect(nodePort.name).toBe(before.name);
      expect(nodePort.targetGroups[0]!.name).toBe(before.targetGroups[0]!.name);
      expect(nodePort.targetGroups[0]!.targets[0]!.port).toBe(31000);
    });

    test('ferry.io/name pins the load balancer name', () => {
      const lb = lbOf(newService('a', svc.annotate({ 'ferry.io/name': 'my-edge' })), newNodes(1), CLUSTER);
      expect(lb).toEqual(expect.objectContaining({ name: 'my-edge', explicitName: true }));
    });

    test('additional tags go on every resource beside the ownership tags', () => {
      const lb = lbOf(newService('a', svc.annotate({ 'ferry.io/additional-tags': 'team=web' })), newNodes(1), CLUSTER);
      expect(lb.tags).toEqual({ team: 'web', 'ferry.io/cluster': 'test-cluster', 'ferry.io/service': 'default/a', 'ferry.io/resource': 'LoadBalancer' });
      expect(lb.targetGroups[1]!.tags['ferry.io/resource']).toBe('default/a:443');
      expect('managed' in lb.securityGroups && lb.securityGroups.managed.tags.team).toBe('web');
    });
  });

  test('subnets: explicit IDs and names, or discovery by role for the scheme', () => {
    const explicit = lbOf(newService('a', svc.annotate({ 'ferry.io/subnets': 'subnet-b, edge-a, subnet-a' })), newNodes(1), CLUSTER);
    expect(explicit.subnets).toEqual({ kind: 'explicit', ids: ['subnet-a', 'subnet-b'], names: ['edge-a'] });
    const publicLb = lbOf(newService('a', svc.annotate({ 'ferry.io/scheme': 'internet-facing' })), newNodes(1), CLUSTER);
    expect(publicLb.subnets).toEqual({ kind: 'discover', roleTag: 'kubernetes.io/role/elb', clusterTag: 'kubernetes.io/cluster/test-cluster' });
  });

  test('dualstack cannot serve UDP', () => {
    const service = newService('a', svc.ports({ name: 'u', port: 53, protocol: 'UDP', nodePort: 30053 }), svc.annotate({ 'ferry.io/ip-address-type': 'dualstack' }));
    expect(() => buildModel(service, newNodes(1), CLUSTER)).toThrow(/dualstack cannot serve UDP ports/);
  });
});
