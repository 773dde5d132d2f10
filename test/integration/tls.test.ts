import { DescribeListenerCertificatesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { inventory } from '../../src/aws/inventory';
import { startWorld, type World } from '../support/world';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const cert = (n: number) => `arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-00000000000${n}`;

describe('TLS listeners', () => {
  let world: World;
  const certificates = async () => {
    const lb = (await inventory(world.aws, world.cluster, true)).loadBalancers[0]!;
    const listener = lb.listeners.find((l) => l.port === 443)!;
    const out = await world.aws.elbv2.send(new DescribeListenerCertificatesCommand({ ListenerArn: listener.arn }));
    return { protocols: lb.listeners.map((l) => `${l.protocol}:${l.port}`), policy: listener.sslPolicy, certs: out.Certificates!.map((c) => [c.CertificateArn, c.IsDefault]) };
  };

  beforeAll(async () => {
    world = await startWorld({ nodes: 2 });
    await world.createService('shop', {}, { 'ferry.io/ssl-cert': `${cert(1)},${cert(2)}`, 'ferry.io/ssl-ports': 'https' });
  }, 30_000);
  afterAll(() => world.close());

  test('ssl-ports makes only the named port TLS, with the default and the SNI certificates', async () => {
    expect((await world.reconcile('shop')).outcome).toBe('ensured');
    expect(await certificates()).toEqual({
      protocols: ['TCP:80', 'TLS:443'],
      policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      certs: [
        [cert(1), true],
        [cert(2), false],
      ],
    });
    expect((await world.reconcile('shop', true)).outcome).toBe('in-sync');
  });

  test('changing the certificate list adds and removes SNI certificates in place', async () => {
    await world.core.patchNamespacedService(
      { namespace: 'default', name: 'shop', body: { metadata: { annotations: { 'ferry.io/ssl-cert': `${cert(1)},${cert(3)}` } } } },
      mergePatch,
    );
    world.aws.calls.reset();
    await world.reconcile('shop');
    expect(Object.keys(world.aws.calls.byOperation()).filter((op) => !op.startsWith('Describe'))).toEqual([
      'AddListenerCertificates',
      'RemoveListenerCertificates',
    ]);
    expect((await certificates()).certs).toEqual([
      [cert(1), true],
      [cert(3), false],
    ]);
  });
});
