import { createHash } from 'node:crypto';
import type { SqsMessageAttribute } from './sqs-model';

/**
 * The digests SQS returns with every send and receive. The SDK recomputes
 * `MD5OfMessageBody`/`MD5OfBody` and rejects the response on a mismatch, so these must be
 * exact: the MD5 of the body's UTF-8 bytes, and for attributes the algorithm the SQS
 * developer guide documents ("Calculating the MD5 message digest for message
 * attributes"): attributes sorted by name, each encoded as
 * length-prefixed name, length-prefixed data type, one transport byte (1 string or number,
 * 2 binary) and the length-prefixed value, lengths as 4-byte big-endian integers.
 */
export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

export function md5OfAttributes(attributes: ReadonlyMap<string, SqsMessageAttribute>): string | undefined {
  if (attributes.size === 0) return undefined;
  const hash = createHash('md5');
  const lengthPrefixed = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  // Sorted by the names' bytes, as SQS sorts them (a plain code-unit sort agrees for ASCII names).
  for (const name of [...attributes.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const attribute = attributes.get(name)!;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(attribute.DataType, 'utf8'));
    if (attribute.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      lengthPrefixed(Buffer.from(attribute.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      lengthPrefixed(Buffer.from(attribute.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}
