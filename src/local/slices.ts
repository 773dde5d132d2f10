/**
 * The EndpointSlice controller's part, which the embedded Kubernetes has no controller for:
 * for every Service with a selector, one EndpointSlice listing the playground's pods that the
 * selector matches, with the conditions the real controller writes (a running pod ready and
 * serving; a terminating one serving but not ready until it stops, then gone). Services without a
 * selector keep their hand-made slices, as in a real cluster.
 */
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { statusOf } from '../kube/api';

export const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_NAME = 'kubernetes.io/service-name';
const CONTROLLER = 'ferry-local.ferry.io';

/** A pod as the slices need it. */
export interface SlicePod {
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  ip: string;
  nodeName: string;
  zone: string;
  terminating: boolean;
  /** Named container ports: `http` → 8080/TCP. */
  ports: ReadonlyArray<{ name: string; port: number; protocol: 'TCP' | 'UDP' }>;
}

export class EndpointSlices {
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  /** What was last written, by slice name: an unchanged slice is not written again. */
  private readonly written = new Map<string, unknown>();

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly pods: () => readonly SlicePod[],
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
  }

  /** Brings every selected Service's slice in line with the pods. */
  async sync(): Promise<void> {
    const services = (await this.core.listNamespacedService({ namespace: this.namespace })).items;
    const wanted = new Map<string, V1EndpointSlice>();
    for (const service of services) {
      const slice = this.sliceFor(service);
      if (slice) wanted.set(slice.metadata!.name!, slice);
    }
    for (const [name, slice] of wanted) {
      const content = { ports: slice.ports, endpoints: slice.endpoints };
      if (isDeepStrictEqual(this.written.get(name), content)) continue;
      await this.write(slice);
      this.written.set(name, content);
    }
    const ours = await this.discovery.listNamespacedEndpointSlice({ namespace: this.namespace, labelSelector: `${MANAGED_BY}=${CONTROLLER}` });
    for (const slice of ours.items) {
      const name = slice.metadata!.name!;
      if (wanted.has(name)) continue;
      this.written.delete(name);
      await this.discovery.deleteNamespacedEndpointSlice({ namespace: this.namespace, name }).catch((err: unknown) => {
        if (statusOf(err) !== 404) throw err;
      });
    }
  }

  private sliceFor(service: V1Service): V1EndpointSlice | undefined {
    const selector = service.spec?.selector;
    const name = service.metadata?.name;
    if (!name || !selector || Object.keys(selector).length === 0 || service.spec?.type === 'ExternalName') return undefined;
    const pods = this.pods().filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
    const ports = (service.spec?.ports ?? []).flatMap((sp) => {
      const protocol = (sp.protocol ?? 'TCP') as 'TCP' | 'UDP';
      const target = sp.targetPort ?? sp.port;
      const number = typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : pods[0]?.ports.find((p) => p.name === target && p.protocol === protocol)?.port;
      return number === undefined ? [] : [{ name: sp.name ?? '', port: number, protocol }];
    });
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-pods`, namespace: this.namespace, labels: { [SERVICE_NAME]: name, [MANAGED_BY]: CONTROLLER } },
      addressType: 'IPv4',
      ports,
      endpoints: pods.map((p) => ({
        addresses: [p.ip],
        nodeName: p.nodeName,
        zone: p.zone,
        targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name },
        // A terminating pod still serves through its grace period, as one whose readiness probe passes.
        conditions: { ready: !p.terminating, serving: true, terminating: p.terminating },
      })),
    };
  }

  private async write(slice: V1EndpointSlice): Promise<void> {
    const name = slice.metadata!.name!;
    try {
      await this.discovery.replaceNamespacedEndpointSlice({ namespace: this.namespace, name, body: slice });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      await this.discovery.createNamespacedEndpointSlice({ namespace: this.namespace, body: slice });
    }
  }
}
