import { cidrContains, cidrsOverlap, formatIpv4, isPrivateIpv4, parseCidr, parseIpv4 } from '../../src/aws/cidr';
import { matchesFilters, unknownFilter } from '../../src/aws/filters';
import { paginate } from '../../src/aws/paging';
import { decodeForm, Params } from '../../src/aws/query';
import { element, escapeXml } from '../../src/aws/xml';

/** The small building blocks, tested directly where the SDK would hide an edge case. */

const errors = { missing: (f: string) => new Error(`missing ${f}`), invalid: (f: string, v: string) => new Error(`invalid ${f}=${v}`) };

describe('query decoding', () => {
  it('reads awsQuery member lists and nested structures', () => {
    const raw = decodeForm(
      'Names.member.2=b&Names.member.1=a&Tags.member.1.Key=k&Tags.member.1.Value=v+w&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=arn&Matcher.HttpCode=200&Empty=',
    );
    const p = new Params(raw, 'member', errors);
    expect(p.list('Names')).toEqual(['a', 'b']);
    expect(p.structs('Tags')?.map((t) => [t.str('Key'), t.str('Value')])).toEqual([['k', 'v w']]);
    expect(p.structs('DefaultActions')?.[0]?.struct('ForwardConfig')?.structs('TargetGroups')?.[0]?.str('TargetGroupArn')).toBe('arn');
    expect(p.struct('Matcher')?.str('HttpCode')).toBe('200');
    expect(p.list('Empty')).toEqual([]);
    expect(p.list('Absent')).toBeUndefined();
  });

  it('reads ec2Query flat lists, ordering indices numerically', () => {
    const raw = decodeForm('Filter.1.Name=tag%3AName&Filter.1.Value.10=j&Filter.1.Value.2=b&TagSpecification.1.Tag.1.Key=Name&VpcId.1=vpc-1');
    const p = new Params(raw, 'flat', errors);
    expect(p.structs('Filter')?.[0]?.list('Value')).toEqual(['b', 'j']);
    expect(p.structs('Filter')?.[0]?.str('Name')).toBe('tag:Name');
    expect(p.structs('TagSpecification')?.[0]?.structs('Tag')?.[0]?.str('Key')).toBe('Name');
    expect(p.list('VpcId')).toEqual(['vpc-1']);
  });

  it('types scalars and reports what is missing or malformed', () => {
    const p = new Params(decodeForm('Port=80&Bad=8x&Flag=true&Other=yes'), 'member', errors);
    expect(p.int('Port')).toBe(80);
    expect(p.bool('Flag')).toBe(true);
    expect(() => p.int('Bad')).toThrow('invalid Bad=8x');
    expect(() => p.bool('Other')).toThrow('invalid Other=yes');
    expect(() => p.required('Name')).toThrow('missing Name');
  });
});

