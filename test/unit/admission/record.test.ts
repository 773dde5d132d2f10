import { admit } from '../../../src/admission/admit';
import { parseAdmissionReview, type AdmissionRequest } from '../../../src/admission/review';
import { DEFAULT_CONTROLLER_USERNAMES, loadConfig } from '../../../src/config/env';
import { NAMESPACE, SERVICE_ACCOUNT } from '../../../src/manifests/cluster';
import { CHECKPOINT_ANNOTATION, RESOURCES_ANNOTATION } from '../../../src/model/record';
import { review } from '../../support/admission';
import { CLUSTER, newService, svc } from '../../support/fixtures';

/** ferry's own `status.ferry.io/` record: only ferry writes it, and it never stands in a deletion's way. */

const FERRY = `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`;
const RECORD = { [CHECKPOINT_ANNOTATION]: '{"spec":"abc","targets":"def"}', [RESOURCES_ANNOTATION]: '{"loadBalancers":["k8s-default-web-0123456789"],"targetGroups":[]}' };

function request(body: Record<string, unknown>): AdmissionRequest {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
}

const as = (username: string) => ({ userInfo: { username, groups: ['system:authenticated'] } });
const decide = (body: Record<string, unknown>, usernames: readonly string[] = [FERRY]) => admit(request(body), CLUSTER, { controllerUsernames: usernames });
const message = (body: Record<string, unknown>) => decide(body).response.status?.message;

describe('the status.ferry.io/ record', () => {
  const plain = newService('web');
  const recorded = newService('web', svc.annotate(RECORD));

  test('a user who adds, changes or removes it is denied, with the annotation and who may set it named', () => {
    expect(message(review('Service', 'CREATE', recorded, null, as('alice')))).toBe(
      `ferry: annotations ${CHECKPOINT_ANNOTATION}, ${RESOURCES_ANNOTATION}: status.ferry.io/* is ferry's record of what it made for this Service and may be set, changed or removed only by ferry's own identity (${FERRY}; FERRY_CONTROLLER_USERNAMES), not by "alice"; remove them from the new Service`,
    );
    const forged = newService('web', svc.annotate({ ...RECORD, [RESOURCES_ANNOTATION]: '{"loadBalancers":["someone-elses"],"targetGroups":[]}' }));
    expect(message(review('Service', 'UPDATE', forged, recorded, as('alice')))).toBe(
      `ferry: annotation ${RESOURCES_ANNOTATION}: status.ferry.io/* is ferry's record of what it made for this Service and may be set, changed or removed only by ferry's own identity (${FERRY}; FERRY_CONTROLLER_USERNAMES), not by "alice"; leave it as it was`,
    );
    const wiped = newService('web', svc.annotate({ [RESOURCES_ANNOTATION]: RECORD[RESOURCES_ANNOTATION] }));
    expect(message(review('Service', 'UPDATE', wiped, recorded, as('alice')))).toMatch(new RegExp(`^ferry: annotation ${CHECKPOINT_ANNOTATION}: .* leave it as it was$`));
    expect(decide(review('Service', 'UPDATE', wiped, recorded, as('alice'))).enqueue).toEqual([]);
  });

  test('any key under the prefix counts, on any Service: the reconciler cleans up after Services of every class', () => {
    const other = newService('db', svc.set({ type: 'ClusterIP' }), svc.annotate({ 'status.ferry.io/anything': 'x' }));
    expect(decide(review('Service', 'CREATE', other, null, as('alice'))).response.allowed).toBe(false);
    const elsewhere = newService('db', svc.set({ loadBalancerClass: 'other.io/lb' }), svc.annotate(RECORD));
    expect(decide(review('Service', 'UPDATE', elsewhere, newService('db', svc.set({ loadBalancerClass: 'other.io/lb' })), as('alice'))).response.allowed).toBe(false);
  });

  test('a dryRun is judged the same way', () => {
    expect(decide(review('Service', 'CREATE', recorded, null, { ...as('alice'), dryRun: true })).response.allowed).toBe(false);
  });

  test('ferry itself writes it freely, and its own requests are never denied', () => {
    expect(decide(review('Service', 'UPDATE', recorded, plain, as(FERRY))).response.allowed).toBe(true);
    expect(decide(review('Service', 'UPDATE', plain, recorded, as(FERRY))).response.allowed).toBe(true);
    const invalid = newService('web', svc.annotate({ ...RECORD, 'ferry.io/scheme': 'public' }));
    expect(decide(review('Service', 'UPDATE', invalid, newService('web', svc.annotate({ 'ferry.io/scheme': 'public' })), as(FERRY))).response.allowed).toBe(true);
  });

  test('the trusted identity is configurable, and no one else inherits it', () => {
    const body = review('Service', 'UPDATE', recorded, plain, as('arn:aws:iam::123456789012:role/ferry'));
    expect(decide(body).response.allowed).toBe(false);
    expect(decide(body, ['arn:aws:iam::123456789012:role/ferry']).response.allowed).toBe(true);
    expect(decide(review('Service', 'UPDATE', recorded, plain, { userInfo: { username: 'system:serviceaccount:ferry-system:ferry-controllerx', groups: [] } })).response.allowed).toBe(false);
  });

  test('an update that leaves the record as it is goes through (kubectl apply, label changes)', () => {
    const relabelled = newService('web', svc.annotate(RECORD), (s) => (s.metadata!.labels = { team: 'web' }));
    expect(decide(review('Service', 'UPDATE', relabelled, recorded, as('alice'))).response.allowed).toBe(true);
  });

  test('deleting is never blocked: DELETE, and any update of a Service on its way out', () => {
    expect(decide(review('Service', 'DELETE', null, recorded, as('alice'))).response.allowed).toBe(true);
    const leaving = newService('web', svc.deleting(), (s) => (s.metadata!.finalizers = []));
    const before = newService('web', svc.deleting(), svc.annotate(RECORD), (s) => (s.metadata!.finalizers = ['ferry.io/load-balancer-cleanup']));
    // ferry's cleanup clears the record and its finalizer in one patch, even if its identity is misconfigured.
    expect(decide(review('Service', 'UPDATE', leaving, before, as('kubernetes-admin'))).response.allowed).toBe(true);
  });

  test('a request without userInfo is not ferry', () => {
    const body = review('Service', 'UPDATE', recorded, plain);
    delete (body.request as Record<string, unknown>).userInfo;
    expect(message(body)).toMatch(/not by an unnamed user/);
  });

  test('thousands of forged keys are named by the first three and a count', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`status.ferry.io/k${String(i).padStart(4, '0')}`, '']));
    const text = message(review('Service', 'CREATE', newService('web', svc.annotate(many)), null, as('alice')))!;
    expect(text).toMatch(/^ferry: annotations status\.ferry\.io\/k0000, status\.ferry\.io\/k0001, status\.ferry\.io\/k0002 and 4997 more: /);
    expect(text.length).toBeLessThan(600);
  });
});

