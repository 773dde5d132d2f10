import { chooseBackend } from '../../../src/agent/iptables/backend';
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
    // The local endpoint goes: its FERRY-SEP- chain (remote endpoints have none) is deleted.
    const next = buildProxyState(services, [...slices.filter((s) => s.metadata!.name !== 'web-abc'), newSlice('web', [['10.244.2.2', { node: 'node2' }]])], newNode(), { nodeName: NODE });
    const plan = planRestore({ family: 4, state: next, previous: first.services, changed: new Set(['default/web:http/TCP']), existing: undefined });
    const declared = plan.text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
    const webChains = new Set(first.services.get('default/web:http/TCP')!.chains.map((c) => c.name));
    for (const chain of declared) expect(['FERRY-SERVICES', 'FERRY-NODEPORTS', 'FERRY-EXTERNAL-SERVICES', ...webChains]).toContain(chain);
    expect(plan.text.match(/^-X .*/gm)).toEqual([expect.stringMatching(/^-X FERRY-SEP-/)]);
    // The remote endpoint is DNATed by the policy rule itself.
    expect(plan.text).toMatch(/^-A FERRY-SVC-\w+ -m comment --comment "default\/web:http -> 10\.244\.2\.2:8080" -p tcp -m tcp -j DNAT --to-destination 10\.244\.2\.2:8080$/m);
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

  test("past 1,000 endpoints (kube-proxy's large cluster mode) per-endpoint rules carry no comment", () => {
    const { services, slices } = representativeCluster();
    const many = Array.from({ length: 1001 }, (_, i): [string] => [`10.245.${Math.floor(i / 250)}.${i % 250}`]);
    const state = buildProxyState(services, [...slices.filter((s) => s.metadata!.name !== 'web-abc'), newSlice('web', many)], newNode(), { nodeName: NODE });
    const text = planRestore({ family: 4, state, previous: new Map(), changed: undefined, existing: new Set() }).text;
    const sep = text.split('\n').filter((l) => l.startsWith('-A FERRY-SEP-'));
    expect(sep.length).toBeGreaterThan(2000);
    expect(sep.filter((l) => l.includes('--comment'))).toEqual([]);
    expect(text).toMatch(/-A FERRY-SERVICES -m comment --comment "default\/web:http cluster IP"/);
  });

  test('serviceChainsIn and cleanupRestore read iptables-save output', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:FERRY-SERVICES - [0:0]\n:FERRY-SEP-AAAAAAAAAAAAAAAA - [0:0]\n:KUBE-SERVICES - [0:0]\nCOMMIT\n';
    expect(serviceChainsIn(save)).toEqual(new Set(['FERRY-SEP-AAAAAAAAAAAAAAAA']));
    expect(cleanupRestore(save, 'nat')).toBe('*nat\n:FERRY-SERVICES - [0:0]\n:FERRY-SEP-AAAAAAAAAAAAAAAA - [0:0]\n-X FERRY-SERVICES\n-X FERRY-SEP-AAAAAAAAAAAAAAAA\nCOMMIT\n');
  });
});

