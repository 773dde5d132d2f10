import type { AwsError } from './errors';
import type { ListStyle, ParamErrors, Params } from './query';
import type { AwsState } from './state';
import type { XmlValue } from './xml';

/** Every service the endpoint speaks, as recorded calls and `countCalls` name them. */
export type ServiceName = 'ec2' | 'elbv2' | 'sqs' | 'secretsmanager' | 'tagging';

/** What the HTTP edge writes back, whichever protocol produced it. */
export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The one thing fault injection needs from a service: how it says "slow down". */
export interface Throttles {
  /** The error this service answers when a caller exceeds its request rate. */
  throttlingError(): AwsError;
}

/** What a handler sees: the shared world, the request, and the clock of this call. */
export interface HandlerContext {
  readonly state: AwsState;
  readonly params: Params;
  readonly now: Date;
}

/** The members of the operation's result, rendered into the service's envelope. */
export type ResultFields = { readonly [key: string]: XmlValue };
export type Handler = (ctx: HandlerContext) => ResultFields;

/** Everything the HTTP edge needs to serve one query-protocol service. */
export interface ServiceDefinition extends Throttles {
  readonly service: 'ec2' | 'elbv2';
  readonly version: string;
  readonly listStyle: ListStyle;
  readonly paramErrors: ParamErrors;
  /** Runs the action; throws {@link AwsError} for AWS errors (an unknown action included). */
  dispatch(action: string, ctx: HandlerContext): ResultFields;
  renderResult(action: string, fields: ResultFields, requestId: string): string;
  renderError(error: AwsError, requestId: string): string;
}

/** AWS's convention, and the emulator's definition of "mutating": not Describe*, Get* or List*. */
export function isMutating(action: string): boolean {
  return !/^(Describe|Get|List)/.test(action);
}
