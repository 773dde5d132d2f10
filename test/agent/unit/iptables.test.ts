import { IptablesProxier } from '../../../src/agent/iptables/proxier';
import { planRestore, serviceChainsIn, cleanupRestore } from '../../../src/agent/iptables/restore';
import { renderIptablesService } from '../../../src/agent/iptables/service';
import type { CommandRunner } from '../../../src/agent/exec';
import { buildProxyState } from '../../../src/agent/state';
import { newNode, newSlice, NODE, NODE_IP, representativeCluster, representativeState } from './fixtures';

describe('iptables rendering (golden)', () => {
  test('full sync: iptables-restore --noflush input with only FERRY chains', () => {
    const plan = planRestore({ family: 4, state: representativeState(), previous: new Map(), changed: undefined, existing: new Set(['FERRY-SVC-STALESTALESTALE1']) });
    expect(plan.text).toMatchSnapshot();
    // Only ferry's chains are declared (declaring flushes), and a leftover is deleted.
    for (const line of plan.text.split('\n').filter((l) => l.startsWith(':'))) expect(line).toMatch(/^:FERRY-/);
    expect(plan.text).toContain('-X FERRY-SVC-STALESTALESTALE1');
  });

  test.each([
    ['ClusterIP + NodePort, UDP', 'default/web:dns/UDP'],
    ['externalTrafficPolicy Local with a local endpoint', 'default/local-with:http/TCP'],
    ['externalTrafficPolicy Local without a local endpoint', 'default/local-without:http/TCP'],
    ['internalTrafficPolicy Local', 'default/internal:http/TCP'],
    ['ClientIP affinity (recent)', 'default/sticky:http/TCP'],
    ['no endpoints', 'default/empty:http/TCP'],
    ['only serving-terminating endpoints', 'default/leaving:http/TCP'],
  ])('%s', (_, key) => {
    expect(renderIptablesService(representativeState().services.get(key)!, 4, [NODE_IP])).toMatchSnapshot();
  });

  test('statistic probabilities are 1/(N−i), the last rule unconditional', () => {
    const { services } = representativeCluster();
    const slice = newSlice('web', [['10.244.1.1'], ['10.244.1.2'], ['10.244.1.3'], ['10.244.1.4']]);
    const state = buildProxyState(services, [slice], newNode(), { nodeName: NODE });
    const rules = renderIptablesService(state.services.get('default/web:http/TCP')!, 4, [NODE_IP])!.chains.find((c) => c.name.startsWith('FERRY-SVC-'))!.rules;
    expect(rules.map((r) => /--probability (\S+)/.exec(r)?.[1] ?? 'rest')).toEqual(['0.2500000000', '0.3333333333', '0.5000000000', 'rest']);
  });

  test('incremental sync: top-level chains plus the changed Service only; its stale chains are deleted', () => {
    const state = representativeState();
    const first = planRestore({ family: 4, state, previous: new Map(), changed: undefined, existing: new Set() });
    const { services, slices } = representativeCluster();
    const next = buildProxyState(services, [...slices.filter((s) => s.metadata!.name !== 'web-abc'), newSlice('web', [['10.244.1.2']])], newNode(), { nodeName: NODE });
    const plan = planRestore({ family: 4, state: next, previous: first.services, changed: new Set(['default/web:http/TCP']), existing: undefined });
    const declared = plan.text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
    const webChains = new Set(first.services.get('default/web:http/TCP')!.chains.map((c) => c.name));
    for (const chain of declared) expect(['FERRY-SERVICES', 'FERRY-NODEPORTS', 'FERRY-EXTERNAL-SERVICES', ...webChains]).toContain(chain);
    expect(plan.text.match(/^-X .*/gm)).toHaveLength(1);
  });

  test("incremental sync of a deleted Service: its top-level rules are deleted one by one (not the chains rewritten), its chains removed", () => {
    const state = representativeState();
    const first = planRestore({ family: 4, state, previous: new Map(), changed: undefined, existing: new Set() });
    const next = { ...state, services: new Map([...state.services].filter(([k]) => k !== 'default/sticky:http/TCP')) };
    const text = planRestore({ family: 4, state: next, previous: first.services, changed: new Set(['default/sticky:http/TCP']), existing: undefined }).text;
    expect(text).not.toMatch(/^:FERRY-(SERVICES|NODEPORTS)/m);
    expect(text).toMatch(/^-D FERRY-SERVICES -m comment --comment "default\/sticky:http cluster IP" -d 10\.96\.0\.14\/32 .* -j FERRY-SVC-\w+$/m);
    expect(text).toMatch(/^-D FERRY-NODEPORTS .*--dport 30084 -j FERRY-EXT-\w+$/m);
    expect(text.match(/^-X /gm)).toHaveLength(4); // two FERRY-SEP-, FERRY-SVC-, FERRY-EXT-
  });

  test('serviceChainsIn and cleanupRestore read iptables-save output', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:FERRY-SERVICES - [0:0]\n:FERRY-SEP-AAAAAAAAAAAAAAAA - [0:0]\n:KUBE-SERVICES - [0:0]\nCOMMIT\n';
    expect(serviceChainsIn(save)).toEqual(new Set(['FERRY-SEP-AAAAAAAAAAAAAAAA']));
    expect(cleanupRestore(save, 'nat')).toBe('*nat\n:FERRY-SERVICES - [0:0]\n:FERRY-SEP-AAAAAAAAAAAAAAAA - [0:0]\n-X FERRY-SERVICES\n-X FERRY-SEP-AAAAAAAAAAAAAAAA\nCOMMIT\n');
  });
});

describe('IptablesProxier', () => {
  test('full sync inserts the jumps from the built-in chains that iptables-save does not show', async () => {
    const calls: string[] = [];
    const run: CommandRunner = async (command, args) => {
      calls.push(`${command} ${args.join(' ')}`);
      // Everything but the PREROUTING jump is in place already.
      const saved =
        command === 'iptables-save' && args[1] === 'nat'
          ? '*nat\n-A OUTPUT -m comment --comment "ferry service portals" -j FERRY-SERVICES\n-A POSTROUTING -m comment --comment "ferry postrouting rules" -j FERRY-POSTROUTING\nCOMMIT\n'
          : command === 'iptables-save'
            ? [
                '*filter',
                '-A INPUT -m conntrack --ctstate NEW -m comment --comment "ferry externally-visible service portals" -j FERRY-EXTERNAL-SERVICES',
                '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "ferry service portals" -j FERRY-SERVICES',
                '-A FORWARD -m comment --comment "ferry forwarding rules" -j FERRY-FORWARD',
                '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "ferry service portals" -j FERRY-SERVICES',
                'COMMIT',
              ].join('\n')
            : '';
      return { code: 0, stdout: saved, stderr: '' };
    };
    await new IptablesProxier({ run, families: [4] }).sync(representativeState(), undefined);
    expect(calls).toEqual([
      'iptables-save -t nat',
      'iptables-restore -w 5 --noflush',
      'iptables-save -t filter',
      'iptables -w 5 -t nat -I PREROUTING -m comment --comment ferry service portals -j FERRY-SERVICES',
    ]);
  });
});
