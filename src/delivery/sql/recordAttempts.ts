import { announceWork } from '../../db/announceWork.js';
import { type Db, isUnavailable, type Queryable, type TxJob } from '../../db/db.js';
import { chunks, placeholders, valuesRows } from '../../db/sql.js';
import { newId } from '../../ids.js';
import { type HealthPolicy, type HealthTransition, updateEndpointHealth } from '../../endpoints/health.js';
import { refreshEventStatus } from '../../events/eventStatus.js';
import { addDeltas, heldDeltas, unheldDeltas } from '../../reports/sql/rollups.js';
import { DeliveryStatus } from '../status.js';

export interface AttemptOutcome {
  deliveryId: string;
  eventId: string;
  endpointId: string;
  /** Whose delivery it was, for operational events; null for the operator's own endpoint. */
  owner: { environment: string; tenantId: string } | null;
  /** The event's tenant, type and acceptance time: the report rollups' key (reports/sql/rollups.ts). */
  tenantId: string;
  eventType: string;
  eventCreatedAt: number;
  leaseToken: string;
  /** 1-based number of this attempt over the delivery's life. */
  attempt: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** First 4 KiB of the response body. */
  responseBody: string | null;
  /** What happens next: delivered, failed for good, or still in progress with the time of the next try. */
  next:
    | { status: typeof DeliveryStatus.Succeeded | typeof DeliveryStatus.Failed }
    | { status: typeof DeliveryStatus.InProgress; dueAt: number };
  /** False when no HTTP request was made (endpoint disabled or deleted): no attempt row. */
  attempted: boolean;
}

export interface RecordResult {
  transitions: HealthTransition[];
  exhausted: { deliveryId: string; endpointId: string }[];
  /** Outcomes that could not be recorded even alone, and why (their leases will run out). */
  unrecorded: { outcome: AttemptOutcome; error: unknown }[];
}

/**
 * Records a batch of finished attempts in one transaction: the attempt rows, each delivery's new
 * state, and the status of the events whose deliveries left "in progress". Batching matters: under
 * load the worker hands over everything finished since its last flush, one commit for all.
 *
 * One delivery's trouble must not cost the others theirs: a batch that fails (a row that cannot be
 * written) is written again one outcome at a time, so only the bad one is lost, and rows that
 * vanished meanwhile (their tenant, event or endpoint deleted while the request was in flight)
 * are simply left out rather than failing a foreign key. Without that, one tenant deleted
 * mid-flight rolled back every other tenant's outcomes in the batch, whose leases then ran out and
 * whose deliveries were sent a second time.
 */
export async function recordAttempts(db: Db, outcomes: AttemptOutcome[], health?: HealthPolicy, now = Date.now()): Promise<RecordResult> {
  if (outcomes.length === 0) return { transitions: [], exhausted: [], unrecorded: [] };
  // Plain data only: the job may run on another thread (TxJob).
  const policy = health && { threshold: health.threshold, cooldownMs: health.cooldownMs, disableAfterMs: health.disableAfterMs };
  try {
    return { ...(await db.txJob(recordJob, { outcomes, health: policy, now })), unrecorded: [] };
  } catch (err) {
    // The database is gone: one by one would fail the same way. The leases will run out.
    if (outcomes.length === 1 || isUnavailable(err)) throw err;
  }
  const out: RecordResult = { transitions: [], exhausted: [], unrecorded: [] };
  for (const o of outcomes) {
    try {
      const r = await db.txJob(recordJob, { outcomes: [o], health: policy, now });
      out.transitions.push(...r.transitions);
      out.exhausted.push(...r.exhausted);
    } catch (error) {
      if (isUnavailable(error)) throw error;
      out.unrecorded.push({ outcome: o, error });
    }
  }
  return out;
}

/**
 * One batch's transaction as a job (db.ts, TxJob): on SQLite it runs on the writer thread, where
 * its statements and its commit were a sixth of the main thread's time under load.
 */
export const recordJob: TxJob<
  { outcomes: AttemptOutcome[]; health: HealthPolicy | undefined; now: number },
  Omit<RecordResult, 'unrecorded'>
