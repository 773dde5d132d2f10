import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { readBody } from '../read-body';
import type { Clock } from './clock';
import { ec2Service } from './ec2';
import { elbv2Service } from './elbv2';
import { AwsError } from './errors';
import type { FaultInjector } from './faults';
import { flattenForRecord, JsonInput, parseJsonBody, renderJsonError, renderJsonResult, routeTarget, unknownOperation } from './json-protocol';
import { decodeForm, Params } from './query';
import { secretsManagerService } from './secretsmanager';
import { isMutating, type Answer, type ServiceName, type Throttles } from './service';
import { Signals } from './signals';
import { sqsService } from './sqs';
import type { AwsState } from './state';
import { taggingService } from './tagging';
import type { Throttler } from './throttling';
import { escapeXml } from './xml';

/**
 * The HTTP edge, one endpoint for every service: a request with `X-Amz-Target` is JSON
 * protocol and routed by that header (SQS, Secrets Manager, Resource Groups Tagging);
 * anything else is query protocol and routed by `Version` (EC2 and ELBv2 both have a
 * `DescribeTags`). Either way the edge applies throttling and faults, runs the handler, records the call and
 * writes the answer in the service's envelope. Signatures are not verified: any region
 * and credentials are accepted.
 */
export interface RecordedCall {
  readonly service: ServiceName;
  readonly action: string;
  readonly mutating: boolean;
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly errorCode?: string;
  readonly startedAt: number;
  readonly durationMs: number;
}

const QUERY_SERVICES = [ec2Service, elbv2Service];
const JSON_SERVICES = [sqsService, secretsManagerService, taggingService];
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ServerDeps {
  readonly state: AwsState;
  readonly faults: FaultInjector;
  readonly clock: Clock;
  /** AWS's request buckets, when `start({ throttling })` turned them on. */
  readonly throttling?: Throttler;
  readonly record: (call: RecordedCall) => void;
}

/** One decoded request, whichever protocol it came in; recorded and answered the same way. */
interface Call extends Throttles {
  readonly service: ServiceName;
  readonly action: string;
  /** Flat `Key.1.Sub` parameters, as recorded. */
  readonly params: Readonly<Record<string, string>>;
  run(): Answer | Promise<Answer>;
  renderError(error: AwsError): Answer;
}

/** A call to run, or an answer given before any service took the request. */
type Decoded = { readonly call: Call } | { readonly answer: Answer };

export class EmulatorServer {
  private readonly sockets = new Set<Socket>();
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private readonly signals = new Signals();
  private readonly stopWatchingClock: (() => void) | undefined;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly deps: ServerDeps,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A manual clock moving can make messages visible: long polls re-check.
    this.stopWatchingClock = deps.clock.onChange?.(() => this.signals.notifyAll());
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

