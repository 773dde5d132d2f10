/**
 * The HTTP edge: authentication, body reading, routing to discovery or to the resource
 * handlers, JSON responses, watch streams, the request log, and a shutdown that leaves no
 * socket or timer behind (so Jest exits).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../read-body';
import { apiGroup, apiGroupList, apiVersions, resourceList, SERVER_VERSION } from './discovery';
import { errors, StatusError } from './errors';
import { handleResource } from './handlers';
import { NamespaceController } from './namespace-controller';
import { parsePath, type Route } from './paths';
import { Registry } from './registry';
import { IPv4Allocator, PortAllocator } from './resources/allocators';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import { ObjectStore } from './store';
import { serveWatch, type WatchStream } from './watch';

export interface ServerConfig {
  token?: string;
  serviceCIDR: string;
  nodePortRange: { min: number; max: number };
  historyLimit: number;
  bookmarkIntervalMs: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  watch: boolean;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;


function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export class KubeApiServer {
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly requests: RequestRecord[] = [];
  private readonly http: Server;
  private readonly watches = new Set<WatchStream>();
  private readonly types = new Map<string, ResourceType>();
  private readonly namespaceController: NamespaceController;
  private address = '';

  constructor(private readonly config: ServerConfig) {
    this.store = new ObjectStore(config.historyLimit);
    const cluster = { serviceIPs: new IPv4Allocator(config.serviceCIDR), nodePorts: new PortAllocator(config.nodePortRange.min, config.nodePortRange.max) };
    this.registry = new Registry(this.store, cluster);
    for (const rt of RESOURCE_TYPES) this.types.set(`${rt.group}/${rt.version}/${rt.resource}`, rt);
    this.namespaceController = new NamespaceController(this.registry, RESOURCE_TYPES);
    this.http = createServer((req, res) => void this.handle(req, res));
  }

  get serviceIPs(): IPv4Allocator {
    return this.registry.cluster.serviceIPs;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const info = this.http.address() as AddressInfo;
    this.address = `${info.address}:${info.port}`;
    return info;
  }

  /**
   * Drops all watch history and ends the open watch streams, as a watch cache that
   * re-initialises after an etcd compaction does: clients re-watch from their last
   * resourceVersion, get 410 Expired, and relist.
   */
  compact(): void {
    this.store.compact();
    for (const watch of [...this.watches]) watch.close();
  }

  async close(): Promise<void> {
    this.namespaceController.stop();
    for (const watch of [...this.watches]) watch.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }

  private authorized(req: IncomingMessage, route: Route): boolean {
    // Health endpoints are readable by anyone, as system:public-info-viewer allows.
    if (this.config.token === undefined || route.kind === 'health') return true;
    return req.headers.authorization === `Bearer ${this.config.token}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator');
    const record = (status: number, watch = false) => this.requests.push({ method, path: url.pathname, status, watch });
    try {
      const route = parsePath(url.pathname);
      if (!this.authorized(req, route)) throw errors.unauthorized();
      if (route.kind === 'notFound') throw errors.pathNotFound();
      const text = method === 'GET' ? '' : await readBody(req, MAX_BODY_BYTES, () => errors.tooLarge('the request is too large'));
      if (route.kind === 'health') {
        if (method !== 'GET') throw errors.methodNotAllowed();
        record(200);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
        return;
      }
      if (route.kind !== 'resource') {
        if (method !== 'GET') throw errors.methodNotAllowed();
        return this.send(res, record, 200, this.discovery(route));
      }
      const rt = this.types.get(`${route.group}/${route.version}/${route.resource}`);
      if (!rt || (route.namespace !== undefined && !rt.namespaced)) throw errors.pathNotFound();
      const response = handleResource(
        this.registry,
        rt,
        { method, route, query: url.searchParams, body: parseJson(text), contentType: req.headers['content-type'] ?? '' },
        { bookmarkIntervalMs: this.config.bookmarkIntervalMs },
      );
      if ('watch' in response) {
        record(200, true);
        let stream: WatchStream | undefined;
        stream = serveWatch(res, this.store, response.watch, () => stream && this.watches.delete(stream));
        if (!res.writableEnded) this.watches.add(stream);
        return;
      }
      this.send(res, record, response.status, response.body);
    } catch (err) {
      const failure = err instanceof StatusError ? err : errors.internal(err instanceof Error ? err.message : String(err));
      this.send(res, record, failure.code, failure.status);
    }
  }

  private send(res: ServerResponse, record: (status: number) => void, status: number, body: unknown): void {
    record(status);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' }).end(JSON.stringify(body));
  }

  private discovery(route: Exclude<Route, { kind: 'resource' | 'health' | 'notFound' }>): unknown {
    const types = RESOURCE_TYPES;
    switch (route.kind) {
      case 'version':
        return SERVER_VERSION;
      case 'apiVersions':
        return apiVersions(this.address);
      case 'groupList':
        return apiGroupList(types);
      case 'group': {
        const group = apiGroup(types, route.group);
        if (!group) throw errors.pathNotFound();
        return group;
      }
      case 'resourceList': {
        const list = resourceList(types, route.group, route.version);
        if (list.resources.length === 0) throw errors.pathNotFound();
        return list;
      }
    }
  }
}