> = {
  module: import.meta.url,
  name: 'recordJob',
  run: (q, { outcomes, health, now }) => writeOutcomes(q, outcomes, health, now),
};

// The SQL types of the VALUES columns of the statements below (db/sql.ts valuesRows).
const ATTEMPT_TYPES = ['text', 'text', 'integer', 'bigint', 'integer', 'integer', 'text', 'text'] as const;
const OUTCOME_TYPES = ['text', 'text', 'text', 'integer', 'bigint', 'integer', 'text'] as const;
const DEFER_TYPES = ['text', 'text', 'bigint'] as const;

/**
 * Inside one transaction. A delivery whose lease token no longer matches was taken over by another
 * worker after this one's lease ran out: its attempt is still logged, but the newer owner decides
 * its state. One exception: a 2xx answered is a success whatever happened meanwhile, as long as no
 * other worker holds the delivery (its lease token is empty): the endpoint was deleted while the
 * request was in flight, the lease was handed back on a stop, or another worker already recorded a
 * failure. The delivery is then S, its event follows, and nothing sends it again.
 */
async function writeOutcomes(
  q: Queryable,
  outcomes: AttemptOutcome[],
  health: HealthPolicy | undefined,
  now: number,
): Promise<Omit<RecordResult, 'unrecorded'>> {
  const attempted = outcomes.filter((o) => o.attempted);
  for (const chunk of chunks(q.dialect, attempted, 100)) {
    const params: unknown[] = [];
    for (const o of chunk)
      params.push(newId('atm', o.startedAt), o.deliveryId, o.attempt, o.startedAt, o.durationMs, o.statusCode, o.error, o.responseBody);
    // Only for deliveries that still exist: a tenant deleted mid-flight took its rows with it.
    await q.run(
      `WITH v (id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body) AS (VALUES ${valuesRows(chunk.length, ATTEMPT_TYPES)})
       INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body)
       SELECT v.id, v.delivery_id, v.attempt, v.started_at, v.duration_ms, v.status_code, v.error, v.response_body
         FROM v WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = v.delivery_id)`,
      params,
    );
  }
  // Endpoints before deliveries, the order in which deleting an endpoint locks them: the other
  // order deadlocked with a DELETE of an endpoint whose request was in flight.
  const transitions = health
    ? await updateEndpointHealth(
        q,
        attempted.map((o) => ({
          endpointId: o.endpointId,
          ok: o.next.status === DeliveryStatus.Succeeded,
          statusCode: o.statusCode,
          at: o.startedAt + o.durationMs,
        })),
        health,
      )
    : [];
  // The deliveries' new state. First those still held under this batch's leases (the common
  // case): only in-progress deliveries carry a lease token, so the UPDATE's answer is all the
  // report rollups need. Then a 2xx for a delivery nobody holds any more (its lease ran out, was
  // handed back on a stop, or its endpoint was deleted): a success whatever happened meanwhile,
  // but what it was before must be read first. A delivery another worker holds is left alone.
  // In id order: two transactions lock the rows they share in the same order.
  const sorted = [...outcomes].sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0));
  const heldRows = await updateDeliveries(q, sorted, now, 'held');
  const held = new Set(heldRows.map((r) => r.id));
  const unheld = sorted.filter((o) => !held.has(o.deliveryId) && o.next.status === DeliveryStatus.Succeeded);
  const deltas = await heldDeltas(
    q,
    sorted.filter((o) => held.has(o.deliveryId)),
  );
  const unheldRows: Changed[] = [];
  if (unheld.length) {
    deltas.push(...(await unheldDeltas(q, unheld)));
    unheldRows.push(...(await updateDeliveries(q, unheld, now, 'unheld')));
  }
  await addDeltas(q, deltas);
  const finished: string[] = [];
  const exhausted: { deliveryId: string; endpointId: string }[] = [];
  for (const c of [...heldRows, ...unheldRows]) {
    if (c.status !== DeliveryStatus.InProgress) finished.push(c.event_id);
    if (c.status === DeliveryStatus.Failed) exhausted.push({ deliveryId: c.id, endpointId: c.endpoint_id });
  }
  if (finished.length) await refreshEventStatus(q, [...new Set(finished)]);
  return { transitions, exhausted };
}

