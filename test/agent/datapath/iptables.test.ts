import { describeKernelDatapath } from './kernel-suite';

describeKernelDatapath('iptables', ['iptables-restore', 'conntrack'], {
  ruleset: async (t) => `${await t.inNode1('iptables-save')}${await t.inNode1('ip6tables-save')}`,
  hasFerryRules: (ruleset) => ruleset.includes('FERRY-'),
  mentionsAddress: (ruleset, ip) => ruleset.includes(`-d ${ip}/`),
});