describe('userInfo', () => {
  test('is parsed from the review', () => {
    expect(request(review('Service', 'CREATE', newService('web'), null, as('alice'))).userInfo).toEqual({ username: 'alice', groups: ['system:authenticated'] });
  });

  test.each([
    ['a string', 'alice', 'request.userInfo must be an object with username and groups, got "alice"'],
    ['a number for username', { username: 7 }, 'request.userInfo.username must be a string, got 7'],
    ['groups with a number', { username: 'a', groups: ['x', 1] }, 'request.userInfo.groups must be an array of strings, got an array of 2 items'],
  ])('%s is refused naming the field', (_, userInfo, error) => {
    expect(parseAdmissionReview(review('Service', 'CREATE', newService('web'), null, { userInfo }))).toEqual({ ok: false, error });
  });
});

describe('FERRY_CONTROLLER_USERNAMES', () => {
  const base = { FERRY_CLUSTER_NAME: 'prod', AWS_REGION: 'eu-west-1' };

  test("defaults to the ServiceAccount `ferry manifests` creates", () => {
    expect(DEFAULT_CONTROLLER_USERNAMES).toEqual([FERRY]);
    expect(loadConfig(base).controllerUsernames).toEqual([FERRY]);
  });

  test('takes comma-separated usernames', () => {
    expect(loadConfig({ ...base, FERRY_CONTROLLER_USERNAMES: 'system:serviceaccount:ops:ferry , kubernetes-admin' }).controllerUsernames).toEqual([
      'system:serviceaccount:ops:ferry',
      'kubernetes-admin',
    ]);
  });

  test('refuses an empty entry, naming the variable and what is accepted', () => {
    expect(() => loadConfig({ ...base, FERRY_CONTROLLER_USERNAMES: 'a,,b' })).toThrow(
      `FERRY_CONTROLLER_USERNAMES="a,,b" is invalid; accepted: comma-separated Kubernetes usernames (see \`kubectl auth whoami\`), such as ${FERRY}`,
    );
  });
});
