import type { Db, Queryable } from '../db/db.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { refreshEventStatus } from './eventStatus.js';

// Bulk recovery: after an endpoint was down, every delivery to it that failed for good between two
// times is sent again, with a fresh retry schedule. A recovery is a row; the maintenance loop of
// any node takes it under a short lease and resends one bounded batch at a time, recording its
// progress (done / total) and where it stopped, so a node that dies mid-way loses nothing.

export interface Recovery {
  id: string;
  endpointId: string;
  since: string;
  until: string;
  status: 'running' | 'done';
  total: number;
  done: number;
  createdAt: string;
  updatedAt: string;
}

interface RecoveryRow {
  id: string;
  endpoint_id: string;
  since: number;
  until: number;
  status: Recovery['status'];
  total: number;
  done: number;
  created_at: number;
  updated_at: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const toRecovery = (r: RecoveryRow): Recovery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  since: iso(r.since),
  until: iso(r.until),
  status: r.status,
  total: r.total,
  done: r.done,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const COLUMNS = 'id, endpoint_id, since, until, status, total, done, created_at, updated_at';
const FAILED_IN_WINDOW = `endpoint_id = $1 AND status = 'F' AND created_at >= $2 AND created_at < $3`;

export async function startRecovery(db: Db, tenantId: string, endpointId: string, since: number, until: number): Promise<Recovery> {
  if (!(since < until)) throw badRequest('since must be before until');
  const now = Date.now();
  const total = await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE ${FAILED_IN_WINDOW}`, [endpointId, since, until]);
  const row = await db.one<RecoveryRow>(
    `INSERT INTO recoveries (id, tenant_id, endpoint_id, since, until, status, total, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
    [newId('rcv', now), tenantId, endpointId, since, until, Number(total?.n) > 0 ? 'running' : 'done', Number(total?.n), now],
  );
  return toRecovery(row!);
}

export async function getRecovery(q: Queryable, tenantId: string, id: string): Promise<Recovery> {
  const row = await q.one<RecoveryRow>(`SELECT ${COLUMNS} FROM recoveries WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  if (!row) throw notFound('recovery', id);
  return toRecovery(row);
}

/**
 * One step of one running recovery: takes a recovery nobody holds (lease), resends the next batch,
 * records progress. Answers true when it did something (call again soon).
 */
export async function stepRecovery(db: Db, opts: { batch: number; leaseMs: number }): Promise<boolean> {
  const now = Date.now();
  const taken = await db.one<RecoveryRow & { cursor: string }>(
    `UPDATE recoveries SET lease_until = $2
      WHERE id = (SELECT id FROM recoveries WHERE status = 'running' AND lease_until < $1 ORDER BY created_at LIMIT 1)
        AND lease_until < $1
      RETURNING ${COLUMNS}, cursor`,
    [now, now + opts.leaseMs],
  );
  if (!taken) return false;
  await db.tx(async (q) => {
    const resent = await q.all<{ id: string; event_id: string }>(
      `UPDATE deliveries SET status = 'I', due_at = $5, schedule_start = attempts, updated_at = $5
        WHERE id IN (SELECT id FROM deliveries WHERE ${FAILED_IN_WINDOW} AND id > $4 ORDER BY id LIMIT $6)
        RETURNING id, event_id`,
      [taken.endpoint_id, taken.since, taken.until, taken.cursor, now, opts.batch],
    );
    await refreshEventStatus(q, [...new Set(resent.map((r) => r.event_id))]);
    const cursor = resent.reduce((max, r) => (r.id > max ? r.id : max), taken.cursor);
    const finished = resent.length < opts.batch;
    await q.run(
      `UPDATE recoveries SET done = done + $2, cursor = $3, status = $4, lease_until = 0, updated_at = $5 WHERE id = $1`,
      [taken.id, resent.length, cursor, finished ? 'done' : 'running', now],
    );
  });
  return true;
}
