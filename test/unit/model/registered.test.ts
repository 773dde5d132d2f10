import { buildModel } from '../../../src/model/build';
import { MAX_REGISTERED_BYTES, REGISTERED_ANNOTATION, formatRegistered, observedFromRecord, readRegistered } from '../../../src/model/registered';
import type { LoadBalancerSpec } from '../../../src/model/types';
import { CLUSTER, newNodes, newService, svc } from '../../support/fixtures';

const arnOf = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/0123456789abcdef`;
const arns = (spec: LoadBalancerSpec) => new Map(spec.targetGroups.map((tg) => [tg.name, arnOf(tg.name)]));
const withRecord = (text: string | undefined) => newService('web', svc.annotate(text === undefined ? {} : { [REGISTERED_ANNOTATION]: text }));

describe('the record of registered targets', () => {
  const spec = buildModel(newService('web'), newNodes(100), CLUSTER).loadBalancer!;

  test('round-trips, writing 100 shared node IDs once however many groups there are', () => {
    const text = formatRegistered(spec, arns(spec))!;
    expect(text.match(/i-/g)).toHaveLength(100);
    const read = readRegistered(withRecord(text));
    expect([...read.keys()]).toEqual(spec.targetGroups.map((tg) => tg.name));
    for (const tg of spec.targetGroups) expect(read.get(tg.name)).toEqual({ arn: arnOf(tg.name), targets: tg.targets });
  });

  test('groups with different targets are written one by one', () => {
    const [a, b] = spec.targetGroups;
    const uneven = { ...spec, targetGroups: [a!, { ...b!, targets: b!.targets.slice(0, 3) }] };
    const read = readRegistered(withRecord(formatRegistered(uneven, arns(uneven))!));
    expect(read.get(b!.name)!.targets).toEqual(b!.targets.slice(0, 3));
    expect(read.get(a!.name)!.targets).toEqual(a!.targets);
  });

  test('is not written without every ARN, nor beyond its size cap (node changes then read AWS)', () => {
    expect(formatRegistered(spec, new Map([[spec.targetGroups[0]!.name, 'x']]))).toBeUndefined();
    const huge = buildModel(newService('web'), newNodes(4000), CLUSTER).loadBalancer!;
    const uneven = { ...huge, targetGroups: huge.targetGroups.map((tg, i) => ({ ...tg, targets: tg.targets.slice(i) })) };
    expect(JSON.stringify(uneven.targetGroups.map((tg) => tg.targets)).length).toBeGreaterThan(MAX_REGISTERED_BYTES);
    expect(formatRegistered(uneven, arns(uneven))).toBeUndefined();
  });

  test.each([
    ['not JSON', '{'],
    ['a group name ferry does not give this Service', JSON.stringify({ ids: ['i-1'], groups: { 'k8s-other-svc-0123456789': { arn: arnOf('k8s-other-svc-0123456789'), port: 30080 } } })],
    ['an ARN naming another group', JSON.stringify({ ids: ['i-1'], groups: { 'k8s-default-web-0123456789': { arn: arnOf('k8s-default-web-9999999999'), port: 30080 } } })],
    ['an ARN that is not a target group', JSON.stringify({ ids: ['i-1'], groups: { 'k8s-default-web-0123456789': { arn: 'arn:aws:iam::123456789012:role/k8s-default-web-0123456789', port: 30080 } } })],
    ['a target without a port', JSON.stringify({ groups: { 'k8s-default-web-0123456789': { arn: arnOf('k8s-default-web-0123456789'), targets: ['10.0.0.1'] } } })],
  ])('%s is no record', (_, text) => {
    expect(readRegistered(withRecord(text)).size).toBe(0);
  });

  test('stands in for AWS only when it covers every desired group', () => {
    const [a] = spec.targetGroups;
    const full = readRegistered(withRecord(formatRegistered(spec, arns(spec))!));
    expect(observedFromRecord(spec, full)).toMatchObject({ scope: 'targets', targetGroups: [{ name: a!.name, arn: arnOf(a!.name), targets: a!.targets }, {}] });
    const partial = new Map([[a!.name, full.get(a!.name)!]]);
    expect(observedFromRecord(spec, partial)).toBeUndefined();
  });
});
