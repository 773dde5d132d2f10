import { describeKernelDatapath } from './kernel-suite';

describeKernelDatapath('nftables', ['nft', 'conntrack'], {
  ruleset: (t) => t.inNode1('nft', 'list', 'ruleset'),
  hasFerryRules: (ruleset) => /table ip6? ferry\b/.test(ruleset),
  // A ClusterIP appears as a key of the dispatch and endpoint maps: `10.96.0.5 . tcp . 80`.
  mentionsAddress: (ruleset, ip) => ruleset.includes(`${ip} . `),
});
