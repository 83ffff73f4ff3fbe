import { announceWork } from '../../db/announceWork.js';
import type { Db, Queryable } from '../../db/db.js';
import { badRequest, notFound } from '../../errors.js';
import { newId } from '../../ids.js';
import { probeNow } from '../../endpoints/health.js';
import { refreshEventStatus } from '../../events/eventStatus.js';
import { uncountRecovered } from '../../reports/sql/rollups.js';
import { DeliveryStatus } from '../status.js';

// Bulk recovery, for after an endpoint was down and is fixed: every delivery to it created between
// two times that is still waiting for a later retry is made due now (it keeps its retry
// schedule), and every one that failed for good is sent again with a fresh retry schedule.
// Starting one half-opens the endpoint's circuit: a probe goes at once instead of at the end of
// the cooldown, and its success lets the rest through.
//
// A recovery is a row; the maintenance loop of any node takes it under a short lease and works
// through one bounded batch at a time (first the waiting deliveries, then the failed ones, each in
// id order), recording its progress (done / total) and where it stopped, so a node that dies
// mid-way loses nothing.

export interface Recovery {
  id: string;
  endpointId: string;
  since: string;
  until: string;
  status: 'running' | 'done';
  /** Deliveries in the window when it started: failed + waiting. */
  total: number;
  /** Of which failed for good (sent again with a fresh retry schedule). */
  failed: number;
  /** Of which waiting for a later retry (made due now). */
  waiting: number;
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
  waiting: number;
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
  failed: r.total - r.waiting,
  waiting: r.waiting,
  done: r.done,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const COLUMNS = 'id, endpoint_id, since, until, status, total, waiting, done, created_at, updated_at';
const IN_WINDOW = 'endpoint_id = $1 AND created_at >= $2 AND created_at < $3';
const FAILED = `${IN_WINDOW} AND status = '${DeliveryStatus.Failed}'`;
// Waiting for a later retry: in progress, held by no worker, due after now ($4). Read through
// deliveries_endpoint_pending (endpoint_id, id) WHERE status = 'I'.
const WAITING = `${IN_WINDOW} AND status = '${DeliveryStatus.InProgress}' AND lease_token IS NULL AND due_at > $4`;

export async function startRecovery(
  db: Db,
  tenantId: string,
  endpointId: string,
  since: number,
  until: number,
  now = Date.now(),
): Promise<Recovery> {
  if (!(since < until)) throw badRequest('since must be before until');
  return db.tx(async (q) => {
    const failed = Number(
      (await q.one<{ n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE ${FAILED}`, [endpointId, since, until]))?.n,
    );
    const waiting = Number(
      (await q.one<{ n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE ${WAITING}`, [endpointId, since, until, now]))?.n,
    );
    const total = failed + waiting;
    // The user says the endpoint works again: probe it now rather than at the end of the cooldown.
    if (await probeNow(q, endpointId, now)) await announceWork(q, 'deliveries');
    const row = await q.one<RecoveryRow>(
      `INSERT INTO recoveries (id, tenant_id, endpoint_id, since, until, status, total, waiting, phase, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ${COLUMNS}`,
      [
        newId('rcv', now),
        tenantId,
        endpointId,
        since,
        until,
        total > 0 ? 'running' : 'done',
        total,
        waiting,
        waiting > 0 ? 'waiting' : 'failed',
        now,
      ],
    );
    // Maintenance, on whichever worker node, starts on it now rather than at its next round.
    if (total > 0) await announceWork(q, 'recoveries');
    return toRecovery(row!);
  });
}

export async function getRecovery(q: Queryable, tenantId: string, id: string): Promise<Recovery> {
  const row = await q.one<RecoveryRow>(`SELECT ${COLUMNS} FROM recoveries WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  if (!row) throw notFound('recovery', id);
  return toRecovery(row);
}

/**
 * One step of one running recovery: takes a recovery nobody holds (lease), works through the next
 * batch, records progress. Answers true when it did something (call again soon).
 */
export async function stepRecovery(db: Db, opts: { batch: number; leaseMs: number; now?: number }): Promise<boolean> {
  const now = opts.now ?? Date.now();
  const taken = await db.one<RecoveryRow & { cursor: string; phase: 'waiting' | 'failed' }>(
    `UPDATE recoveries SET lease_until = $2
      WHERE id = (SELECT id FROM recoveries WHERE status = 'running' AND lease_until < $1 ORDER BY created_at LIMIT 1)
        AND lease_until < $1
      RETURNING ${COLUMNS}, cursor, phase`,
    [now, now + opts.leaseMs],
  );
  if (!taken) return false;
  await db.tx(async (q) => {
    const window = [taken.endpoint_id, taken.since, taken.until];
    // Waiting ones: due now, same retry schedule, still in progress (their events stay I).
    // Failed ones: in progress again, with a fresh retry schedule.
    const moved =
      taken.phase === 'waiting'
        ? await q.all<{ id: string; event_id: string }>(
            `UPDATE deliveries SET due_at = $4, updated_at = $4
              WHERE id IN (SELECT id FROM deliveries WHERE ${WAITING} AND id > $5 ORDER BY id LIMIT $6)
              RETURNING id, event_id`,
            [...window, now, taken.cursor, opts.batch],
          )
        : await q.all<{ id: string; event_id: string }>(
            `UPDATE deliveries SET status = '${DeliveryStatus.InProgress}', due_at = $5, schedule_start = attempts, updated_at = $5
              WHERE id IN (SELECT id FROM deliveries WHERE ${FAILED} AND id > $4 ORDER BY id LIMIT $6)
              RETURNING id, event_id`,
            [...window, taken.cursor, now, opts.batch],
          );
    if (taken.phase === 'failed')
      await uncountRecovered(
        q,
        taken.endpoint_id,
        moved.map((r) => r.event_id),
      );
    if (taken.phase === 'failed') await refreshEventStatus(q, [...new Set(moved.map((r) => r.event_id))]);
    const cursor = moved.reduce((max, r) => (r.id > max ? r.id : max), taken.cursor);
    const phaseDone = moved.length < opts.batch;
    // After the waiting phase the failed one starts from the first id; after the failed one, done.
    const [phase, nextCursor, status] = !phaseDone
      ? [taken.phase, cursor, 'running']
      : taken.phase === 'waiting'
        ? ['failed', '', 'running']
        : ['failed', cursor, 'done'];
    await q.run(
      `UPDATE recoveries SET done = done + $2, cursor = $3, status = $4, phase = $5, lease_until = 0, updated_at = $6 WHERE id = $1`,
      [taken.id, moved.length, nextCursor, status, phase, now],
    );
    // Due now: the delivery workers (this node's too, which maintenance does not wake) send them.
    if (moved.length) await announceWork(q, 'deliveries');
  });
  return true;
}
