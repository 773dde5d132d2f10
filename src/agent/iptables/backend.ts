/**
 * Which iptables the iptables mode drives: `iptables-legacy` (the kernel's x_tables) or
 * `iptables-nft` (the same rules, kept in nf_tables). The two do not see each other's rules,
 * so ferry's jumps must go where the host's own rules are, as kube-proxy's image arranges
 * with kubernetes-sigs/iptables-wrappers:
 *
 * 1. the chains kubelet creates (`KUBE-IPTABLES-HINT`, `KUBE-KUBELET-CANARY`) name the
 *    host's backend, looked for with iptables-nft first (cheap), then iptables-legacy;
 * 2. else ferry's own chains, left by an earlier run (a restart keeps its backend);
 * 3. else whichever backend holds more rules (the wrappers' rule before the hints);
 *    nft on a tie, as the wrappers default to it.
 *
 * A backend whose tools are missing is never chosen; `--iptables-backend legacy|nft` skips
 * the detection.
 */
import type { CommandRunner } from '../exec';
import type { IptablesBackend } from '../types';

export type Backend = Exclude<IptablesBackend, 'auto'>;

export interface BackendTools {
  iptables: string;
  restore: string;
  save: string;
}

/** The tools of one backend for one family (4 or 6). */
export function toolsOf(backend: Backend, family: 4 | 6): BackendTools {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  return { iptables: `${base}-${backend}`, restore: `${base}-${backend}-restore`, save: `${base}-${backend}-save` };
}

const KUBELET_HINTS = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m;
const FERRY_CHAINS = /^:FERRY-/m;

/** What `<tool>-save` printed for a backend, both families; undefined when the tool could not run. */
type Saved = string | undefined;

export interface Detection {
  backend: Backend;
  /** Why, for the log. */
  reason: string;
}

/**
 * Decides from the saved rules: pure, so each rule of the order above is table-tested.
 * `nftMangle`: `iptables-nft-save -t mangle` of both families (where kubelet puts its hints).
 */
export function chooseBackend(saved: { nftMangle: Saved; nft: Saved; legacy: Saved }): Detection {
  if (saved.nft === undefined && saved.legacy === undefined) return { backend: 'nft', reason: 'neither iptables-nft-save nor iptables-legacy-save could run; trying nft' };
  if (saved.legacy === undefined) return { backend: 'nft', reason: 'iptables-legacy is not installed' };
  if (saved.nft === undefined) return { backend: 'legacy', reason: 'iptables-nft is not installed' };
  if (KUBELET_HINTS.test(saved.nftMangle ?? '')) return { backend: 'nft', reason: "kubelet's hint chains are in iptables-nft" };
  if (KUBELET_HINTS.test(saved.legacy)) return { backend: 'legacy', reason: "kubelet's hint chains are in iptables-legacy" };
  const ferryNft = FERRY_CHAINS.test(saved.nft);
  const ferryLegacy = FERRY_CHAINS.test(saved.legacy);
  if (ferryNft !== ferryLegacy) return { backend: ferryNft ? 'nft' : 'legacy', reason: `ferry's chains from an earlier run are in iptables-${ferryNft ? 'nft' : 'legacy'}` };
  const nftRules = countRules(saved.nft);
  const legacyRules = countRules(saved.legacy);
  if (legacyRules > nftRules) return { backend: 'legacy', reason: `iptables-legacy holds more rules (${legacyRules} against ${nftRules})` };
  return { backend: 'nft', reason: `iptables-nft holds ${nftRules === legacyRules ? 'as many' : 'more'} rules (${nftRules} against ${legacyRules})` };
}

function countRules(save: string): number {
  return save.split('\n').filter((line) => line.startsWith('-A ')).length;
}

/** Runs the saves (both families) and chooses. Never throws: a tool that cannot run counts as missing. */
export async function detectBackend(run: CommandRunner): Promise<Detection> {
  const save = async (tool: string, args: string[]): Promise<Saved> => {
    try {
      const result = await run(tool, args);
      return result.code === 0 ? result.stdout : undefined;
    } catch {
      return undefined;
    }
  };
  const both = async (backend: Backend, args: string[]): Promise<Saved> => {
    const [v4, v6] = [await save(toolsOf(backend, 4).save, args), await save(toolsOf(backend, 6).save, args)];
    return v4 === undefined ? undefined : `${v4}${v6 ?? ''}`;
  };
  const nftMangle = await both('nft', ['-t', 'mangle']);
  // No `-t` for legacy: naming a table makes the kernel create it.
  return chooseBackend({ nftMangle, nft: await both('nft', []), legacy: await both('legacy', []) });
}
