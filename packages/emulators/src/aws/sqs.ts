import type { JsonServiceDefinition } from './json-protocol';
import { sqsErrors, sqsInputErrors } from './sqs-errors';
import { createQueue, deleteQueue, getQueueAttributes, getQueueUrl, listQueues, purgeQueue, setQueueAttributes } from './sqs-queues';
import { receiveMessage } from './sqs-receive';
import { sendMessage, sendMessageBatch } from './sqs-send';
import { changeMessageVisibility, changeMessageVisibilityBatch, deleteMessage, deleteMessageBatch } from './sqs-visibility';

/**
 * Amazon SQS (API version 2012-11-05) over the protocol `@aws-sdk/client-sqs` speaks:
 * AWS JSON 1.0 with `X-Amz-Target: AmazonSQS.<Operation>`, query-compatible errors
 * (`__type` shape plus `x-amzn-query-error`). Queue URLs are
 * `http://<emulator host>/<account>/<name>`, so the SDK can also use them as endpoints.
 */
export const sqsService: JsonServiceDefinition = {
  service: 'sqs',
  targetPrefix: 'AmazonSQS',
  contentType: 'application/x-amz-json-1.0',
  typePrefix: 'com.amazonaws.sqs#',
  messageKey: 'message',
  queryCompatible: true,
  inputErrors: sqsInputErrors,
  handlers: {
    CreateQueue: createQueue,
    GetQueueUrl: getQueueUrl,
    GetQueueAttributes: getQueueAttributes,
    SetQueueAttributes: setQueueAttributes,
    DeleteQueue: deleteQueue,
    ListQueues: listQueues,
    PurgeQueue: purgeQueue,
    SendMessage: sendMessage,
    SendMessageBatch: sendMessageBatch,
    ReceiveMessage: receiveMessage,
    DeleteMessage: deleteMessage,
    DeleteMessageBatch: deleteMessageBatch,
    ChangeMessageVisibility: changeMessageVisibility,
    ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
  },
  throttlingError: sqsErrors.throttled,
};
