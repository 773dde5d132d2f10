/**
 * The agent as a drop-in for kube-proxy, with real packets through namespaces (topology.ts):
 * started as kubeadm starts kube-proxy (`--config <kubeadm's KubeProxyConfiguration>
 * --hostname-override …`), it must masquerade ClusterIP traffic from outside the pod network
 * and only that (the file's clusterCIDR), and serve externalIPs, load balancer IPs (VIP, not
 * Proxy), trafficDistribution: PreferClose and SCTP. nftables-drop-in.test.ts and
 * iptables-drop-in.test.ts run it, each in its own Jest worker and topology.
 *
 * The topology's pods are in 10.244.0.0/16, kubeadm's fixture's clusterCIDR: the client
 * (192.168.50.2) is outside the pod network, pod a (10.244.1.2) inside.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { V1Service } from '@kubernetes/client-node';
import type { ProxyMode } from '../../../src/agent/types';
import { exec } from './support/netns';
import { datapathSkipReason, TCP_PORT, Topology, UDP_PORT, waitUntil, type Pod } from './topology';

export const KUBEADM_CONFIG = resolve(__dirname, '../fixtures/kubeadm-kube-proxy-config.yaml');

const PORTS = [
  { name: 'tcp', port: 80, targetPort: TCP_PORT, protocol: 'TCP' },
  { name: 'udp', port: 53, targetPort: UDP_PORT, protocol: 'UDP' },
];

export interface DropInHooks {
  /** The ruleset text (to see what was, and was not, captured). */
  ruleset(t: Topology): Promise<string>;
  /** Whether the ruleset sends traffic for this address anywhere. */
  mentionsAddress(ruleset: string, ip: string): boolean;
  /** Whether the ruleset has a rule for SCTP to this address and port. */
  hasSctp(ruleset: string, ip: string, port: number): boolean;
}

/**
 * Why real SCTP packets cannot be sent here, or undefined. The rules load without the
 * kernel's SCTP module (nft and iptables match SCTP headers themselves); connecting needs
 * SCTP sockets (the module) and a tool that opens them (socat).
 */
export function sctpSkipReason(): string | undefined {
  if (!existsSync('/proc/sys/net/sctp')) return 'this kernel has no SCTP sockets (no /proc/sys/net/sctp: the sctp module is not loaded)';
  if (datapathSkipReason(['socat'])) return 'needs `socat` to open SCTP sockets';
  return undefined;
}

