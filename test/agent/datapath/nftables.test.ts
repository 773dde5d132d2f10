import { describeKernelDatapath } from './kernel-suite';

describeKernelDatapath('nftables', ['nft', 'conntrack'], {
  ruleset: (t) => t.inNode1('nft', 'list', 'ruleset'),
  hasFerryRules: (ruleset) => /table ip6? ferry\b/.test(ruleset),
});
