import { createHash } from 'node:crypto';

/** Hex SHA-256 of the text. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The first 10 hex digits of the parts' digest, NUL-separated so that ("ab","c") and ("a","bc") differ. */
export function hash(...parts: string[]): string {
  return digest(parts.join('\0')).slice(0, 10);
}