export function describeDropIn(mode: ProxyMode, tools: string[], hooks: DropInHooks): void {
  const reason = datapathSkipReason(['ip', ...tools]);
  const maybe = reason ? describe.skip : describe;
  maybe(`${mode} as a drop-in for kube-proxy: real packets${reason ? ` (skipped: ${reason})` : ''}`, () => {
    jest.setTimeout(60_000);
    let t: Topology;
    let a: Pod;
    let b: Pod;

    beforeAll(async () => {
      // As kubeadm's DaemonSet runs kube-proxy: the ConfigMap's file and the node's name.
      t = await Topology.create({ mode, agentArgs: ['--config', KUBEADM_CONFIG, '--hostname-override', 'node1'] });
      [a, b] = await Promise.all([t.addPod('a', 'node1'), t.addPod('b', 'node2')]);
      await t.startAgent();
    });
    afterAll(async () => {
      await t?.destroy();
    });

    async function service(name: string, spec: Partial<NonNullable<V1Service['spec']>>, endpoints: Parameters<Topology['setEndpoints']>[1], extraPorts?: Parameters<Topology['setEndpoints']>[2]) {
      const svc = await t.createService(name, { type: 'ClusterIP', ports: PORTS, ...spec });
      await t.setEndpoints(name, endpoints, extraPorts);
      return svc;
    }
    /** Who answered (`name client-address`), `tries` times. */
    async function answers(probe: () => Promise<{ ok: boolean; text?: string; error?: string }>, tries: number, done: (seen: Set<string>) => boolean = () => false) {
      const seen = new Set<string>();
      for (let i = 0; i < tries && !done(seen); i++) {
        const reply = await probe();
        seen.add(reply.ok ? reply.text!.split(' ').slice(0, 2).join(' ') : `error:${reply.error}`);
      }
      return seen;
    }
    const names = (seen: Set<string>) => new Set([...seen].map((s) => s.split(' ')[0]));
    const both = (seen: Set<string>) => names(seen).has('a') && names(seen).has('b');

    test("the agent runs kubeadm's KubeProxyConfiguration: effective options from the file, the flags and its defaults; one warning per field not used", () => {
      const entries = t.agentEntries();
      const effective = entries.find((e) => e.msg === 'effective options') as { options: Record<string, unknown>; sources: Record<string, string> } | undefined;
      expect(effective?.options).toMatchObject({
        mode,
        nodeName: 'node1',
        kubeconfig: t.kubeconfig,
        config: KUBEADM_CONFIG,
        clusterCIDRs: ['10.244.0.0/16'],
        syncPeriodMs: 3000,
        minSyncIntervalMs: 100,
      });
      expect(effective?.sources).toMatchObject({ clusterCIDRs: `--config ${JSON.stringify(KUBEADM_CONFIG)}: clusterCIDR`, mode: '--mode', nodeName: '--hostname-override' });
      const warnings = entries.filter((e) => e.level === 'warn').map((e) => e.msg);
      expect(warnings).toEqual([
        `--config ${JSON.stringify(KUBEADM_CONFIG)}: mode "" means kube-proxy's default (iptables); the agent uses its own default (nftables) unless --mode or mode says otherwise`,
        `--kubeconfig ${JSON.stringify(t.kubeconfig)} wins over --config ${JSON.stringify(KUBEADM_CONFIG)}: clientConnection.kubeconfig "/var/lib/kube-proxy/kubeconfig.conf" (kube-proxy would ignore the flag)`,
      ]);
    });

    test('clusterCIDR: ClusterIP traffic from outside the pod network is masqueraded, from a pod it is not', async () => {
      const svc = await service('masq', {}, [{ pod: b }]);
      const ip = svc.spec!.clusterIP!;
      await waitUntil('masq to answer', 10_000, async () => (await t.tcp(ip, 80, undefined, 400)).ok);
      // b is on node2: without masquerading its reply to the client would not come back through node1's conntrack.
      expect(await answers(() => t.tcp(ip, 80), 3)).toEqual(new Set([`b ${t.node1.ip}`]));
      expect(await answers(() => t.udp(ip, 53), 3)).toEqual(new Set([`b ${t.node1.ip}`]));
      expect(await answers(() => t.tcp(ip, 80, a.namespace), 3)).toEqual(new Set([`b ${a.ip}`]));
    });

    test('externalIPs: captured like the ClusterIP, masqueraded for externalTrafficPolicy Cluster, client kept for Local', async () => {
      await service('ext', { externalIPs: ['203.0.113.10'] }, [{ pod: a }, { pod: b }]);
      await waitUntil('the external IP to answer', 10_000, async () => (await t.tcp('203.0.113.10', 80, undefined, 400)).ok);
      expect(names(await answers(() => t.tcp('203.0.113.10', 80), 40, both))).toEqual(new Set(['a', 'b']));
      // Masqueraded: each pod sees the address node1 reaches it from, never the client's.
      expect([...(await answers(() => t.tcp('203.0.113.10', 80), 10))].filter((s) => s.endsWith(` ${t.client.ip}`))).toEqual([]);
      expect(names(await answers(() => t.udp('203.0.113.10', 53), 40, both))).toEqual(new Set(['a', 'b']));

      await service('extlocal', { externalIPs: ['203.0.113.11'], externalTrafficPolicy: 'Local' }, [{ pod: a }, { pod: b }]);
      await waitUntil('the Local external IP to answer', 10_000, async () => (await t.tcp('203.0.113.11', 80, undefined, 400)).ok);
      expect(await answers(() => t.tcp('203.0.113.11', 80), 10)).toEqual(new Set([`a ${t.client.ip}`]));
      // A pod is not subject to the Local policy (kube-proxy's "short-circuit pod traffic"): it reaches both.
      expect(names(await answers(() => t.tcp('203.0.113.11', 80, a.namespace), 40, both))).toEqual(new Set(['a', 'b']));
    });

    test('load balancer ingress IPs: ipMode VIP (or none) is captured; ipMode Proxy goes on to the load balancer', async () => {
      const lb = await t.addExternalHost('lb', '198.51.100.2');
      const svc = await t.createService('lbip', { type: 'LoadBalancer', ports: [{ name: 'tcp', port: TCP_PORT, targetPort: TCP_PORT, protocol: 'TCP' }] });
      await t.setEndpoints('lbip', [{ pod: a }, { pod: b }]);
      await t.core.replaceNamespacedServiceStatus({
        namespace: 'default',
        name: 'lbip',
        body: { ...svc, status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }, { ip: '198.51.100.3', ipMode: 'VIP' }, { ip: lb.ip, ipMode: 'Proxy' }] } } },
      });
      await waitUntil('the VIP to answer', 10_000, async () => (await t.tcp('198.51.100.1', TCP_PORT, undefined, 400)).ok);
      expect(names(await answers(() => t.tcp('198.51.100.1', TCP_PORT), 40, both))).toEqual(new Set(['a', 'b']));
      expect(names(await answers(() => t.tcp('198.51.100.3', TCP_PORT), 40, both))).toEqual(new Set(['a', 'b']));
      // The Proxy-mode IP is not captured: the packet is routed on, and the load balancer answers.
      expect(await answers(() => t.tcp(lb.ip, TCP_PORT), 5)).toEqual(new Set([`lb ${t.client.ip}`]));
      const ruleset = await hooks.ruleset(t);
      expect([hooks.mentionsAddress(ruleset, '198.51.100.1'), hooks.mentionsAddress(ruleset, lb.ip)]).toEqual([true, false]);
    });

    test("trafficDistribution PreferClose: the endpoints hinted for this node's zone; all of them when none is", async () => {
      const node = await t.core.readNode({ name: 'node1' });
      await t.core.replaceNode({ name: 'node1', body: { ...node, metadata: { ...node.metadata, labels: { ...node.metadata?.labels, 'topology.kubernetes.io/zone': 'zone-a' } } } });
      const svc = await service('close', { trafficDistribution: 'PreferClose' }, [{ pod: a, zones: ['zone-a'] }, { pod: b, zones: ['zone-b'] }]);
      const ip = svc.spec!.clusterIP!;
      await waitUntil('close to answer from zone-a only', 10_000, async () => {
        const seen = await answers(() => t.tcp(ip, 80, undefined, 500), 8);
        return seen.size === 1 && names(seen).has('a');
      });
      expect(names(await answers(() => t.tcp(ip, 80), 20))).toEqual(new Set(['a']));
      // No endpoint hinted for zone-a any more: kube-proxy falls back to every endpoint.
      await t.setEndpoints('close', [{ pod: a, zones: ['zone-b'] }, { pod: b, zones: ['zone-b'] }]);
      await waitUntil('close to fall back to both', 10_000, async () => both(await answers(() => t.tcp(ip, 80, undefined, 500), 20, both)));
      // Hints incomplete (one endpoint has none): every endpoint too.
      await t.setEndpoints('close', [{ pod: a, zones: ['zone-a'] }, { pod: b }]);
      await waitUntil('close to use both with incomplete hints', 10_000, async () => both(await answers(() => t.tcp(ip, 80, undefined, 500), 20, both)));
    });

    test('SCTP: the rules of a Service with an SCTP port load (the kernel module is not needed for them), beside its TCP port', async () => {
      const svc = await service('diameter', { ports: [PORTS[0]!, { name: 'sctp', port: 3868, targetPort: 3868, protocol: 'SCTP' }] }, [{ pod: a }, { pod: b }], [{ name: 'sctp', port: 3868, protocol: 'SCTP' }]);
      const ip = svc.spec!.clusterIP!;
      await waitUntil('diameter\'s TCP port to answer (its transaction loaded)', 10_000, async () => (await t.tcp(ip, 80, undefined, 400)).ok);
      expect(hooks.hasSctp(await hooks.ruleset(t), ip, 3868)).toBe(true);
    });

    const rawReason = datapathSkipReason(['python3']) ?? (existsSync('/proc/sys/net/netfilter/nf_conntrack_sctp_timeout_established') ? undefined : 'this kernel has no SCTP connection tracking, so SCTP cannot be NATed');
    (rawReason ? test.skip : test)(`SCTP: a packet to the ClusterIP is DNATed to the endpoint's port (and masqueraded: it comes from outside the pod network), sent and caught as raw IP${rawReason ? ` (skipped: ${rawReason})` : ''}`, async () => {
      const svc = await service('sctp-raw', { ports: [{ name: 'sctp', port: 3870, targetPort: 3871, protocol: 'SCTP' }] }, [{ pod: b }], [{ name: 'sctp', port: 3871, protocol: 'SCTP' }]);
      const ip = svc.spec!.clusterIP!;
      await waitUntil('the SCTP rules', 10_000, async () => hooks.hasSctp(await hooks.ruleset(t), ip, 3870));
      const probe = resolve(__dirname, 'support/sctp-probe.py');
      const listener = spawn('ip', ['netns', 'exec', b.namespace, 'python3', probe, 'listen', '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let heard = '';
      listener.stdout!.on('data', (d: Buffer) => (heard += d.toString()));
      try {
        await waitUntil('the raw listener', 5000, async () => heard.includes('ready'));
        await waitUntil('an SCTP INIT at the endpoint', 8000, async () => {
          await exec('ip', ['netns', 'exec', t.client.namespace, 'python3', probe, 'send', ip, '3870', '40000'], 5000);
          await new Promise((r) => setTimeout(r, 200));
          return /^\S+ \S+ \d+ \d+$/m.test(heard);
        });
        const [src, dst, , dport] = heard.trim().split('\n').at(-1)!.split(' ');
        expect({ src, dst, dport }).toEqual({ src: t.node1.ip, dst: b.ip, dport: '3871' });
      } finally {
        listener.kill('SIGKILL');
      }
    });

    const sctpReason = sctpSkipReason();
    (sctpReason ? test.skip : test)(`SCTP: an association to the ClusterIP reaches an endpoint${sctpReason ? ` (skipped: ${sctpReason})` : ''}`, async () => {
      // One SCTP echo per pod (socat), then a connect from the client through the ClusterIP.
      const sctpPort = 3869;
      const listeners = [a, b].map((pod) =>
        spawn('ip', ['netns', 'exec', pod.namespace, 'socat', `SCTP-LISTEN:${sctpPort},fork,reuseaddr`, `SYSTEM:echo ${pod.name}`], { stdio: 'ignore', detached: true }),
      );
      try {
        const svc = await service('sctp-echo', { ports: [{ name: 'sctp', port: sctpPort, targetPort: sctpPort, protocol: 'SCTP' }] }, [{ pod: a }, { pod: b }], [{ name: 'sctp', port: sctpPort, protocol: 'SCTP' }]);
        const ip = svc.spec!.clusterIP!;
        await waitUntil('an SCTP answer through the ClusterIP', 15_000, async () => {
          const reply = await exec('ip', ['netns', 'exec', t.client.namespace, 'socat', '-T', '2', '-', `SCTP-CONNECT:${ip}:${sctpPort}`], 5000);
          return /^(a|b)$/m.test(reply.stdout);
        });
      } finally {
        for (const child of listeners) {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    });
  });
}
