import { describeDropIn } from './drop-in-suite';

describeDropIn('iptables', ['iptables-restore', 'conntrack'], {
  ruleset: async (t) => `${await t.inNode1('iptables-save')}${await t.inNode1('ip6tables-save')}`,
  mentionsAddress: (ruleset, ip) => ruleset.includes(`-d ${ip}/`),
  // iptables-save prints the comment match between the protocol and the sctp match.
  hasSctp: (ruleset, ip, port) => new RegExp(`^-A FERRY-SERVICES -d ${ip.replaceAll('.', '\\.')}/32 -p sctp .*-m sctp --dport ${port} `, 'm').test(ruleset),
});
