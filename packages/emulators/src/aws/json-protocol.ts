import type { Clock } from './clock';
import { AwsError } from './errors';
import type { ParamErrors } from './query';
import type { Answer, Throttles } from './service';
import type { Signals } from './signals';
import type { AwsState } from './state';

/**
 * The AWS JSON protocols (awsJson1_0 for SQS, awsJson1_1 for Secrets Manager and the
 * Resource Groups Tagging API), shared by the three services: `POST /` with `X-Amz-Target: <prefix>.<Operation>` and a JSON body of the
 * operation's input; results are the output structure as JSON, errors a JSON object with
 * `__type` and a message, plus `x-amzn-query-error` for services that moved here from the
 * query protocol (see {@link AwsError}'s wire names). Timestamps are epoch seconds and
 * blobs base64 strings, as the SDK's JSON codec expects.
 */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };
export type JsonObject = { readonly [key: string]: Json | undefined };

/** What a JSON handler sees. Handlers are synchronous over state except long polls. */
export interface JsonContext {
  readonly state: AwsState;
  readonly input: JsonInput;
  readonly clock: Clock;
  readonly signals: Signals;
  /** `host[:port]` the request was sent to; SQS builds queue URLs on it so they route back here. */
  readonly host: string;
  /** True once the caller has gone (a long poll stops rather than receive for nobody). */
  readonly hungUp: () => boolean;
}

export type JsonHandler = (ctx: JsonContext) => JsonObject | Promise<JsonObject>;

export interface JsonServiceDefinition extends Throttles {
  readonly service: 'sqs' | 'secretsmanager' | 'tagging';
  /** `AmazonSQS`, `secretsmanager`, `ResourceGroupsTaggingAPI_20170126`: the part of X-Amz-Target before the operation. */
  readonly targetPrefix: string;
  readonly contentType: 'application/x-amz-json-1.0' | 'application/x-amz-json-1.1';
  /** Prefix of `__type` (`com.amazonaws.sqs#`), or '' where AWS sends the bare shape name. */
  readonly typePrefix: string;
  /** SQS spells the error text `message`, Secrets Manager and Tagging `Message` (the SDK reads either). */
  readonly messageKey: 'message' | 'Message';
  /** Adds `x-amzn-query-error: <code>;<Sender|Receiver>` to errors. */
  readonly queryCompatible: boolean;
  /** How this service reports a missing or ill-typed input member. */
  readonly inputErrors: ParamErrors;
  readonly handlers: Readonly<Record<string, JsonHandler>>;
}

/** The service and operation an `X-Amz-Target` header names, if any service owns it. */
export function routeTarget(
  target: string,
  services: readonly JsonServiceDefinition[],
): { service: JsonServiceDefinition; operation: string } | undefined {
  const dot = target.lastIndexOf('.');
  const prefix = target.slice(0, dot);
  const service = services.find((s) => s.targetPrefix === prefix);
  return service && dot > 0 ? { service, operation: target.slice(dot + 1) } : undefined;
}

export function unknownOperation(operation: string): AwsError {
  return new AwsError('UnknownOperationException', `The operation ${operation} is not supported by ferry's AWS emulator.`);
}

/** The request body as an object; an empty body is `{}` (the SDK sends `{}` for empty inputs). */
export function parseJsonBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid JSON.');
  }
  if (!isRecord(parsed)) throw new AwsError('SerializationException', 'The request body must be a JSON object.');
  return parsed;
}

export function renderJsonResult(service: JsonServiceDefinition, result: JsonObject): Answer {
  return { status: 200, contentType: service.contentType, body: JSON.stringify(result) };
}

export function renderJsonError(service: JsonServiceDefinition, error: AwsError): Answer {
  const body = { __type: `${service.typePrefix}${error.wire.shape ?? error.code}`, [service.messageKey]: error.message };
  const headers = service.queryCompatible ? { 'x-amzn-query-error': `${error.wire.queryCode ?? error.code};${error.type}` } : undefined;
  return { status: error.status, contentType: service.contentType, body: JSON.stringify(body), ...(headers ? { headers } : {}) };
}

/**
 * The input flattened to the query protocol's dotted keys (`Entries.1.Id`), so recorded
 * calls of every service share one shape: `Record<string, string>`.
 */
export function flattenForRecord(value: unknown, prefix = '', out: Record<string, string> = Object.create(null) as Record<string, string>): Record<string, string> {
  if (Array.isArray(value)) {
    value.forEach((item, i) => flattenForRecord(item, `${prefix}.${i + 1}`, out));
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) flattenForRecord(item, prefix === '' ? key : `${prefix}.${key}`, out);
  } else if (value !== null && value !== undefined && prefix !== '') {
    out[prefix] = String(value);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A typed view of one JSON structure. JSON carries types, so where the query reader
 * parses strings this one checks them; a member of the wrong type is an AWS input error
 * of the service (`inputErrors`), never a crash. `null` counts as absent.
 */
export class JsonInput {
  constructor(
    private readonly value: Readonly<Record<string, unknown>>,
    private readonly errors: ParamErrors,
    private readonly path = '',
  ) {}

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  str(name: string): string | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return value;
  }

  required(name: string): string {
    const value = this.str(name);
    if (value === undefined || value === '') throw this.errors.missing(this.path + name);
    return value;
  }

  int(name: string): number | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return value;
  }

  strings(name: string): string[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return value as string[];
  }

  /** A string-to-string map, without a prototype (a key named `__proto__` is just a key). */
  stringMap(name: string): Record<string, string> | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!isRecord(value) || !Object.values(value).every((item) => typeof item === 'string')) throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return Object.assign(Object.create(null) as Record<string, string>, value);
  }

  /** A map of structures (SQS message attributes), keyed by name. */
  structMap(name: string): Map<string, JsonInput> | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!isRecord(value) || !Object.values(value).every(isRecord)) throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return new Map(Object.entries(value).map(([key, item]) => [key, new JsonInput(item as Record<string, unknown>, this.errors, `${this.path}${name}.${key}.`)]));
  }

  structs(name: string): JsonInput[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every(isRecord)) throw this.errors.invalid(this.path + name, JSON.stringify(value));
    return value.map((item, i) => new JsonInput(item as Record<string, unknown>, this.errors, `${this.path}${name}.${i + 1}.`));
  }

  private get(name: string): unknown {
    const value = Object.hasOwn(this.value, name) ? this.value[name] : undefined;
    return value === null ? undefined : value;
  }
}
