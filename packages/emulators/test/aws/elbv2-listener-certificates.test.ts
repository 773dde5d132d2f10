import {
  AddListenerCertificatesCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeListenerCertificatesCommand,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createNetwork, failure, uniqueName, useAws, type Network } from './harness';

const aws = useAws();
let net: Network;
const cert = (n: number) => `arn:aws:acm:us-east-1:000000000000:certificate/0b7a1c2d-3e4f-5a6b-7c8d-00000000000${n}`;

beforeAll(async () => {
  net = await createNetwork(aws().ec2);
});

async function tlsListener(): Promise<string> {
  const lb = (await aws().elbv2.send(new CreateLoadBalancerCommand({ Name: uniqueName('lb'), Type: 'network', Subnets: [net.subnetIds[0]] })))
    .LoadBalancers![0]!;
  const tg = (await aws().elbv2.send(new CreateTargetGroupCommand({ Name: uniqueName('tg'), Protocol: 'TCP', Port: 30000, VpcId: net.vpcId })))
    .TargetGroups![0]!;
  const out = await aws().elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancerArn,
      Port: 443,
      Protocol: 'TLS',
      Certificates: [{ CertificateArn: cert(1) }],
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
    }),
  );
  return out.Listeners![0]!.ListenerArn!;
}

const describeCerts = async (ListenerArn: string) =>
  (await aws().elbv2.send(new DescribeListenerCertificatesCommand({ ListenerArn }))).Certificates!.map((c) => [c.CertificateArn, c.IsDefault]);

describe('listener certificates', () => {
  it('lists the default certificate and the SNI certificates added and removed one by one', async () => {
    const arn = await tlsListener();
    expect(await describeCerts(arn)).toEqual([[cert(1), true]]);
    const added = await aws().elbv2.send(
      new AddListenerCertificatesCommand({ ListenerArn: arn, Certificates: [{ CertificateArn: cert(2) }, { CertificateArn: cert(3) }] }),
    );
    expect(added.Certificates!.map((c) => c.CertificateArn)).toEqual([cert(2), cert(3)]);
    await aws().elbv2.send(new RemoveListenerCertificatesCommand({ ListenerArn: arn, Certificates: [{ CertificateArn: cert(2) }] }));
    expect(await describeCerts(arn)).toEqual([
      [cert(1), true],
      [cert(3), false],
    ]);
  });

  it('refuses to remove the default certificate', async () => {
    const arn = await tlsListener();
    expect(
      (await failure(aws().elbv2.send(new RemoveListenerCertificatesCommand({ ListenerArn: arn, Certificates: [{ CertificateArn: cert(1) }] }))))
        .name,
    ).toBe('OperationNotPermittedException');
  });

  it('drops the SNI certificates when the listener stops being TLS', async () => {
    const arn = await tlsListener();
    await aws().elbv2.send(new AddListenerCertificatesCommand({ ListenerArn: arn, Certificates: [{ CertificateArn: cert(2) }] }));
    await aws().elbv2.send(new ModifyListenerCommand({ ListenerArn: arn, Protocol: 'TCP' }));
    expect(await describeCerts(arn)).toEqual([]);
  });
});
