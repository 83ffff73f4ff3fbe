import type { Queryable } from '../../db/db.js';
import { DeliveryStatus } from '../status.js';

/**
 * How many deliveries are due now (in progress, their due time passed, no live lease: a leased
 * delivery's due_at is its lease's expiry) and the due time of the oldest, for the metrics'
 * backlog gauges. Both come from the partial index deliveries_due, without reading a row.
 * Deliveries held back by an open circuit or an ordered endpoint's queue count as due.
 */
export async function readDueBacklog(q: Queryable, now: number): Promise<{ due: number; oldestDueAt: number | null }> {
  const row = await q.one<{ due: number | string; oldest: number | string | null }>(
    `SELECT COUNT(*) AS due, MIN(due_at) AS oldest FROM deliveries WHERE status = '${DeliveryStatus.InProgress}' AND due_at <= $1`,
    [now],
  );
  return { due: Number(row?.due ?? 0), oldestDueAt: row?.oldest == null ? null : Number(row.oldest) };
}