describe('filters', () => {
  const item = { tags: new Map([['Name', 'web-1'], ['kubernetes.io/cluster/dev', 'owned']]), zone: 'us-east-1a' };
  const fields = { 'availability-zone': (i: typeof item) => i.zone };

  it('ANDs filters, ORs values, and supports * and ? wildcards', () => {
    expect(matchesFilters(item, [{ name: 'tag:Name', values: ['web-*'] }, { name: 'availability-zone', values: ['us-east-1?'] }], fields)).toBe(true);
    expect(matchesFilters(item, [{ name: 'tag:Name', values: ['db', 'web-1'] }], fields)).toBe(true);
    expect(matchesFilters(item, [{ name: 'tag:Name', values: ['web-*'] }, { name: 'availability-zone', values: ['us-east-1b'] }], fields)).toBe(false);
    expect(matchesFilters(item, [{ name: 'tag:Name', values: ['Web-1'] }], fields)).toBe(false);
    expect(matchesFilters(item, [{ name: 'tag:Missing', values: ['*'] }], fields)).toBe(false);
  });

  it('matches tag-key and tag-value, treats regex characters literally and honours \\ escapes', () => {
    expect(matchesFilters(item, [{ name: 'tag-key', values: ['kubernetes.io/cluster/*'] }], fields)).toBe(true);
    expect(matchesFilters(item, [{ name: 'tag-value', values: ['own?d'] }], fields)).toBe(true);
    expect(matchesFilters(item, [{ name: 'tag-key', values: ['kubernetes.io(cluster)*'] }], fields)).toBe(false);
    const starred = { tags: new Map([['k', 'a*b']]) };
    expect(matchesFilters(starred, [{ name: 'tag:k', values: ['a\\*b'] }], {})).toBe(true);
    expect(matchesFilters({ tags: new Map([['k', 'axb']]) }, [{ name: 'tag:k', values: ['a\\*b'] }], {})).toBe(false);
  });

  it('names the first filter a resource type does not know', () => {
    expect(unknownFilter([{ name: 'tag:x', values: [] }, { name: 'nope', values: [] }], fields)).toBe('nope');
    expect(unknownFilter([{ name: 'availability-zone', values: [] }], fields)).toBeUndefined();
  });
});

describe('paging', () => {
  const limits = { defaultSize: 2, min: 1, max: 10 };
  const pageErrors = { badToken: () => new Error('bad token'), badSize: () => new Error('bad size') };

  it('neither skips nor repeats survivors when items are deleted between pages', () => {
    let items = [1, 2, 3, 4, 5].map((seq) => ({ seq }));
    const first = paginate(items, undefined, undefined, limits, pageErrors);
    expect(first.items.map((i) => i.seq)).toEqual([1, 2]);
    items = items.filter((i) => i.seq !== 1 && i.seq !== 3);
    const second = paginate(items, first.next, undefined, limits, pageErrors);
    expect(second.items.map((i) => i.seq)).toEqual([4, 5]);
    expect(second.next).toBeUndefined();
  });

  it('rejects bad tokens and sizes', () => {
    expect(() => paginate([], 'garbage', undefined, limits, pageErrors)).toThrow('bad token');
    expect(() => paginate([], undefined, 11, limits, pageErrors)).toThrow('bad size');
  });
});

describe('xml', () => {
  it('escapes markup and replaces characters XML cannot carry', () => {
    expect(escapeXml(`<a b="c">&'\u0001`)).toBe('&lt;a b=&quot;c&quot;&gt;&amp;&apos;\uFFFD');
    expect(element('Tags', [{ Key: 'k', Value: undefined }, { Key: 'j' }], 'member')).toBe('<Tags><member><Key>k</Key></member><member><Key>j</Key></member></Tags>');
    expect(element('When', new Date(0), 'item')).toBe('<When>1970-01-01T00:00:00.000Z</When>');
  });
});

describe('cidr', () => {
  it('parses, compares and classifies IPv4 ranges', () => {
    expect(parseCidr('10.0.1.5/24')).toBeUndefined();
    expect(parseCidr('10.0.0.0/16')).toEqual({ base: parseIpv4('10.0.0.0'), prefix: 16 });
    expect(cidrContains(parseCidr('10.0.0.0/16')!, parseCidr('10.0.3.0/24')!)).toBe(true);
    expect(cidrsOverlap(parseCidr('10.0.0.0/20')!, parseCidr('10.0.15.0/24')!)).toBe(true);
    expect(cidrsOverlap(parseCidr('10.0.0.0/20')!, parseCidr('10.0.16.0/24')!)).toBe(false);
    expect(formatIpv4(parseIpv4('192.168.255.1')!)).toBe('192.168.255.1');
    expect(isPrivateIpv4(parseIpv4('100.64.0.1')!)).toBe(true);
    expect(isPrivateIpv4(parseIpv4('8.8.8.8')!)).toBe(false);
    expect(parseIpv4('256.1.1.1')).toBeUndefined();
  });
});
