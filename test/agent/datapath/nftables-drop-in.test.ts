import { describeDropIn } from './drop-in-suite';

describeDropIn('nftables', ['nft', 'conntrack'], {
  ruleset: (t) => t.inNode1('nft', 'list', 'ruleset'),
  // An address appears as a key of the dispatch and endpoint maps: `198.51.100.1 . tcp . 8080`.
  mentionsAddress: (ruleset, ip) => ruleset.includes(`${ip} . `),
  hasSctp: (ruleset, ip, port) => ruleset.includes(`${ip} . sctp . ${port}`),
});
