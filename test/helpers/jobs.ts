// Jobs (db.ts, TxJob) for test/db/txJob.test.ts: a job is an export of a module the writer thread
// can import, and a test file is not one (importing it would run its tests there).
import { threadId } from 'node:worker_threads';
import type { TxJob } from '../../src/db/db.js';

/** Inserts the ids into `items`; answers the thread it ran on and the rows its transaction sees. */
export const insertItems: TxJob<{ ids: string[] }, { threadId: number; count: number }> = {
  module: import.meta.url,
  name: 'insertItems',
  run: async (q, { ids }) => {
    for (const id of ids) await q.run('INSERT INTO items (id) VALUES ($1)', [id]);
    const row = await q.one<{ n: number | string }>('SELECT count(*) AS n FROM items');
    return { threadId, count: Number(row!.n) };
  },
};
