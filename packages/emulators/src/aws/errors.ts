/**
 * One error type for every service: a handler throws {@link AwsError} and the HTTP
 * edge renders it in the service's own envelope (XML for the query services, JSON for
 * SQS and Secrets Manager). `status` is the HTTP status AWS uses for that code: 400 for
 * almost every client error (ELBv2 never answers 404; its "not found" codes are 400
 * too), 412 for EC2's DryRunOperation, 503 for EC2 throttling, 5xx for server faults.
 *
 * `code` is the name the SDK gives the error (`error.name`) and the one recorded calls
 * carry. The JSON protocols can spell it differently on the wire, see {@link WireNames}.
 */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly wire: WireNames = {},
  ) {
    super(message);
    this.name = 'AwsError';
  }

  /** AWS marks 5xx as the server's fault ("Receiver"), everything else "Sender". */
  get type(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

/**
 * How a JSON-protocol error is spelled when that differs from `code`. SQS moved from the
 * query protocol to JSON and stayed "query compatible": its body names the model shape
 * (`"__type": "com.amazonaws.sqs#QueueDoesNotExist"`) while the `x-amzn-query-error`
 * header carries the old query code (`AWS.SimpleQueueService.NonExistentQueue;Sender`),
 * which the SDK maps back to the shape. Codes the model does not declare, such as
 * `InvalidParameterValue`, travel as a shape (`InvalidParameterValueException`) and a
 * header code the SDK reports as the error's name. Both spellings are AWS's, as
 * recorded against the real service (LocalStack's SQS snapshot tests).
 */
export interface WireNames {
  /** The `__type` shape name, when it is not `code`. */
  readonly shape?: string;
  /** The query-protocol code for `x-amzn-query-error`, when it is not `code`. */
  readonly queryCode?: string;
}

/**
 * The Coral-style validation message AWS query services return for a parameter that
 * breaks a model constraint, e.g.
 * `1 validation error detected: Value '0' at 'port' failed to satisfy constraint: Member must have value greater than or equal to 1`.
 */
export function constraintMessage(field: string, value: string | null, constraint: string): string {
  const shown = value === null ? 'null' : `'${value}'`;
  return `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`;
}

/** AWS prints lists in messages the way Java does: `[a, b]`. */
export function javaList(values: readonly string[]): string {
  return `[${values.join(', ')}]`;
}
