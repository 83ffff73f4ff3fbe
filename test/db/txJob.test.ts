import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Db, isUniqueViolation } from '../../src/db/db.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/db.js';
import { insertItems } from '../helpers/jobs.js';

// Jobs (db.ts, TxJob): on SQLite they run on the writer thread (db/sqliteThread.ts), several
// sharing one commit; on Postgres each is a transaction. What callers see must be the same.
for (const dialect of DIALECTS) {
  describe(`transaction jobs (${dialect})`, { timeout: 30_000 }, () => {
    let database: TestDatabase;
    let db: Db;
    before(async () => {
      database = await freshDatabase(dialect);
      db = database.open();
      await db.exec('CREATE TABLE items (id text PRIMARY KEY)');
    });
    after(async () => {
      await db.close();
      await database.drop();
    });
    beforeEach(() => db.run('DELETE FROM items'));
    const stored = async () => (await db.all<{ id: string }>('SELECT id FROM items ORDER BY id')).map((r) => r.id);

    it('commits a job before answering it, and answers what it returned', async () => {
      const out = await db.txJob(insertItems, { ids: ['a', 'b'] });
      assert.equal(out.count, 2);
      assert.deepEqual(await stored(), ['a', 'b'], 'visible to the main connection once answered');
      if (dialect === 'sqlite') assert.notEqual(out.threadId, 0, 'ran on the writer thread, not the main one');
    });

    it('rolls back a failing job alone, with its error, while the jobs beside it are kept', async () => {
      const results = await Promise.allSettled([
        db.txJob(insertItems, { ids: ['a'] }),
        db.txJob(insertItems, { ids: ['b', 'a'] }), // 'a' again: a unique violation, 'b' is rolled back with it
        db.txJob(insertItems, { ids: ['c'] }),
      ]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal(results[2].status, 'fulfilled');
      assert.equal(results[1].status, 'rejected');
      const err: unknown = results[1].reason;
      assert.ok(isUniqueViolation(err), `a unique violation keeps its code across the thread: ${String((err as { code?: string }).code)}`);
      assert.deepEqual(await stored(), ['a', 'c']);
    });

    it('keeps transactions and writes of the main thread apart from jobs under way, losing nothing', async () => {
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        const id = String(i).padStart(2, '0');
        if (i % 5 === 0) work.push(db.tx((q) => q.run('INSERT INTO items (id) VALUES ($1)', [`tx${id}`])));
        else if (i % 5 === 1) work.push(db.run('INSERT INTO items (id) VALUES ($1)', [`run${id}`]));
        else work.push(db.txJob(insertItems, { ids: [`job${id}`] }));
        if (i % 7 === 0) await new Promise((r) => setImmediate(r));
      }
      await Promise.all(work);
      const ids = await stored();
      assert.equal(ids.length, 50);
      assert.equal(ids.filter((id) => id.startsWith('tx')).length, 10);
      assert.equal(ids.filter((id) => id.startsWith('run')).length, 10);
    });

    it('waits for the jobs under way before it closes', async () => {
      const other = database.open();
      const pending = other.txJob(insertItems, { ids: ['late'] });
      await other.close();
      await pending;
      assert.deepEqual(await stored(), ['late']);
    });
  });
}
