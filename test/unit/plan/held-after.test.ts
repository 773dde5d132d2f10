import type { ObservedState, ObservedTargetGroup } from '../../../src/model/observed';
import { Phase, type Action } from '../../../src/plan/actions';
import { heldAfter } from '../../../src/plan/target-groups';

const group = (name: string, targets: ObservedTargetGroup['targets']) => ({ name, arn: `arn:${name}`, targets }) as ObservedTargetGroup;
const observed = (...targetGroups: ObservedTargetGroup[]): ObservedState => ({ scope: 'targets', loadBalancers: [], targetGroups, securityGroups: [] });

describe('what target groups hold after a partly applied node change', () => {
  test("done registrations add and remove targets; the failed group's record stays as it was", () => {
    const before = observed(group('a', [{ id: 'i-1', port: 30080 }]), group('b', [{ id: 'i-1', port: 30443 }]));
    const done: Action[] = [
      { phase: Phase.Configure, op: 'RegisterTargets', targetGroup: 'a', targets: [{ id: 'i-0', port: 30080 }, { id: 'i-1', port: 30080 }] },
      { phase: Phase.Configure, op: 'DeregisterTargets', targetGroup: 'a', targets: [{ id: 'i-1', port: 30080 }] },
      { phase: Phase.Configure, op: 'ModifyTargetGroup', targetGroup: 'b', healthCheck: {} as never },
    ];
    expect(heldAfter(before, done)).toEqual(
      new Map([
        ['a', [{ id: 'i-0', port: 30080 }]],
        ['b', [{ id: 'i-1', port: 30443 }]],
      ]),
    );
  });

  test('targets come out in the one order records keep (by id, then port), whatever order they were registered in', () => {
    const done: Action[] = [{ phase: Phase.Configure, op: 'RegisterTargets', targetGroup: 'a', targets: [{ id: 'i-2', port: 1 }, { id: 'i-0', port: 2 }, { id: 'i-0', port: 1 }] }];
    expect(heldAfter(observed(group('a', [])), done).get('a')).toEqual([
      { id: 'i-0', port: 1 },
      { id: 'i-0', port: 2 },
      { id: 'i-2', port: 1 },
    ]);
  });
});
