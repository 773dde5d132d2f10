/**
 * ipvs mode on a machine whose kernel has no IPVS (like this CI's): the agent must refuse to
 * start, say why and suggest nftables. Where the kernel has IPVS the refusal cannot be
 * shown, and the suite says so.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { datapathSkipReason } from './topology';

const reason = datapathSkipReason(['ipvsadm']) ?? (spawnSync('ipvsadm', ['-Ln']).status === 0 ? 'this kernel has IPVS, so the refusal cannot be shown' : undefined);
// Skipped with the reason in the title when it cannot run here.
const maybe = reason ? describe.skip : describe;

maybe(`ipvs mode without kernel IPVS${reason ? ` (skipped: ${reason})` : ''}`, () => {
  test('the agent refuses to start with a clear message suggesting nftables', () => {
    const result = spawnSync('npx', ['tsx', 'src/agent/cli.ts', '--mode', 'ipvs', '--node-name', 'node1', '--healthz-bind', '', '--metrics-bind', ''], {
      cwd: resolve(__dirname, '../../..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ferry agent: --mode ipvs is not available on this node: the kernel has no IP Virtual Server support \(ipvsadm -Ln: .*Protocol not available\)\. .*--mode nftables\.$/m);
  });
});
