import { badRequest } from '../errors.js';

/**
 * What the JSON body parser learns about a body besides its value: the exact source text of each
 * event payload, so that Herald stores and sends the bytes it was given (JSON.parse would turn
 * 12345678901234567890 into 12345678901234567000, 1.50 into 1.5 and 1e400 into null).
 */
export interface JsonSource {
  /** The text of the top-level `payload` member (POST …/events). */
  payload?: string;
  /** The text of `events[i].payload`, by i (POST …/events/batch). */
  events?: (string | undefined)[];
}

// Character codes compared with numbers read from the text: the enum is only their names.
/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison */
const enum C {
  Quote = 0x22,
  Backslash = 0x5c,
  Comma = 0x2c,
  Colon = 0x3a,
  OpenObj = 0x7b,
  CloseObj = 0x7d,
  OpenArr = 0x5b,
  CloseArr = 0x5d,
  Space = 0x20,
  Tab = 0x09,
  Lf = 0x0a,
  Cr = 0x0d,
}

// Objects with at most this many keys find duplicates by a linear search; larger ones get a Set.
// Almost every JSON object is small, and a Set per object would cost more than the search.
const SMALL = 16;

/**
 * One pass over a JSON text that JSON.parse has already accepted. It refuses what JSON.parse lets
 * through but Herald must not: nesting deeper than `maxDepth` (a payload nested thousands of levels
 * deep is accepted by JSON.parse, then breaks every recursive reader later), duplicate keys (JSON.parse
 * keeps the last one silently, so the sender and Herald would disagree on the value), and keys that
 * would reach an object's prototype (`__proto__`, `constructor.prototype`), which Fastify's own
 * parser refused. With `capture`, it also returns the source text of the event payloads.
 *
 * It is iterative (no recursion, so no depth can overflow the stack) and skips over strings with
 * indexOf: it costs 1.1–1.5 times what JSON.parse does on the same text (bench/jsonBody.ts).
 */
export function scanJson(text: string, maxDepth: number, capture: boolean): JsonSource {
  const n = text.length;
  // The open containers, innermost last: kind, the key being read or the array index, the keys
  // seen so far (objects). Kept in arrays, and the loop's own state in plain locals that no
  // closure captures: V8 keeps those in registers, which is most of this function's speed.
  const isObj: boolean[] = [];
  const keyOf: (string | null)[] = [];
  const index: number[] = [];
  // Keys of the objects being read: one array per depth, reused from object to object (most
  // objects are small, and allocating per object costs more than the search), and a Set once an
  // object has more than SMALL keys.
  const keys: string[][] = [];
  const count: number[] = [];
  const big: (Set<string> | null)[] = [];
  let depth = 0;
  let expectKey = false;
  const out: JsonSource = {};
  // The payload being captured: where it starts, the depth its value sits at, its batch index.
  let capStart = -1;
  let capDepth = -1;
  let capIndex = -1;

  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === C.Space || c === C.Lf || c === C.Cr || c === C.Tab || c === C.Colon) {
      i++;
      continue;
    }
    if (c === C.Comma) {
      if (isObj[depth - 1]) expectKey = true;
      else index[depth - 1]++;
      i++;
      continue;
    }
    if (c === C.Quote && expectKey) {
      const end = stringEnd(text, i);
      expectKey = false;
      const d = depth - 1;
      // A key with escapes is decoded, so "a" and "\u0061" are the same key.
      let escaped = false;
      for (let j = i + 1; j < end; j++) {
        if (text.charCodeAt(j) === C.Backslash) {
          escaped = true;
          break;
        }
      }
      const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
      if (key === '__proto__' || (key === 'prototype' && d > 0 && isObj[d - 1] && keyOf[d - 1] === 'constructor')) {
        throw badRequest(`${pathTo(d, key)}: the key "${key}" is not accepted (it could reach an object's prototype); rename it`);
      }
      const set = big[d];
      if (set !== null) {
        if (set.has(key)) throw duplicate(d, key);
        set.add(key);
      } else {
        const ks = keys[d];
        const k = count[d];
        for (let j = 0; j < k; j++) if (ks[j] === key) throw duplicate(d, key);
        ks[k] = key;
        count[d] = k + 1;
        if (k + 1 > SMALL) big[d] = new Set(ks.slice(0, k + 1));
      }
      keyOf[d] = key;
      i = end + 1;
      continue;
    }
    if (c === C.CloseObj || c === C.CloseArr) {
      depth--;
      expectKey = false;
      i++;
      if (capStart >= 0 && depth === capDepth) {
        keep(text.slice(capStart, i), capIndex);
        capStart = -1;
      }
      continue;
    }
    // A value starts here: is it an event payload?
    if (capture && depth > 0 && isObj[depth - 1] && keyOf[depth - 1] === 'payload') {
      if (depth === 1) {
        capStart = i;
        capDepth = 1;
        capIndex = -1;
      } else if (depth === 3 && isObj[0] && keyOf[0] === 'events' && !isObj[1] && isObj[2]) {
        capStart = i;
        capDepth = 3;
        capIndex = index[1];
      }
    }
    if (c === C.OpenObj || c === C.OpenArr) {
      if (depth >= maxDepth) {
        throw badRequest(
          `the JSON body is nested more than ${maxDepth} levels deep (at ${truncate(pathTo(depth))}); flatten it (the limit is HERALD_MAX_JSON_DEPTH)`,
        );
      }
      const obj = c === C.OpenObj;
      isObj[depth] = obj;
      keyOf[depth] = null;
      index[depth] = 0;
      if (obj) {
        keys[depth] ??= [];
        count[depth] = 0;
        big[depth] = null;
      }
      depth++;
      expectKey = obj;
      i++;
      continue;
    }
    if (c === C.Quote) i = stringEnd(text, i) + 1;
    else {
      // A number, true, false or null: up to the next delimiter.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === C.Comma || d === C.CloseObj || d === C.CloseArr || d === C.Space || d === C.Lf || d === C.Cr || d === C.Tab) break;
        i++;
      }
    }
    if (capStart >= 0 && depth === capDepth) {
      keep(text.slice(capStart, i), capIndex);
      capStart = -1;
    }
  }
  return out;

  function keep(source: string, at: number): void {
    if (at < 0) out.payload = source;
    else (out.events ??= [])[at] = source;
  }

  function pathTo(upTo: number, extra?: string): string {
    let p = '';
    for (let d = 0; d < upTo; d++) {
      if (!isObj[d]) p += `[${index[d]}]`;
      else if (keyOf[d] !== null) p += member(p, keyOf[d]!);
    }
    if (extra !== undefined) p += member(p, extra);
    return p || 'the body';
  }

  function duplicate(d: number, key: string) {
    const where = d === 0 ? 'the body' : truncate(pathTo(d));
    return badRequest(
      `duplicate key "${truncate(key)}" in ${where}; a key may appear once per object (which value was meant is ambiguous)`,
      {
        key,
        path: where,
      },
    );
  }
}

/** The index of the quote that closes the string opening at i: the next one not escaped. */
function stringEnd(text: string, i: number): number {
  let end = text.indexOf('"', i + 1);
  for (;;) {
    // Escaped when preceded by an odd run of backslashes.
    let b = end - 1;
    while (text.charCodeAt(b) === C.Backslash) b--;
    if ((end - 1 - b) % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

const member = (path: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? (path ? '.' : '') + key : `[${JSON.stringify(key)}]`);

function truncate(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
