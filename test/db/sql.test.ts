import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunks, placeholders, valuesRows } from '../../src/db/sql.js';

describe('SQL list builders', () => {
  it('numbers placeholders from where the statement’s own parameters end', () => {
    assert.equal(placeholders(3), '$1, $2, $3');
    assert.equal(placeholders(2, 5), '$5, $6');
    assert.equal(placeholders(1, 2), '$2');
    assert.equal(placeholders(0), '');
  });

  it('writes VALUES rows parameter after parameter, with casts when given the column types', () => {
    assert.equal(valuesRows(2, 2, 3), '($3, $4), ($5, $6)');
    assert.equal(valuesRows(1, 3), '($1, $2, $3)');
    assert.equal(valuesRows(2, ['text', 'bigint'], 2), '(CAST($2 AS text), CAST($3 AS bigint)), (CAST($4 AS text), CAST($5 AS bigint))');
  });

  it('answers the same text for a shape whatever was asked before, shorter or longer, and for lists longer than it keeps', () => {
    const rows = (n: number, from: number) => Array.from({ length: n }, (_, r) => `($${from + 2 * r}, $${from + 2 * r + 1})`).join(', ');
    for (const n of [5, 3, 7, 1, 7, 2500, 4]) assert.equal(valuesRows(n, 2, 9), rows(n, 9), `${n} rows`);
    for (const n of [4, 2, 100, 30, 120, 3000])
      assert.equal(placeholders(n, 4), Array.from({ length: n }, (_, i) => `$${i + 4}`).join(', '), `${n} placeholders`);
    assert.equal(valuesRows(1, ['text'], 9), '(CAST($9 AS text))', 'a typed list is another shape than an untyped one');
  });

  it('cuts a list into slices of at most n, in order, and an empty list into none', () => {
    for (const dialect of ['sqlite', 'postgres'] as const) {
      assert.deepEqual(chunks(dialect, [1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
      assert.deepEqual(chunks(dialect, [1, 2], 2), [[1, 2]]);
      assert.deepEqual(chunks(dialect, [], 500), []);
    }
  });

  it('on SQLite, slices are n long or a power of two, so a shape has a few texts; on Postgres, as long as they may be', () => {
    const xs = Array.from({ length: 1037 }, (_, i) => i);
    const sqlite = chunks('sqlite', xs, 500);
    assert.deepEqual(
      sqlite.map((c) => c.length),
      [500, 500, 32, 4, 1],
    );
    assert.deepEqual(sqlite.flat(), xs, 'every item once, in order');
    assert.deepEqual(
      chunks('postgres', xs, 500).map((c) => c.length),
      [500, 500, 37],
    );
    const lengths = new Set<number>();
    for (let n = 1; n <= 1000; n++) for (const c of chunks('sqlite', xs.slice(0, n), 500)) lengths.add(c.length);
    assert.deepEqual(
      [...lengths].sort((a, b) => a - b),
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 500],
      'any count from 1 to 1,000 in ten lengths',
    );
  });
});
