import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freshDatabase } from './helpers/db.js';

// Postgres aborts one of two transactions that wait on each other's rows (deadlock_detected). The
// aborted one left nothing behind, so Herald runs it again instead of answering 500.
describe('Postgres transactions', () => {
  it('run again when Postgres aborts them to break a deadlock', async () => {
    const database = await freshDatabase('postgres');
    const db = database.open();
    try {
      await db.exec('CREATE TABLE pair (id integer PRIMARY KEY, v integer NOT NULL)');
      await db.exec('INSERT INTO pair VALUES (1, 0), (2, 0)');
      // Both hold their first row before either asks for its second: a certain deadlock.
      let holding = 0;
      let release!: () => void;
      const bothHold = new Promise<void>((r) => (release = r));
      let runs = 0;
      const swap = (first: number, second: number) =>
        db.tx(async (q) => {
          runs++;
          await q.run('UPDATE pair SET v = v + 1 WHERE id = $1', [first]);
          if (++holding === 2) release();
          await bothHold;
          await q.run('UPDATE pair SET v = v + 1 WHERE id = $1', [second]);
        });
      await Promise.all([swap(1, 2), swap(2, 1)]);
      assert.ok(runs >= 3, `one of them ran again (${runs} runs)`);
      const rows = await db.all<{ v: number }>('SELECT v FROM pair ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.v),
        [2, 2],
        'both committed, each once',
      );
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
