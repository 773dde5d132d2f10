/**
 * One error type for both services: a handler throws {@link AwsError} and the HTTP
 * edge renders it in the service's own envelope (see `renderError` in each service).
 * `status` is the HTTP status AWS uses for that code: 400 for almost every client
 * error (ELBv2 never answers 404; its "not found" codes are 400 too), 412 for EC2's
 * DryRunOperation, 503 for EC2 throttling, 5xx for server faults.
 */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
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
