import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, loadYaml, type V1Service } from '@kubernetes/client-node';
import { KubeEmulator } from '@ferry/emulators';
import { main } from '../../src/cli/main';
import { loadBalancerNameOf } from '../../src/cli/migrate';
import { resolveAliases } from '../../src/model/alias-resolution';
import { buildModel } from '../../src/model/build';
import { CLUSTER, newNodes } from '../support/fixtures';

/** `ferry migrate` as a user runs it: against a cluster (the Kubernetes emulator) and against a file. */

const B = 'service.beta.kubernetes.io/';
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c1c7e-0000-4000-8000-000000000000';
const HOSTNAME = 'k8s-shop-web-5f1e2d3c4b-0123456789abcdef.elb.us-east-1.amazonaws.com';

/** A Service as LBC serves it: its marker, its annotations, its finalizer and its address. */
const LBC_ANNOTATIONS = {
  [`${B}aws-load-balancer-type`]: 'external',
  [`${B}aws-load-balancer-nlb-target-type`]: 'instance',
  [`${B}aws-load-balancer-scheme`]: 'internet-facing',
  [`${B}aws-load-balancer-healthcheck-protocol`]: 'HTTP',
  [`${B}aws-load-balancer-healthcheck-path`]: '/ready',
  [`${B}aws-load-balancer-healthcheck-port`]: 'http',
  [`${B}aws-load-balancer-attributes`]: 'load_balancing.cross_zone.enabled=true',
  [`${B}aws-load-balancer-ssl-cert`]: CERT,
  [`${B}aws-load-balancer-ssl-ports`]: 'https',
  [`${B}aws-load-balancer-disable-nlb-sg`]: 'true',
  [`${B}load-balancer-source-ranges`]: '10.0.0.0/8',
  'external-dns.alpha.kubernetes.io/hostname': 'shop.example.com',
};

const SPEC: V1Service['spec'] = {
  type: 'LoadBalancer',
  selector: { app: 'web' },
  ports: [
    { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 },
    { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 30443 },
  ],
};

