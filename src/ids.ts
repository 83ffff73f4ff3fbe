import { randomBytes, randomFillSync } from 'node:crypto';

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
//
// Several ids are made for every delivery (its event, itself, its attempt), so this is on the hot
// path: the time part is encoded once per millisecond and the random part is kept as digits and
// incremented in place, one string made per id.
const RAND_DIGITS = 12;
const ALPHABET_CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
let lastTime = -1;
let lastTimeText = '';
const rand = new Uint8Array(RAND_DIGITS);
const randCodes: number[] = new Array<number>(RAND_DIGITS).fill(0);

/** The random part of the last id plus one; false when it cannot grow (all digits 31). */
function increment(): boolean {
  let i = RAND_DIGITS - 1;
  while (i >= 0 && rand[i] === 31) i--;
  if (i < 0) return false;
  rand[i]++;
  randCodes[i] = ALPHABET_CODES[rand[i]];
  for (let j = i + 1; j < RAND_DIGITS; j++) {
    rand[j] = 0;
    randCodes[j] = ALPHABET_CODES[0];
  }
  return true;
}

// Random bytes are drawn from the system a pool at a time: randomFillSync costs a few
// microseconds a call whatever its size (measured: 1.3 % of the main thread under load, one call
// per millisecond that makes ids), as crypto.randomUUID also keeps a cache.
const POOL_BYTES = RAND_DIGITS * 256;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

function freshRandom(): void {
  if (poolAt === POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  for (let i = 0; i < RAND_DIGITS; i++) {
    // The first id of a millisecond starts low enough that billions can follow it in the same one.
    rand[i] = pool[poolAt + i] & (i === 0 ? 15 : 31);
    randCodes[i] = ALPHABET_CODES[rand[i]];
  }
  poolAt += RAND_DIGITS;
}

export function newId(prefix: string, now = Date.now()): string {
  if (now !== lastTime || !increment()) {
    if (now !== lastTime) lastTimeText = encodeTime(now);
    lastTime = now;
    freshRandom();
  }
  return `${prefix}_${lastTimeText}${String.fromCharCode(...randCodes)}`;
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
