import type { Queryable } from '../../db/db.js';

/** Deletes attempts started before `before`, at most `batch` per call. Answers how many went. */
export async function deleteOldAttempts(q: Queryable, opts: { before: number; batch: number }): Promise<number> {
  return q.run(`DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < $1 LIMIT $2)`, [opts.before, opts.batch]);
}
