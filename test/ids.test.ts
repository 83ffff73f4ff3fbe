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
});