  /** Stops listening, drops every connection and cancels pending latency timers and long polls. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatchingClock?.();
    this.signals.close();
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
      body = await readBody(req, MAX_BODY_BYTES, () => new Error('request body too large'));
    } catch {
      res.destroy();
      return;
    }
    const requestId = randomUUID();
    // A caller that hangs up (an aborted long poll) must not have messages received on its behalf.
    let hungUp = false;
    res.on('close', () => {
      if (res.writableFinished) return;
      hungUp = true;
      this.signals.notifyAll();
    });
    const target = req.headers['x-amz-target'];
    const decoded = typeof target === 'string' ? this.decodeJson(target, req, body, () => hungUp) : this.decodeQuery(req, body, requestId);
    if ('answer' in decoded) {
      send(res, requestId, decoded.answer);
      return;
    }
    const call = decoded.call;
    const mutating = isMutating(call.action);
    await this.sleep(this.deps.faults.latencyMs);
    // A call still waiting out its latency when the emulator closed is dropped, unanswered and unrun.
    if (this.closed) {
      res.destroy();
      return;
    }

    let answer: Answer;
    let errorCode: string | undefined;
    try {
      // AWS throttles at its front door: a refused call never reaches the service, nor the faults that stand in for it.
      if (this.deps.throttling && !this.deps.throttling.admit(call.service, call.action, call.params)) throw call.throttlingError();
      const fault = this.deps.faults.before(call, call.action);
      if (fault) throw fault;
      answer = await call.run();
    } catch (caught) {
      const error = caught instanceof AwsError ? caught : new AwsError('InternalFailure', `Emulator bug: ${caught instanceof Error ? caught.message : String(caught)}`, 500);
      errorCode = error.code;
      answer = call.renderError(error);
    }
    // So is a long poll that the emulator's closing cut short.
    if (this.closed) {
      res.destroy();
      return;
    }
    this.deps.faults.after(mutating, answer.status === 200);
    this.deps.record({
      service: call.service,
      action: call.action,
      mutating,
      params: call.params,
      status: answer.status,
      ...(errorCode !== undefined ? { errorCode } : {}),
      startedAt,
      durationMs: performance.now() - started,
    });
    send(res, requestId, answer);
  }

  /** Query protocol (EC2, ELBv2): routed by `Version`, since both services have a `DescribeTags`. */
  private decodeQuery(req: IncomingMessage, body: string, requestId: string): Decoded {
    // Query-protocol parameters may come in the URL too (GET); the body wins.
    const raw = decodeForm(new URL(req.url ?? '/', 'http://localhost').search.slice(1), body);
    const service = QUERY_SERVICES.find((s) => s.version === raw['Version']);
    if (!service) {
      const version = escapeXml(raw['Version'] ?? '');
      const message = version ? `The requested version (${version}) of service is not supported by this endpoint` : 'The request must contain the parameter Version';
      return { answer: xmlAnswer(400, `<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchVersion</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`) };
    }
    const action = raw['Action'] ?? '';
    return {
      call: {
        service: service.service,
        action,
        params: Object.fromEntries(Object.entries(raw).filter(([key]) => key !== 'Action' && key !== 'Version')),
        throttlingError: () => service.throttlingError(),
        run: () => {
          if (!action) throw new AwsError('MissingAction', 'The request must contain the parameter Action');
          const params = new Params(raw, service.listStyle, service.paramErrors);
          const fields = service.dispatch(action, { state: this.deps.state, params, now: new Date(this.deps.clock.now()) });
          return xmlAnswer(200, service.renderResult(action, fields, requestId));
        },
        renderError: (error) => xmlAnswer(error.status, service.renderError(error, requestId)),
      },
    };
  }

  /** JSON protocols (SQS, Secrets Manager, Tagging): routed by `X-Amz-Target: <prefix>.<Operation>`. */
  private decodeJson(target: string, req: IncomingMessage, body: string, hungUp: () => boolean): Decoded {
    const routed = routeTarget(target, JSON_SERVICES);
    if (!routed) {
      const error = unknownOperation(target);
      return { answer: { status: error.status, contentType: 'application/x-amz-json-1.0', body: JSON.stringify({ __type: error.code, message: error.message }) } };
    }
    const { service, operation } = routed;
    let input: Record<string, unknown> | AwsError;
    try {
      input = parseJsonBody(body);
    } catch (error) {
      input = error instanceof AwsError ? error : new AwsError('SerializationException', String(error));
    }
    return {
      call: {
        service: service.service,
        action: operation,
        params: input instanceof AwsError ? {} : flattenForRecord(input),
        throttlingError: () => service.throttlingError(),
        run: async () => {
          if (input instanceof AwsError) throw input;
          const handler = Object.hasOwn(service.handlers, operation) ? service.handlers[operation] : undefined;
          if (!handler) throw unknownOperation(operation);
          const host = req.headers.host ?? new URL(this.endpoint).host;
          const { state, clock } = this.deps;
          const result = await handler({ state, clock, signals: this.signals, host, hungUp, input: new JsonInput(input, service.inputErrors) });
          return renderJsonResult(service, result);
        },
        renderError: (error) => renderJsonError(service, error),
      },
    };
  }
}

function xmlAnswer(status: number, body: string): Answer {
  return { status, contentType: 'text/xml;charset=UTF-8', body };
}

function send(res: ServerResponse, requestId: string, answer: Answer): void {
  if (res.destroyed || res.writableEnded) return;
  const payload = Buffer.from(answer.body, 'utf8');
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'content-length': payload.length,
    'x-amzn-requestid': requestId,
    ...answer.headers,
  });
  res.end(payload);
}

