import { renderCompanion } from '../../../src/agent/ipvs/companion';
import { checkIpvs } from '../../../src/agent/ipvs/proxier';
import { ipvsRestoreInput, parseIpvsSave, renderIpvs } from '../../../src/agent/ipvs/render';
import { ConfigError } from '../../../src/errors';
import { NODE_IP, representativeState } from './fixtures';

describe('ipvs rendering (golden)', () => {
  test('virtual servers per ClusterIP and per node address for each NodePort; scheduler from the annotation or --scheduler; persistence for affinity', () => {
    const desired = renderIpvs(representativeState(), 'lc');
    expect(ipvsRestoreInput([], desired.virtualServers)).toMatchSnapshot();
    expect(desired.boundAddresses).toContain('10.96.0.10');
    expect(desired.noEndpoints).toEqual(
      expect.arrayContaining([
        { protocol: 'tcp', ip: '10.96.0.15', port: 80, verdict: 'reject' },
        { protocol: 'tcp', ip: undefined, port: 30082, verdict: 'drop' },
      ]),
    );
  });

  test('the companion nft rules (masquerade, hairpin, reject/drop without endpoints)', () => {
    expect(renderCompanion(renderIpvs(representativeState(), 'rr'), [NODE_IP])).toMatchSnapshot();
  });

  test('the restore input is a diff: unchanged virtual servers are left alone', () => {
    const save = ['-A -t 10.96.0.10:80 -s rr', '-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1', '-a -t 10.96.0.10:80 -r 10.244.9.9:8080 -m -w 1', '-A -u 10.96.0.99:53 -s rr', '-A -t 10.96.0.14:80 -s rr'].join('\n');
    const current = parseIpvsSave(save);
    const desired = [
      { protocol: 'tcp' as const, address: '10.96.0.10:80', scheduler: 'rr' as const, persistence: undefined, reals: ['10.244.1.2:8080', '10.244.2.2:8080'] },
      { protocol: 'tcp' as const, address: '10.96.0.14:80', scheduler: 'sh' as const, persistence: 60, reals: [] },
    ];
    expect(ipvsRestoreInput(current, desired).trim().split('\n')).toEqual([
      '-D -u 10.96.0.99:53',
      '-d -t 10.96.0.10:80 -r 10.244.9.9:8080',
      '-a -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1',
      '-E -t 10.96.0.14:80 -s sh -p 60',
    ]);
  });
});

describe('ipvs preflight', () => {
  test('refuses to start where the kernel has no IPVS, saying so and suggesting nftables', async () => {
    const run = async () => ({ code: 2, stdout: '', stderr: "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n" });
    const error = await checkIpvs(run).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      "--mode ipvs is not available on this node: the kernel has no IP Virtual Server support (ipvsadm -Ln: Can't initialize ipvs: Protocol not available). Load the ip_vs modules (modprobe ip_vs ip_vs_rr …) or run the agent with --mode nftables.",
    );
  });

  test('passes where ipvsadm works', async () => {
    await expect(checkIpvs(async () => ({ code: 0, stdout: 'IP Virtual Server version 1.2.1', stderr: '' }))).resolves.toBeUndefined();
  });
});
