import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The first `length` characters of the RFC 4648 base32 of sha256(text): the digest
 * kube-proxy puts in its chain names (KUBE-SVC-<16>, nftables `service-<8>-…`), so names
 * are stable across restarts and distinct for distinct inputs.
 */
export function base32Hash(text: string, length: number): string {
  const bytes = createHash('sha256').update(text).digest();
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
    buffer &= (1 << bits) - 1;
  }
  return out;
}
