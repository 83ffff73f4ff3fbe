import type { Queryable } from './db.js';

/**
 * The Postgres channel on which a commit that leaves work due tells the worker nodes, who listen
 * on it (runtime/pgWakeups.ts) and look at once instead of at their next poll.
 */
export const WORK_CHANNEL = 'herald_work';

/**
 * What was made due, the notification's payload: deliveries (for the delivery worker), received
 * messages (for the inbound processor), a bulk recovery (for maintenance).
 */
export type WorkKind = 'deliveries' | 'inbound' | 'recoveries';

export const WORK_KINDS: readonly WorkKind[] = ['deliveries', 'inbound', 'recoveries'];

/** Transactions that already announced a kind: the same notification twice is one round trip too many. */
const announced = new WeakMap<Queryable, Set<WorkKind>>();

/**
 * Called in the transaction that makes work due, on Postgres: `pg_notify` is delivered when the
 * transaction commits, and only if it does, so a listener never wakes before the rows are
 * visible, nor for rows rolled back. Postgres folds identical notifications of one transaction
 * into one, and this skips the repeated statement, so a commit costs one NOTIFY however many rows
 * or calls it holds. Called outside a transaction (`q` is the Db), it is its own small commit,
 * after the statement before it.
 *
 * SQLite: nothing. One process uses a database file, and it wakes its own loops in memory.
 */
export async function announceWork(q: Queryable, kind: WorkKind): Promise<void> {
  if (q.dialect !== 'postgres') return;
  // A Db (it has tx) runs each statement in a transaction of its own: never skip on it.
  const inTx = !('tx' in q);
  if (inTx && announced.get(q)?.has(kind)) return;
  await q.run('SELECT pg_notify($1, $2)', [WORK_CHANNEL, kind]);
  if (inTx) announced.set(q, (announced.get(q) ?? new Set<WorkKind>()).add(kind));
}

/**
 * announceWork as an SQL expression, for a statement that commits on its own (a group commit's
 * data-modifying CTEs): written as an uncorrelated subquery, it runs once however many rows
 * select it, and none when no row does; `pg_notify` is sent at the statement's commit. Postgres only.
 */
export const announceInStatement = (kind: WorkKind) => `(SELECT pg_notify('${WORK_CHANNEL}', '${kind}'))`;