describe('ferry migrate', () => {
  let kube: KubeEmulator;
  let output: string;
  let errors: string[];
  const env = process.env;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-migrate-'));

  const ferry = async (...args: string[]) => {
    output = '';
    errors = [];
    return main(['migrate', ...args]);
  };
  const manifest = () => loadYaml<V1Service>(output);
  const table = () => output.split('\n').filter((l) => l.startsWith('#   ')).map((l) => l.slice(4).replace(/\s{2,}/, ' | '));

  beforeAll(async () => {
    kube = await KubeEmulator.start();
    const kubeconfig = join(dir, 'kubeconfig');
    await kube.writeKubeconfig(kubeconfig);
    process.env = { ...env, KUBECONFIG: kubeconfig };
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } }).catch(() => undefined);
    await core.createNamespacedService({
      namespace: 'shop',
      body: { metadata: { name: 'web', annotations: LBC_ANNOTATIONS, finalizers: ['service.k8s.aws/resources'] }, spec: SPEC },
    });
    await core.replaceNamespacedServiceStatus({
      namespace: 'shop',
      name: 'web',
      body: { ...(await core.readNamespacedService({ namespace: 'shop', name: 'web' })), status: { loadBalancer: { ingress: [{ hostname: HOSTNAME }] } } },
    });
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'broken', annotations: { [`${B}aws-load-balancer-scheme`]: 'public' } }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] } },
    });
  }, 30_000);
  afterAll(async () => {
    process.env = env;
    await kube.close();
  });
  beforeEach(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((output += String(chunk)), true));
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
  });
  afterEach(() => jest.restoreAllMocks());

  test('reads the Service from the cluster and prints it with ferry.io annotations instead of the aliases', async () => {
    expect(await ferry('shop/web')).toBe(0);
    const service = manifest();
    expect(service.metadata?.annotations).toEqual({
      'external-dns.alpha.kubernetes.io/hostname': 'shop.example.com',
      'ferry.io/scheme': 'internet-facing',
      'ferry.io/target-type': 'instance',
      'ferry.io/load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
      'ferry.io/ssl-cert': CERT,
      'ferry.io/ssl-ports': 'https',
      'ferry.io/healthcheck-protocol': 'HTTP',
      'ferry.io/healthcheck-port': '30080',
      'ferry.io/healthcheck-path': '/ready',
      // LBC's defaults, written out: without the type annotation they would be ferry's.
      'ferry.io/healthcheck-interval': '10',
      'ferry.io/healthcheck-healthy-threshold': '3',
      'ferry.io/healthcheck-unhealthy-threshold': '3',
      'ferry.io/healthcheck-timeout': '9',
      'ferry.io/ssl-negotiation-policy': 'ELBSecurityPolicy-2016-08',
    });
    expect(service.spec?.loadBalancerSourceRanges).toEqual(['10.0.0.0/8']);
    expect(service.spec?.loadBalancerClass).toBeUndefined();
    expect(service.status).toBeUndefined();
    expect(service.metadata?.uid).toBeUndefined();
    expect(table()).toEqual(
      expect.arrayContaining([
        `${B}aws-load-balancer-type | removed: it hands an unclassed Service to LBC; the AWS Load Balancer Controller's defaults are written out as ferry.io/ annotations`,
        `${B}aws-load-balancer-scheme | mapped to ferry.io/scheme`,
        `${B}aws-load-balancer-healthcheck-port | translated to ferry.io/healthcheck-port=30080`,
        `${B}aws-load-balancer-disable-nlb-sg | dropped, ferry cannot honour it: ferry always gives the NLB a security group (its own, or those of ferry.io/security-groups).`,
        `${B}load-balancer-source-ranges | dropped: moved to spec.loadBalancerSourceRanges`,
        'external-dns.alpha.kubernetes.io/hostname | kept',
        "ferry.io/healthcheck-timeout | added: 9, the AWS Load Balancer Controller's default (ferry's own differs)",
      ]),
    );
    expect(output).toContain(`# Notes:\n#   - spec.loadBalancerClass stays unset`);
    expect(output).toContain(`the AWS Load Balancer Controller serves it now at ${HOSTNAME}. ferry does not claim a Service another controller serves: to take over that NLB and keep its DNS name, add ferry.io/adopt-load-balancer (--adopt)`);
    expect(output).toContain('metadata.finalizers keeps service.k8s.aws/resources');
  });

  test('the rewrite keeps the NLB ferry builds for the Service: same model, without a single alias', async () => {
    expect(await ferry('shop/web', '--class')).toBe(0);
    const rewritten = manifest();
    const original: V1Service = { metadata: { name: 'web', namespace: 'shop', annotations: LBC_ANNOTATIONS }, spec: { ...SPEC, loadBalancerClass: 'ferry.io/nlb' } };
    expect(resolveAliases(rewritten.metadata?.annotations, { service: rewritten }).fates).toEqual([]);
    const model = (s: V1Service) => buildModel(s, newNodes(2), CLUSTER).loadBalancer;
    expect(model(rewritten)).toEqual({ ...model(original)!, securityGroups: expect.anything() });
    // The source range moved to spec, where ferry reads it.
    expect(model(rewritten)!.securityGroups).toMatchObject({ managed: { ingress: expect.arrayContaining([{ protocol: 'tcp', port: 443, cidr: '10.0.0.0/8' }]) } });
  });

  test('--class sets ferry\'s class on what must be a new Service; --adopt keeps the NLB the status names', async () => {
    expect(await ferry('shop/web', '--class', '--adopt')).toBe(0);
    const service = manifest();
    expect(service.spec?.loadBalancerClass).toBe('ferry.io/nlb');
    expect(service.spec?.clusterIP).toBeUndefined();
    expect(service.metadata?.annotations?.['ferry.io/adopt-load-balancer']).toBe('k8s-shop-web-5f1e2d3c4b');
    expect(output).toContain('Kubernetes accepts a class only when a Service is created (or turned into a LoadBalancer): the field is immutable after that');
    expect(output).toContain('Stop the AWS Load Balancer Controller from serving the Service before applying this');
    expect(await ferry('shop/web', '--adopt', 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/legacy/0123456789abcdef')).toBe(0);
    expect(manifest().metadata?.annotations?.['ferry.io/adopt-load-balancer']).toBe('arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/legacy/0123456789abcdef');
  });

  test('reads a manifest with --file, without any cluster', async () => {
    const file = join(dir, 'services.yaml');
    const cpa = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'legacy', namespace: 'default', annotations: { [`${B}aws-load-balancer-type`]: 'nlb', [`${B}aws-load-balancer-proxy-protocol`]: '*' } }, spec: SPEC };
    const other = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    writeFileSync(file, `---\n${JSON.stringify(other)}\n---\n${JSON.stringify(cpa)}\n---\n`);
    process.env = { ...process.env, KUBECONFIG: join(dir, 'missing') };
    try {
      expect(await ferry('--file', file)).toBe(0);
      expect(manifest().metadata?.annotations).toEqual({
        'ferry.io/scheme': 'internet-facing',
        'ferry.io/healthcheck-protocol': 'TCP',
        'ferry.io/healthcheck-port': 'traffic-port',
        'ferry.io/healthcheck-interval': '30',
        'ferry.io/healthcheck-healthy-threshold': '3',
        'ferry.io/healthcheck-unhealthy-threshold': '3',
        'ferry.io/healthcheck-timeout': '10',
      });
      expect(table()).toContain(`${B}aws-load-balancer-proxy-protocol | dropped, ferry cannot honour it: the cloud provider's service controller does not read it for an NLB, and ferry builds what it would for ${B}aws-load-balancer-type=nlb`);
      expect(output).toContain('# ferry migrate, from --file ');
      writeFileSync(file, `${JSON.stringify(cpa)}\n---\n${JSON.stringify({ ...cpa, metadata: { ...cpa.metadata, name: 'other' } })}\n`);
      expect(await ferry('--file', file)).toBe(2);
      expect(errors).toEqual([`ferry migrate: --file ${file} holds 2 Services (default/legacy, default/other); name one as <namespace>/<name>`]);
      expect(await ferry('default/other', '--file', file)).toBe(0);
      expect(manifest().metadata?.name).toBe('other');
    } finally {
      process.env = { ...process.env, KUBECONFIG: join(dir, 'kubeconfig') };
    }
  });

  test('exits 1 when ferry would refuse the Service, naming the annotation the Service wrote', async () => {
    expect(await ferry('default/broken')).toBe(1);
    expect(table()).toContain(`${B}aws-load-balancer-scheme | kept, invalid: expected \`internal\` or \`internet-facing\``);
    expect(output).toContain(`ferry would refuse this Service: annotation ${B}aws-load-balancer-scheme="public" is invalid`);
  });

  test('a failure reading the Service exits 1; usage errors exit 2 naming what is wrong', async () => {
    expect(await ferry('default/nope')).toBe(1);
    expect(errors).toEqual(['ferry migrate: Service default/nope not found']);
    expect(await ferry()).toBe(2);
    expect(errors).toEqual(['ferry migrate: name the Service as <namespace>/<name>, or give a manifest with --file FILE']);
    expect(await ferry('default/broken', '--adopt')).toBe(2);
    expect(errors).toEqual(["ferry migrate: --adopt needs the load balancer's name or ARN (--adopt NAME): the Service's status names no load balancer"]);
    expect(await ferry('--file', join(dir, 'nowhere.yaml'))).toBe(2);
    expect(errors).toEqual([`ferry migrate: --file ${join(dir, 'nowhere.yaml')}: no such file`]);
  });

  test('--help exits 0 without any configuration', async () => {
    const saved = process.env;
    process.env = { PATH: saved.PATH ?? '' };
    try {
      expect(await ferry('--help')).toBe(0);
    } finally {
      process.env = saved;
    }
    expect(output).toMatch(/^Usage: ferry migrate \[options\] \[service\]/);
    for (const flag of ['--file', '--class', '--adopt', 'KUBECONFIG']) expect(output).toContain(flag);
  });

  test.each([
    ['k8s-shop-web-5f1e2d3c4b-0123456789abcdef.elb.us-east-1.amazonaws.com', 'k8s-shop-web-5f1e2d3c4b'],
    ['internal-a1b2c3-0123456789abcdef.elb.eu-west-1.amazonaws.com', 'a1b2c3'],
    ['web.example.com', undefined],
  ])('the NLB name in %s is %s', (hostname, name) => {
    expect(loadBalancerNameOf(hostname)).toBe(name);
  });
});
