import { AwsError } from './errors';
import type { JsonInput, JsonObject } from './json-protocol';
import { sqsErrors } from './sqs-errors';

/**
 * The rules every SQS batch shares. A malformed batch fails as a whole (no entries, more
 * than ten, a bad or repeated `Id`); after that "the result of the action on each message
 * is reported individually": each entry lands in `Successful` or in `Failed` with the code
 * and message its single-message call would have failed with. AWS sends both lists,
 * empty ones included.
 */
const MAX_ENTRIES = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** The entries of a well-formed batch; `entryType` names them in the EmptyBatchRequest message. */
export function batchEntries(input: JsonInput, entryType: string): JsonInput[] {
  const entries = input.structs('Entries') ?? [];
  if (entries.length === 0) throw sqsErrors.emptyBatch(entryType);
  if (entries.length > MAX_ENTRIES) throw sqsErrors.tooManyEntries(entries.length);
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = entry.str('Id') ?? '';
    if (!BATCH_ENTRY_ID.test(id)) throw sqsErrors.invalidBatchEntryId();
    if (seen.has(id)) throw sqsErrors.batchIdsNotDistinct(id);
    seen.add(id);
  }
  return entries;
}

export function runBatch(entries: readonly JsonInput[], run: (entry: JsonInput) => JsonObject): JsonObject {
  const successful: JsonObject[] = [];
  const failed: JsonObject[] = [];
  for (const entry of entries) {
    const id = entry.required('Id');
    try {
      successful.push({ Id: id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      failed.push({ Id: id, SenderFault: error.type === 'Sender', Code: error.wire.queryCode ?? error.code, Message: error.message });
    }
  }
  return { Successful: successful, Failed: failed };
}
