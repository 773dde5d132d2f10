/**
 * ferry's embedded Kubernetes API server emulator: the real REST API (JSON over HTTP) for
 * namespaces, services (+status), nodes (+status), endpointslices and events, faithful to
 * kube-apiserver where ferry can notice (allocation, defaults, validation messages,
 * optimistic concurrency, finalizers, watch semantics and 410s). `ferry local` runs it as
 * "Kubernetes"; ferry's tests drive it with the unmodified @kubernetes/client-node.
 *
 * A fresh emulator looks like a new cluster: namespaces default, kube-system, kube-public
 * and kube-node-lease, and the `default/kubernetes` Service on the first address of the
 * service CIDR.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigYaml } from './kubeconfig';
import { services } from './resources';
import { namespaces, SYSTEM_NAMESPACES } from './resources/namespaces';
import { KubeApiServer, type RequestRecord } from './server';

export interface KubeEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Bearer token every API request must carry; unset accepts anyone. */
  token?: string;
  /** IPv4 service CIDR, default 10.96.0.0/12. */
  serviceCIDR?: string;
  /** NodePort range, default 30000-32767. */
  nodePortRange?: { min: number; max: number };
  /** Watch history kept per resource, default 1000 events. */
  historyLimit?: number;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK, default 60 s (the watch cache's cadence). */
  bookmarkIntervalMs?: number;
}

export type { RequestRecord } from './server';

export class KubeEmulator {
  readonly url: string;

  private constructor(
    private readonly server: KubeApiServer,
    url: string,
    private readonly token: string | undefined,
  ) {
    this.url = url;
  }

  static async start(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
    const server = new KubeApiServer({
      token: options.token,
      serviceCIDR: options.serviceCIDR ?? '10.96.0.0/12',
      nodePortRange: options.nodePortRange ?? { min: 30000, max: 32767 },
      historyLimit: options.historyLimit ?? 1000,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    });
    bootstrap(server);
    const host = options.host ?? '127.0.0.1';
    const info = await server.listen(options.port ?? 0, host);
    const urlHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return new KubeEmulator(server, `http://${urlHost}:${info.port}`, options.token);
  }

  /** A kubeconfig for this server: skips TLS verification (plain HTTP) and carries the token, if any. */
  kubeconfigYaml(options: { context?: string; namespace?: string } = {}): string {
    return kubeconfigYaml({ server: this.url, token: this.token, ...options });
  }

  async writeKubeconfig(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, this.kubeconfigYaml(), { mode: 0o600 });
  }

  /** A client-node KubeConfig loaded from {@link kubeconfigYaml}. client-node is loaded only when this is called. */
  kubeConfig(): KubeConfig {
    const { KubeConfig: Config } = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
    const kc = new Config();
    kc.loadFromString(this.kubeconfigYaml());
    return kc;
  }

  /**
   * Forgets every resource's watch history and ends the open watch streams (a watch-cache
   * re-initialisation): a watch or paged list from an older resourceVersion now gets 410,
   * so informers relist.
   */
  compact(): void {
    this.server.compact();
  }

  /** Every request served so far, in order (path without query string). */
  get requests(): readonly RequestRecord[] {
    return this.server.requests;
  }

  clearRequests(): void {
    this.server.requests.length = 0;
  }

  /** Ends all watches, closes every connection and stops the server. */
  async close(): Promise<void> {
    await this.server.close();
  }
}

function bootstrap(server: KubeApiServer): void {
  const { registry } = server;
  for (const name of SYSTEM_NAMESPACES) registry.create(namespaces, '', { metadata: { name } });
  const ip = server.serviceIPs.first;
  registry.create(services, 'default', {
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None' },
  });
}
