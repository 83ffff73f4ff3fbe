import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanJson } from '../src/api/jsonBody.js';

// The scanner that finds each payload's exact text, duplicate keys and the nesting depth, checked
// on random JSON against a plain recursive reading of the same text. Seeded: a failure names it.

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random JSON text with odd spacing, escapes, numbers JSON.parse rounds, and (sometimes) duplicate keys. */
function randomJson(r: () => number, depth = 0): string {
  const ws = () => [' ', '', '\n', '\t', '  ', ''][Math.floor(r() * 6)];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  switch (Math.floor(r() * (depth > 4 ? 4 : 7))) {
    case 0:
      return pick(['null', 'true', 'false']);
    case 1:
      return pick(['0', '-1.50', '1e400', '12345678901234567890', '3.0E-2', '1600.0']);
    case 2:
      return pick(['""', '"a\\"b"', '"x\\\\"', '"\\\\\\""', '"é\u2028"', '"\\u0061"', '"]}{[,:"']);
    case 3:
      return `[${ws()}]`;
    case 4:
      return `[${ws()}${Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
    default: {
      const members = Array.from({ length: Math.floor(r() * 5) }, (_, i) => {
        const key = pick(['a', 'b', 'payload', 'events', 'c\\"', '\\u0061', 'x\\\\']) + (r() < 0.85 ? String(i) : '');
        return `${ws()}"${key}"${ws()}:${ws()}${randomJson(r, depth + 1)}`;
      });
      return `{${members.join(',')}${ws()}}`;
    }
  }
}

/** A recursive reading of valid JSON: is any key repeated in one object? */
function hasDuplicate(t: string): boolean {
  let i = 0;
  let dup = false;
  const skipWs = () => {
    while (i < t.length && ' \n\t\r'.includes(t[i])) i++;
  };
  const str = () => {
    const s = i++;
    while (t[i] !== '"') i += t[i] === '\\' ? 2 : 1;
    return JSON.parse(t.slice(s, ++i)) as string;
  };
  const value = (): void => {
    skipWs();
    if (t[i] === '{' || t[i] === '[') {
      const obj = t[i++] === '{';
      const keys = new Set<string>();
      skipWs();
      if (t[i] === (obj ? '}' : ']')) return void i++;
      for (;;) {
        skipWs();
        if (obj) {
          const k = str();
          if (keys.has(k)) dup = true;
          keys.add(k);
          skipWs();
          i++; // :
        }
        value();
        skipWs();
        if (t[i++] !== ',') return;
      }
    }
    if (t[i] === '"') return void str();
    while (i < t.length && !',]} \n\t\r'.includes(t[i])) i++;
  };
  value();
  return dup;
}

describe('JSON body scanner', () => {
  it('finds the exact text of every payload and every duplicate key, in random bodies', () => {
    const seed = Number(process.env.HERALD_FUZZ_SEED ?? Date.now() % 1_000_000);
    const r = prng(seed);
    let duplicates = 0;
    for (let n = 0; n < 20_000; n++) {
      const payload = randomJson(r, 1);
      const single = r() < 0.5;
      const text = single
        ? `{ "type":"x", "payload" :${payload} , "z":[1,{"payload":2}]}`
        : `{"events":[{"type":"a","payload":1},{"payload":${payload}} , {"payload":{"q":[]}}],"payload":3}`;
      const where = `seed ${seed}, body ${JSON.stringify(text)}`;
      let found;
      try {
        found = scanJson(text, 64, true);
      } catch (err) {
        assert.match((err as Error).message, /duplicate key/, where);
        assert.ok(hasDuplicate(text), `${where}: no duplicate there`);
        duplicates++;
        continue;
      }
      assert.ok(!hasDuplicate(text), `${where}: a duplicate was missed`);
      if (single) assert.equal(found.payload, payload, where);
      else
        assert.deepEqual([found.events?.[0], found.events?.[1], found.events?.[2], found.payload], ['1', payload, '{"q":[]}', '3'], where);
    }
    assert.ok(duplicates > 50, `seed ${seed}: the bodies had duplicates to find (${duplicates})`);
  });

  it('names the key and its path, decodes escaped keys, and bounds depth without recursion', () => {
    assert.throws(() => scanJson('{"a":1,"\\u0061":2}', 64, false), /duplicate key "a" in the body/);
    assert.throws(() => scanJson('{"x":{"b":[{"c":1,"c":1}]}}', 64, false), /duplicate key "c" in x\.b\[0\]/);
    assert.throws(
      () => scanJson(`{${Array.from({ length: 40 }, (_, i) => `"k${i}":1`).join(',')},"k39":2}`, 64, false),
      /duplicate key "k39"/,
    );
    assert.throws(() => scanJson('{"__proto__":{}}', 64, false), /"__proto__" is not accepted/);
    assert.throws(() => scanJson('{"constructor":{"prototype":{}}}', 64, false), /"prototype" is not accepted/);
    assert.doesNotThrow(() => scanJson('[{"a":1},{"a":1}]', 64, false), 'the same key in two objects is fine');
    assert.doesNotThrow(() => scanJson(`${'['.repeat(64)}${']'.repeat(64)}`, 64, false));
    assert.throws(() => scanJson(`${'['.repeat(65)}${']'.repeat(65)}`, 64, false), /nested more than 64 levels deep/);
    assert.throws(() => scanJson(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`, 64, false), /nested more than 64 levels deep/);
  });
});
