import { randomBytes } from 'node:crypto';

// Crockford base32: ids sort by creation time (first 10 chars are the millisecond clock), which
// makes `ORDER BY id` a creation order and keeps cursor pagination a plain `id < $cursor`.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

export function newId(prefix: string, now = Date.now()): string {
  const bytes = randomBytes(12);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b & 31];
  return `${prefix}_${encodeTime(now)}${rand}`;
}

/** A random URL-safe secret string of `bytes` bytes of entropy. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
