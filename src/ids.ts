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

// Within one millisecond, ids made by this process keep increasing (as monotonic ULIDs do): the
// random part of the previous id plus one. Events written in one group share a millisecond, and
// an ordered endpoint takes its deliveries in id order, so that order must be the write order.
let lastTime = -1;
let lastRand: number[] = [];

function nextRand(now: number): number[] {
  if (now === lastTime) {
    const r = [...lastRand];
    let i = r.length - 1;
    while (i >= 0 && r[i] === 31) r[i--] = 0;
    if (i >= 0) {
      r[i]++;
      lastRand = r;
      return r;
    }
  }
  lastTime = now;
  // The first id of a millisecond starts low enough that billions can follow it in the same one.
  lastRand = [...randomBytes(12)].map((b, i) => (i === 0 ? b & 15 : b & 31));
  return lastRand;
}

export function newId(prefix: string, now = Date.now()): string {
  let rand = '';
  for (const v of nextRand(now)) rand += ALPHABET[v];
  return `${prefix}_${encodeTime(now)}${rand}`;
}

/**
 * The smallest id `newId(prefix, ms)` can make: every id made at `ms` or later sorts at or after
 * it, every id made earlier before it. Turns a time bound into an id bound an index can seek to.
 */
export function idFloor(prefix: string, ms: number): string {
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(ms)))}`;
}

/** A random URL-safe secret string of `bytes` bytes of entropy. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
