import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Db, Queryable } from '../../src/db/db.js';
import { GroupCommit, type GroupWrite } from '../../src/db/groupCommit.js';
import { valuesRows } from '../../src/db/sql.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/db.js';

// Group commit on its own, on both dialects: which items share a transaction, when callers are
// answered, and what a failing group costs.
for (const dialect of DIALECTS) {
  describe(`group commit (${dialect})`, { timeout: 20_000 }, () => {
    let database: TestDatabase;
    let db: Db;
    before(async () => {
      database = await freshDatabase(dialect);
      db = database.open();
      await db.exec('CREATE TABLE items (id text PRIMARY KEY, weight integer NOT NULL)');
    });
    after(async () => {
      await db.close();
      await database.drop();
    });
    beforeEach(() => db.run('DELETE FROM items'));

    interface Item {
      id: string;
      weight: number;
    }
    /** Each group's items as written, and whether it was a retry of one item alone. */
    let groups: { ids: string[]; alone: boolean }[];
    let committed: string[][];
    beforeEach(() => {
      groups = [];
      committed = [];
    });
    /** Inserts the group's items in one statement; answers each item's id and row count so far. */
    const writer =
      (gate?: Promise<void>) =>
      async (q: Queryable, items: Item[], alone: boolean): Promise<GroupWrite<string>> => {
        groups.push({ ids: items.map((i) => i.id), alone });
        await gate;
        const params = items.flatMap((i) => [i.id, i.weight]);
        await q.run(`INSERT INTO items (id, weight) VALUES ${valuesRows(items.length, 2)}`, params);
        return { results: items.map((i) => `wrote ${i.id}`), afterCommit: () => committed.push(items.map((i) => i.id)) };
      };
    const item = (id: string, weight = 1): Item => ({ id, weight });
    const stored = async () => (await db.all<{ id: string }>('SELECT id FROM items ORDER BY id')).map((r) => r.id);

    it('writes what is submitted together in one transaction, and answers each caller after its commit', async () => {
      const gc = new GroupCommit(db, writer());
      const answers = await Promise.all(
        ['a', 'b', 'c', 'd', 'e'].map((id) =>
          gc.submit(item(id)).then(async (answer) => {
            // By the time a caller is answered, its row is committed: another connection sees it.
            assert.ok((await stored()).includes(id), `${id} committed before its caller was answered`);
            return answer;
          }),
        ),
      );
      assert.deepEqual(answers, ['wrote a', 'wrote b', 'wrote c', 'wrote d', 'wrote e']);
      assert.deepEqual(groups, [{ ids: ['a', 'b', 'c', 'd', 'e'], alone: false }]);
      assert.deepEqual(committed, [['a', 'b', 'c', 'd', 'e']]);
    });

    it('puts what arrives while a group is being written into the next group', async () => {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const gc = new GroupCommit(db, writer(gate));
      const first = [gc.submit(item('a')), gc.submit(item('b'))];
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = [gc.submit(item('c')), gc.submit(item('d'))];
      await new Promise((resolve) => setTimeout(resolve, 50));
      open();
      await Promise.all([...first, ...second]);
      assert.deepEqual(
        groups.map((g) => g.ids),
        [
          ['a', 'b'],
          ['c', 'd'],
        ],
      );
    });

    it('holds a group to its weight, and gives an item heavier than that a group of its own', async () => {
      const gc = new GroupCommit(db, writer(), { maxWeight: 3, weight: (i: Item) => i.weight });
      await Promise.all([item('a', 2), item('b', 2), item('c', 1), item('d', 5), item('e', 1)].map((i) => gc.submit(i)));
      assert.deepEqual(
        groups.map((g) => g.ids),
        [['a'], ['b', 'c'], ['d'], ['e']],
      );
    });

    it('writes a failed group again one item at a time, so only the bad item’s caller fails', async () => {
      await db.run(`INSERT INTO items (id, weight) VALUES ('taken', 1)`);
      const gc = new GroupCommit(db, writer());
      const results = await Promise.allSettled(['a', 'taken', 'c'].map((id) => gc.submit(item(id))));
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.deepEqual(groups, [
        { ids: ['a', 'taken', 'c'], alone: false },
        { ids: ['a'], alone: true },
        { ids: ['taken'], alone: true },
        { ids: ['c'], alone: true },
      ]);
      assert.deepEqual(committed, [['a'], ['c']], 'nothing runs after a rolled-back transaction');
      assert.deepEqual(await stored(), ['a', 'c', 'taken']);
    });

    it('without a transaction, hands writeGroup the Db; an item failed after the commit fails alone and nothing is written again', async () => {
      const seen: Queryable[] = [];
      const gc = new GroupCommit(
        db,
        async (q: Queryable, items: Item[], alone: boolean): Promise<GroupWrite<string>> => {
          seen.push(q);
          groups.push({ ids: items.map((i) => i.id), alone });
          await q.run(
            `INSERT INTO items (id, weight) VALUES ${valuesRows(items.length, 2)}`,
            items.flatMap((i) => [i.id, i.weight]),
          );
          return {
            results: items.map((i) => `wrote ${i.id}`),
            failures: items.map((i) => (i.id === 'refused' ? new Error('refused after the commit') : undefined)),
          };
        },
        { maxWeight: 500, weight: () => 1, transaction: false },
      );
      const results = await Promise.allSettled(['a', 'refused', 'c'].map((id) => gc.submit(item(id))));
      assert.deepEqual(
        results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
        ['wrote a', 'refused after the commit', 'wrote c'],
      );
      assert.deepEqual(groups, [{ ids: ['a', 'refused', 'c'], alone: false }], 'the group is not written again');
      assert.deepEqual(seen, [db]);
      assert.deepEqual(await stored(), ['a', 'c', 'refused']);
    });

    it('keeps working after a failure: the next submit starts a new group', async () => {
      await db.run(`INSERT INTO items (id, weight) VALUES ('taken', 1)`);
      const gc = new GroupCommit(db, writer());
      await assert.rejects(gc.submit(item('taken')));
      assert.equal(await gc.submit(item('later')), 'wrote later');
    });
  });
}
