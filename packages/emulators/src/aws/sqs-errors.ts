import { AwsError } from './errors';
import type { ParamErrors } from './query';

/**
 * SQS's errors with the codes, shapes, statuses and messages AWS sends over the JSON
 * protocol. Codes and the shape/query-code pairs come from the SDK's model (its
 * `awsQueryError` traits) and from LocalStack's snapshot tests, which record the real
 * service; messages are AWS's verbatim, typos included ("The request include parameter").
 */
const LEGACY = 'AWS.SimpleQueueService.';

function invalidParameterValue(message: string): AwsError {
  return new AwsError('InvalidParameterValue', message, 400, { shape: 'InvalidParameterValueException' });
}

export const sqsErrors = {
  queueDoesNotExist: () => new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', 400, { queryCode: `${LEGACY}NonExistentQueue` }),
  invalidParameterValue,
  /** `Value <v> for parameter <name> is invalid. Reason: <reason>`, AWS's usual form. */
  invalidParameter: (name: string, value: string | number, reason: string) => invalidParameterValue(`Value ${value} for parameter ${name} is invalid. Reason: ${reason}`),
  missingParameter: (name: string) =>
    new AwsError('MissingParameter', `The request must contain the parameter ${name}.`, 400, { shape: 'MissingRequiredParameterException' }),
  /** A parameter that is valid for the other queue type (DelaySeconds on FIFO, deduplication ids on standard). */
  wrongQueueType: (name: string, value: string | number) =>
    invalidParameterValue(`Value ${value} for parameter ${name} is invalid. Reason: The request include parameter that is not valid for this queue type.`),
  invalidAttributeName: (message: string) => new AwsError('InvalidAttributeName', message),
  unknownAttribute: (name: string) => new AwsError('InvalidAttributeName', `Unknown Attribute ${name}.`),
  invalidAttributeValue: (name: string, reason?: string) =>
    new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.${reason ? ` Reason: ${reason}` : ''}`),
  queueNameExists: (attribute: string) =>
    new AwsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${attribute}`, 400, { queryCode: 'QueueAlreadyExists' }),
  queueDeletedRecently: () =>
    new AwsError('QueueDeletedRecently', 'You must wait 60 seconds after deleting a queue before you can create another with the same name.', 400, {
      queryCode: `${LEGACY}QueueDeletedRecently`,
    }),
  purgeInProgress: (queue: string) =>
    new AwsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${queue} is allowed every 60 seconds.`, 403, { queryCode: `${LEGACY}PurgeQueueInProgress` }),
  // The model gives ReceiptHandleIsInvalid HTTP 404 (@httpError and its awsQueryError trait).
  receiptHandleIsInvalid: (handle: string) => new AwsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`, 404),
  receiptHandleExpired: (handle: string) => invalidParameterValue(`Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`),
  notAvailableForVisibilityChange: (handle: string) =>
    invalidParameterValue(`Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`),
  invalidMessageContents: () =>
    new AwsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    ),
  emptyBatch: (entryType: string) =>
    new AwsError('EmptyBatchRequest', `There should be at least one ${entryType} in the request.`, 400, { queryCode: `${LEGACY}EmptyBatchRequest` }),
  tooManyEntries: (sent: number) =>
    new AwsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${sent}.`, 400, {
      queryCode: `${LEGACY}TooManyEntriesInBatchRequest`,
    }),
  invalidBatchEntryId: () =>
    new AwsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.', 400, {
      queryCode: `${LEGACY}InvalidBatchEntryId`,
    }),
  batchIdsNotDistinct: (id: string) => new AwsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 400, { queryCode: `${LEGACY}BatchEntryIdsNotDistinct` }),
  batchTooLong: (limit: number, sent: number) =>
    new AwsError('BatchRequestTooLong', `Batch requests cannot be longer than ${limit} bytes. You have sent ${sent} bytes.`, 400, {
      queryCode: `${LEGACY}BatchRequestTooLong`,
    }),
  // RequestThrottled is SQS's modelled throttling error (HTTP 403 in the model); the SDK's
  // retry strategy lists it among its throttling codes.
  throttled: () => new AwsError('RequestThrottled', 'Rate exceeded', 403),
};

/** A missing member is MissingParameter; one of the wrong JSON type, InvalidParameterValue. */
export const sqsInputErrors: ParamErrors = {
  missing: (field) => sqsErrors.missingParameter(field),
  invalid: (field, value) => sqsErrors.invalidParameter(field, value, 'The value is not of the expected type.'),
};
