import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from '../src/ids.js';

describe('ids', () => {
  it('makes ids that sort by creation time', () => {
    const a = newId('evt', 1_700_000_000_000);
    const b = newId('evt', 1_700_000_000_001);
    assert.ok(a < b);
    assert.match(a, /^evt_[0-9a-z]{22}$/);
  });
  it('keeps ids made in the same millisecond in the order they were made', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newId(i % 2 ? 'evt' : 'dlv', 1_700_000_000_002).slice(4));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
  });
  it('starts each millisecond at a fresh random point, past the random pool refilling', () => {
    // 3,000 milliseconds draw more random bytes than one pool holds (ids.ts).
    const starts = Array.from({ length: 3000 }, (_, i) => newId('evt', 1_800_000_000_000 + i).slice(14));
    assert.equal(new Set(starts).size, starts.length);
    // The first digit stays low (room for billions in the same millisecond); the others use the whole alphabet.
    assert.ok(starts.every((r) => '0123456789abcdef'.includes(r[0])));
    assert.equal(new Set(starts.map((r) => r[11])).size, 32);
  });
});
