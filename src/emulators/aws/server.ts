import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ec2Service } from './ec2';
import { elbv2Service } from './elbv2';
import { AwsError } from './errors';
import type { FaultInjector } from './faults';
import { decodeForm, Params } from './query';
import { isMutating, type ServiceDefinition } from './service';
import type { AwsState } from './state';
import { escapeXml } from './xml';

/**
 * The HTTP edge: decode the query-protocol request, route it by `Version` (EC2 and
 * ELBv2 share one endpoint here, and both have a `DescribeTags`), apply faults, run
 * the handler, record the call, write the XML. Signatures are not verified: any
 * region and credentials are accepted.
 */
export interface RecordedCall {
  readonly service: 'ec2' | 'elbv2';
  readonly action: string;
  readonly mutating: boolean;
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly errorCode?: string;
  readonly startedAt: number;
  readonly durationMs: number;
}

const SERVICES: readonly ServiceDefinition[] = [ec2Service, elbv2Service];
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ServerDeps {
  readonly state: AwsState;
  readonly faults: FaultInjector;
  readonly record: (call: RecordedCall) => void;
}

export class EmulatorServer {
  private readonly sockets = new Set<Socket>();
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly deps: ServerDeps,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async listen(host: string, port: number, deps: ServerDeps): Promise<EmulatorServer> {
    let emulator: EmulatorServer | undefined;
    const server = createServer((req, res) => {
      void emulator?.handle(req, res);
    });
    emulator = new EmulatorServer(server, deps);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return emulator;
  }

  get endpoint(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops listening, drops every connection and cancels pending latency timers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await done;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      this.sleepers.set(timer, resolve);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const started = performance.now();
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      res.destroy();
      return;
    }
    // Query-protocol parameters may come in the URL too (GET); the body wins.
    const raw = decodeForm(new URL(req.url ?? '/', 'http://localhost').search.slice(1), body);
    const service = SERVICES.find((s) => s.version === raw['Version']);
    const requestId = randomUUID();
    if (!service) {
      const version = escapeXml(raw['Version'] ?? '');
      const message = version ? `The requested version (${version}) of service is not supported by this endpoint` : 'The request must contain the parameter Version';
      send(res, 400, requestId, `<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchVersion</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
      return;
    }

    const action = raw['Action'] ?? '';
    const mutating = isMutating(action);
    await this.sleep(this.deps.faults.latencyMs);
    // A call still waiting out its latency when the emulator closed is dropped, unanswered and unrun.
    if (this.closed) {
      res.destroy();
      return;
    }

    let status = 200;
    let errorCode: string | undefined;
    let xml: string;
    try {
      const fault = this.deps.faults.before(service, action);
      if (fault) throw fault;
      if (!action) throw new AwsError('MissingAction', 'The request must contain the parameter Action');
      const params = new Params(raw, service.listStyle, service.paramErrors);
      const fields = service.dispatch(action, { state: this.deps.state, params, now: new Date() });
      xml = service.renderResult(action, fields, requestId);
    } catch (caught) {
      const error = caught instanceof AwsError ? caught : new AwsError('InternalFailure', `Emulator bug: ${caught instanceof Error ? caught.message : String(caught)}`, 500);
      status = error.status;
      errorCode = error.code;
      xml = service.renderError(error, requestId);
    }
    this.deps.faults.after(mutating, status === 200);

    const params = Object.fromEntries(Object.entries(raw).filter(([key]) => key !== 'Action' && key !== 'Version'));
    this.deps.record({
      service: service.service,
      action,
      mutating,
      params,
      status,
      ...(errorCode !== undefined ? { errorCode } : {}),
      startedAt,
      durationMs: performance.now() - started,
    });
    send(res, status, requestId, xml);
  }
}

function send(res: ServerResponse, status: number, requestId: string, xml: string): void {
  if (res.destroyed || res.writableEnded) return;
  const payload = Buffer.from(xml, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': payload.length,
    'x-amzn-requestid': requestId,
  });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