type Changed = { id: string; event_id: string; endpoint_id: string; status: DeliveryStatus };

/**
 * One UPDATE per 500 outcomes (a VALUES list joined in: on Postgres every statement is a round
 * trip). `held`: deliveries this worker still holds (the lease token matches). `unheld`: successes
 * for deliveries nobody holds. A delivery not tried (its endpoint was disabled or deleted) keeps
 * the status code of its last real attempt: the 410 that disabled the endpoint stays visible.
 */
async function updateDeliveries(q: Queryable, outcomes: AttemptOutcome[], now: number, which: 'held' | 'unheld'): Promise<Changed[]> {
  const changed: Changed[] = [];
  for (const chunk of chunks(q.dialect, outcomes, 500)) {
    const params: unknown[] = [now];
    for (const o of chunk) {
      params.push(
        o.deliveryId,
        o.leaseToken,
        o.next.status,
        o.attempted ? 1 : 0,
        o.next.status === DeliveryStatus.InProgress ? o.next.dueAt : null,
        o.statusCode,
        o.error,
      );
    }
    const rows = await q.all<Changed>(
      `WITH v (id, lease_token, status, tried, due_at, status_code, error) AS (VALUES ${valuesRows(chunk.length, OUTCOME_TYPES, 2)})
       UPDATE deliveries
          SET status = v.status, attempts = deliveries.attempts + v.tried, due_at = v.due_at, lease_token = NULL,
              last_status_code = CASE WHEN v.tried = 1 THEN v.status_code ELSE deliveries.last_status_code END,
              last_error = v.error, updated_at = $1
         FROM v
        WHERE deliveries.id = v.id
          AND ${which === 'held' ? 'deliveries.lease_token = v.lease_token' : `deliveries.lease_token IS NULL AND v.status = '${DeliveryStatus.Succeeded}'`}
       RETURNING deliveries.id, deliveries.event_id, deliveries.endpoint_id, deliveries.status`,
      params,
    );
    changed.push(...rows);
  }
  return changed;
}

/**
 * On a graceful stop: what this process still holds becomes due at once for another worker. One
 * statement per 500 lease tokens (a worker holds one per claim and per handover).
 */
export async function releaseLeases(db: Db, leaseTokens: string[], now = Date.now()): Promise<number> {
  let n = 0;
  for (const chunk of chunks(db.dialect, leaseTokens, 500)) {
    n += await db.run(
      `UPDATE deliveries SET due_at = $1, lease_token = NULL WHERE lease_token IN (${placeholders(chunk.length, 2)}) AND status = '${DeliveryStatus.InProgress}'`,
      [now, ...chunk],
    );
  }
  // The other worker nodes take them now rather than at their next poll. The leases are released
  // whatever happens to the notification: without it, the others find them when they poll.
  if (n) await announceWork(db, 'deliveries').catch(() => undefined);
  return n;
}

/**
 * Hands claimed deliveries back without trying them (their endpoint is at its concurrency cap or
 * rate limit): due again at `dueAt`, no attempt counted. Only while this worker still holds them
 * (the lease token matches).
 */
export async function deferDeliveries(db: Db, items: { id: string; leaseToken: string; dueAt: number }[]): Promise<void> {
  // One statement per 500: a tenant over its share can hand back a whole fan-out at once.
  for (const chunk of chunks(db.dialect, items, 500)) {
    const params: unknown[] = [];
    for (const d of chunk) params.push(d.id, d.leaseToken, d.dueAt);
    await db.run(
      `WITH v (id, lease_token, due_at) AS (VALUES ${valuesRows(chunk.length, DEFER_TYPES)})
       UPDATE deliveries SET due_at = v.due_at, lease_token = NULL
         FROM v WHERE deliveries.id = v.id AND deliveries.lease_token = v.lease_token`,
      params,
    );
  }
}