describe('IptablesProxier', () => {
  test('full sync inserts the jumps from the built-in chains that iptables-save does not show, in the same commit', async () => {
    const calls: string[] = [];
    const inputs: string[] = [];
    const run: CommandRunner = async (command, args, input) => {
      calls.push(`${command} ${args.join(' ')}`);
      if (input) inputs.push(input);
      // Everything but the PREROUTING jump is in place already.
      const saved =
        command === 'iptables-nft-save' && args[1] === 'nat'
          ? '*nat\n-A OUTPUT -m comment --comment "ferry service portals" -j FERRY-SERVICES\n-A POSTROUTING -m comment --comment "ferry postrouting rules" -j FERRY-POSTROUTING\nCOMMIT\n'
          : command === 'iptables-nft-save'
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
    await new IptablesProxier({ run, families: [4], backend: 'nft' }).sync(representativeState(), undefined);
    expect(calls).toEqual(['iptables-nft-save -t nat', 'iptables-nft-save -t filter', 'iptables-nft-restore -w 5 --noflush']);
    const jumps = inputs[0]!.split('\n').filter((l) => l.startsWith('-I '));
    expect(jumps).toEqual(['-I PREROUTING -m comment --comment "ferry service portals" -j FERRY-SERVICES']);
    // After the chain it jumps to is declared, before the table's COMMIT.
    const nat = inputs[0]!.split('COMMIT')[0]!;
    expect(nat.indexOf(':FERRY-SERVICES')).toBeLessThan(nat.indexOf('-I PREROUTING'));
  });

  test('--iptables-backend auto follows the host: detected once, before the first sync, then that backend only', async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    const run: CommandRunner = async (command, args) => {
      calls.push(`${command} ${args.join(' ')}`);
      // The host's firewall lives in iptables-legacy.
      if (command === 'iptables-legacy-save') return { code: 0, stdout: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n', stderr: '' };
      if (command === 'iptables-nft-save') return { code: 0, stdout: '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    const proxier = new IptablesProxier({ run, families: [4], log: (l) => lines.push(l) });
    await proxier.sync(representativeState(), undefined);
    await proxier.sync(representativeState(), undefined);
    expect(lines).toEqual(['iptables mode: using iptables-legacy (--iptables-backend auto: iptables-legacy holds more rules (2 against 0))']);
    const used = calls.filter((c) => !c.includes('-save'));
    expect(used.length).toBeGreaterThan(0);
    for (const call of used) expect(call).toMatch(/^iptables-legacy(-restore)? /);
  });

  test('--cleanup removes ferry\'s chains from whichever backend holds them', async () => {
    const restored: string[] = [];
    const run: CommandRunner = async (command, args, input) => {
      if (command === 'iptables-legacy-save') return { code: 0, stdout: args.length === 0 || args[1] === 'nat' ? '*nat\n:FERRY-SERVICES - [0:0]\nCOMMIT\n' : '*filter\nCOMMIT\n', stderr: '' };
      if (command === 'iptables-nft-save') return { code: 0, stdout: '*nat\nCOMMIT\n', stderr: '' };
      if (command.endsWith('-restore')) {
        restored.push(`${command}\n${input}`);
        return { code: 0, stdout: '', stderr: '' };
      }
      // `iptables -D` of a jump that is not there.
      return { code: 1, stdout: '', stderr: 'Bad rule' };
    };
    await new IptablesProxier({ run, families: [4] }).cleanup();
    expect(restored).toEqual(['iptables-legacy-restore\n*nat\n:FERRY-SERVICES - [0:0]\n-X FERRY-SERVICES\nCOMMIT\n']);
  });
});

describe('iptables backend detection (kube-proxy\'s, via kubernetes-sigs/iptables-wrappers)', () => {
  const hint = '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
  const rules = (n: number, chain = 'INPUT') => `*filter\n${Array.from({ length: n }, (_, i) => `-A ${chain} -s 10.0.0.${i}/32 -j ACCEPT`).join('\n')}\nCOMMIT\n`;
  test.each([
    ["kubelet's hint in iptables-nft", { nftMangle: hint, nft: hint, legacy: rules(50) }, 'nft'],
    ["kubelet's hint in iptables-legacy", { nftMangle: '', nft: rules(50), legacy: hint }, 'legacy'],
    ["ferry's chains from an earlier run", { nftMangle: '', nft: rules(50), legacy: '*nat\n:FERRY-SERVICES - [0:0]\nCOMMIT\n' }, 'legacy'],
    ['more rules in iptables-legacy', { nftMangle: '', nft: rules(2), legacy: rules(3) }, 'legacy'],
    ['more rules in iptables-nft', { nftMangle: '', nft: rules(3), legacy: rules(2) }, 'nft'],
    ['a tie (an empty host): nft', { nftMangle: '', nft: '', legacy: '' }, 'nft'],
    ['iptables-legacy missing', { nftMangle: undefined, nft: '', legacy: undefined }, 'nft'],
    ['iptables-nft missing', { nftMangle: undefined, nft: undefined, legacy: rules(1) }, 'legacy'],
  ] as const)('%s', (_, saved, backend) => {
    expect(chooseBackend(saved).backend).toBe(backend);
  });
});
