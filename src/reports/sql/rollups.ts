import type { Db, Queryable } from '../../db/db.js';
import { chunks, placeholders, valuesRows } from '../../db/sql.js';
import type { AttemptOutcome } from '../../delivery/sql/recordAttempts.js';
import { DeliveryStatus } from '../../delivery/status.js';

// The report rollups (table delivery_rollups, migration 015): per tenant, UTC hour the event was
// accepted in, event type, endpoint and latency class, how many events were accepted, how many
// deliveries are now delivered (S) or failed (F), and a histogram of the delivered ones' latency.
// The report (reports/deliveryReport.ts) reads only these rows, so its cost follows the number of
// hours, types, endpoints and latency classes in the window, not the number of deliveries.
//
// They are kept exactly, in the transaction that changes the facts:
//   - the event writer counts the events of a group commit it inserted (countAccepted);
//   - recording attempts counts every delivery whose state the batch changes, including a 2xx that
//     lands after the lease (I, F or S becoming S) and a later 2xx that moves a delivered
//     delivery's latency (heldDeltas for what the batch changed under
//     its lease, unheldDeltas for a 2xx after it);
//   - deleting an endpoint counts the deliveries it fails (countEndpointFailures);
//   - a resend (uncountResent) and a bulk recovery (uncountRecovered) take a finished delivery
//     back out when it is in progress again.
// Each works out its changes in memory and writes them with one upsert per 500 keys (addDeltas),
// the keys sorted here: two transactions adding to the same rows lock them in the same order and
// cannot deadlock on them. Every writer of deliveries has locked those rows before it gets here.
//
// Latency is the old report's: from the event's acceptance to the end of the delivery's latest
// 2xx attempt. The histogram keeps it exact below 100 ms and cut to two significant digits above
// (latencyClass), so a percentile read from it is the exact percentile cut the same way: at most
// 10 % low (1 % at 990 ms), never high. Retention deleting attempts later does not change the
// rollups: a report keeps the latencies of its history.

/** An hour in milliseconds: the rollups' time grain. */
export const HOUR_MS = 3_600_000;

const hourOf = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

/**
 * A latency's class in the histogram: exact below 100 ms, otherwise its first two significant
 * digits (1234 → 1200, 99999 → 99000). Migration 015 computes the same from the decimal text.
 */
export function latencyClass(ms: number): number {
  if (ms < 100) return ms;
  const scale = 10 ** (String(ms).length - 2);
  return Math.floor(ms / scale) * scale;
}

/** The old report's latency: acceptance to the end of the latest 2xx attempt, never negative (a clock step between nodes). */
const latency = (end: number, created: number) => Math.max(0, end - created);

const S = DeliveryStatus.Succeeded;
const F = DeliveryStatus.Failed;

/** A change to one rollup row. */
export interface Delta {
  tenantId: string;
  hour: number;
  type: string;
  /** '' for the accepted count and the latency histogram. */
  endpointId: string;
  /** -1 for counts; the latency class for the histogram. */
  latencyMs: number;
  accepted: number;
  delivered: number;
  failed: number;
}

/** What a finished delivery adds to the rollups: delivered or failed to its endpoint, and its latency class if it has one. */
function contribution(
  d: { tenantId: string; hour: number; type: string; endpointId: string },
  status: string,
  end: number | null,
  created: number,
  sign: 1 | -1,
): Delta[] {
  if (status !== S && status !== F) return [];
  // Written out rather than spread from `d` (a caller's object of any shape): one per delivery
  // recorded, and a spread was the slow generic copy.
  const { tenantId, hour, type, endpointId } = d;
  const delivered = status === S ? sign : 0;
  const out: Delta[] = [{ tenantId, hour, type, endpointId, latencyMs: -1, accepted: 0, delivered, failed: status === F ? sign : 0 }];
  if (status === S && end !== null)
    out.push({ tenantId, hour, type, endpointId: '', latencyMs: latencyClass(latency(end, created)), accepted: 0, delivered, failed: 0 });
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** The rollups' primary key, in its order. */
export const ROLLUP_KEY = 'tenant_id, hour_start, event_type, endpoint_id, latency_ms';

/**
 * Adds the deltas, summed per row and sorted by key (a VALUES list is inserted in its order), one
 * statement per 500 rows. Rows whose sums are all zero are left out.
 */
export async function addDeltas(q: Queryable, deltas: readonly Delta[]): Promise<void> {
  const sums = new Map<string, Delta>();
  for (const d of deltas) {
    const key = `${d.tenantId}\u0000${d.hour}\u0000${d.type}\u0000${d.endpointId}\u0000${d.latencyMs}`;
    const s = sums.get(key);
    if (!s)
      sums.set(key, {
        tenantId: d.tenantId,
        hour: d.hour,
        type: d.type,
        endpointId: d.endpointId,
        latencyMs: d.latencyMs,
        accepted: d.accepted,
        delivered: d.delivered,
        failed: d.failed,
      });
    else {
      s.accepted += d.accepted;
      s.delivered += d.delivered;
      s.failed += d.failed;
    }
  }
  const rows = [...sums.values()]
    .filter((d) => d.accepted !== 0 || d.delivered !== 0 || d.failed !== 0)
    .sort(
      (a, b) =>
        cmp(a.tenantId, b.tenantId) ||
        a.hour - b.hour ||
        cmp(a.type, b.type) ||
        cmp(a.endpointId, b.endpointId) ||
        a.latencyMs - b.latencyMs,
    );
  for (const chunk of chunks(q.dialect, rows, 500)) {
    const params: unknown[] = [];
    for (const d of chunk) params.push(d.tenantId, d.hour, d.type, d.endpointId, d.latencyMs, d.accepted, d.delivered, d.failed);
    await q.run(
      `INSERT INTO delivery_rollups (${ROLLUP_KEY}, accepted, delivered, failed) VALUES ${valuesRows(chunk.length, 8)}
       ON CONFLICT (${ROLLUP_KEY}) DO UPDATE
          SET accepted = delivery_rollups.accepted + excluded.accepted,
              delivered = delivery_rollups.delivered + excluded.delivered,
              failed = delivery_rollups.failed + excluded.failed`,
      params,
    );
  }
}

/** Counts the events a group commit inserted (events/eventWriter.ts): one row per tenant, hour and type. */
export function countAccepted(
  q: Queryable,
  events: readonly { tenantId: string; createdAt: number; event: { type: string } }[],
): Promise<void> {
  return addDeltas(
    q,
    events.map((e) => ({
      tenantId: e.tenantId,
      hour: hourOf(e.createdAt),
      type: e.event.type,
      endpointId: '',
      latencyMs: -1,
      accepted: 1,
      delivered: 0,
      failed: 0,
    })),
  );
}

/** SQL: the end of the latest 2xx attempt of delivery `id`, leaving out those `skip` names. */
const lastSuccessEnd = (id: string, skip = '') =>
  `(SELECT MAX(a.started_at + a.duration_ms) FROM attempts a WHERE a.delivery_id = ${id} AND a.status_code >= 200 AND a.status_code < 300${skip})`;

/** SQL: leaves out the attempt of this batch (the VALUES row `v`), already inserted. */
const NOT_THIS_BATCH = ' AND NOT (a.attempt = v.attempt AND a.started_at = v.started_at)';

interface Facts {
  id: string;
  status: DeliveryStatus;
  lease_token: string | null;
  endpoint_id: string;
  tenant_id: string;
  type: string;
  created_at: number | string;
  /** The end of its latest 2xx attempt before this batch (read only when it matters: S before or after). */
  end_before: number | string | null;
}

const FACT_TYPES = ['text', 'text', 'integer', 'bigint'] as const;

/** The outcome's request was answered 2xx. */
const succeeded = (o: AttemptOutcome) => o.attempted && o.statusCode !== null && o.statusCode >= 200 && o.statusCode < 300;

/**
 * The rollup side of recording a batch of attempts (delivery/sql/recordAttempts.ts), for the
 * outcomes whose deliveries the batch changed under their lease, after that UPDATE. Only
 * in-progress deliveries carry a lease token, and an in-progress delivery is in no count, so each
 * adds what it became: delivered (with its latency) or failed; a retry adds nothing. Its event's
 * tenant, type and acceptance come with the outcome; only a delivered one's latency needs a read:
 * the end of any earlier 2xx (a delivery resent after a success, or a 2xx logged after its lease
 * while another worker held it), since the latency is to the end of the latest.
 */
export async function heldDeltas(q: Queryable, outcomes: readonly AttemptOutcome[]): Promise<Delta[]> {
  const done = new Map<string, AttemptOutcome>();
  for (const o of outcomes) if (o.next.status !== DeliveryStatus.InProgress && !done.has(o.deliveryId)) done.set(o.deliveryId, o);
  const earlier = new Map<string, number>();
  const delivered = [...done.values()].filter(succeeded);
  for (const chunk of chunks(q.dialect, delivered, 1000)) {
    const params: unknown[] = [];
    for (const o of chunk) params.push(o.deliveryId, o.attempt, o.startedAt);
    const rows = await q.all<{ id: string; end_before: number | string | null }>(
      `WITH v (id, attempt, started_at) AS (VALUES ${valuesRows(chunk.length, EARLIER_TYPES)})
       SELECT v.id, ${lastSuccessEnd('v.id', NOT_THIS_BATCH)} AS end_before FROM v`,
      params,
    );
    for (const r of rows) if (r.end_before !== null) earlier.set(r.id, Number(r.end_before));
  }
  const deltas: Delta[] = [];
  for (const o of done.values()) {
    const key = { tenantId: o.tenantId, hour: hourOf(o.eventCreatedAt), type: o.eventType, endpointId: o.endpointId };
    const end = succeeded(o) ? Math.max(o.startedAt + o.durationMs, earlier.get(o.deliveryId) ?? -Infinity) : null;
    deltas.push(...contribution(key, o.next.status, end, o.eventCreatedAt, 1));
  }
  return deltas;
}

const EARLIER_TYPES = ['text', 'integer', 'bigint'] as const;

/**
 * The rollup side of a 2xx for a delivery nobody holds any more (its lease ran out, was handed back
 * on a stop, or its endpoint was deleted), called before recordAttempts' UPDATE of those
 * deliveries:
 *   1. one statement reads them (in id order) and locks them (Postgres; SQLite has one writer), so
 *      the UPDATE that follows changes exactly what is read here, whatever claim, resend or
 *      deletion runs meanwhile; with each, its event's tenant, type and acceptance, and the end of
 *      its latest 2xx attempt before this batch;
 *   2. each delivery's state after the UPDATE is worked out with the UPDATE's own rule: delivered
 *      when nobody holds it (it was I, F or already S); otherwise unchanged. A 2xx also moves a
 *      delivered delivery's latency (to the latest 2xx);
 *   3. the differences are answered, for addDeltas.
 * The latency before is read without this batch's own attempts. Two batches with attempts of one
 * delivery are serialised by its endpoint's health row, locked just before (and on SQLite by the
 * write lock), so each sees the other's attempts.
 */
export async function unheldDeltas(q: Queryable, outcomes: readonly AttemptOutcome[]): Promise<Delta[]> {
  const byId = new Map<string, AttemptOutcome>();
  for (const o of outcomes) if (!byId.has(o.deliveryId) && succeeded(o)) byId.set(o.deliveryId, o);
  const deltas: Delta[] = [];
  for (const chunk of chunks(q.dialect, [...byId.values()], 1000)) {
    const params: unknown[] = [];
    for (const o of chunk) params.push(o.deliveryId, o.next.status, o.attempt, o.startedAt);
    const rows = await q.all<Facts>(
      `WITH v (id, status, attempt, started_at) AS (VALUES ${valuesRows(chunk.length, FACT_TYPES)})
       SELECT d.id, d.status, d.lease_token, d.endpoint_id, e.tenant_id, e.type, e.created_at,
              ${lastSuccessEnd('d.id', NOT_THIS_BATCH)} AS end_before
         FROM v JOIN deliveries d ON d.id = v.id JOIN events e ON e.id = d.event_id
        ${q.dialect === 'postgres' ? 'ORDER BY d.id FOR NO KEY UPDATE OF d' : ''}`,
      params,
    );
    for (const r of rows) {
      const o = byId.get(r.id)!;
      const after = r.lease_token === null ? S : r.status;
      const created = Number(r.created_at);
      const before = r.end_before === null ? null : Number(r.end_before);
      const end = before === null || o.startedAt + o.durationMs > before ? o.startedAt + o.durationMs : before;
      if (after === r.status && (after !== S || end === before)) continue;
      const key = { tenantId: r.tenant_id, hour: hourOf(created), type: r.type, endpointId: r.endpoint_id };
      deltas.push(...contribution(key, r.status, before, created, -1), ...contribution(key, after, end, created, 1));
    }
  }
  return deltas;
}

/**
 * A resend (delivery/sql/resendDelivery.ts) is about to put the delivery back in progress: a
 * delivered or failed one leaves the counts (and a delivered one its latency class). Postgres
 * locks the row first, in a statement of its own, so the one that reads it sees every attempt
 * committed before the lock.
 */
export async function uncountResent(q: Queryable, deliveryId: string): Promise<void> {
  if (q.dialect === 'postgres') await q.one(`SELECT id FROM deliveries WHERE id = $1 FOR NO KEY UPDATE`, [deliveryId]);
  const r = await q.one<Facts>(
    `SELECT d.id, d.status, d.lease_token, d.endpoint_id, e.tenant_id, e.type, e.created_at,
            CASE WHEN d.status = '${S}' THEN ${lastSuccessEnd('d.id')} END AS end_before
       FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1`,
    [deliveryId],
  );
  if (!r) return;
  const created = Number(r.created_at);
  const key = { tenantId: r.tenant_id, hour: hourOf(created), type: r.type, endpointId: r.endpoint_id };
  await addDeltas(q, contribution(key, r.status, r.end_before === null ? null : Number(r.end_before), created, -1));
}

/** Deliveries to `endpointId` of these events became F (+1) or left F (-1): one per time an event is listed. */
async function countFailures(q: Queryable, endpointId: string, eventIds: readonly string[], sign: 1 | -1): Promise<void> {
  const times = new Map<string, number>();
  for (const id of eventIds) times.set(id, (times.get(id) ?? 0) + 1);
  const deltas: Delta[] = [];
  for (const chunk of chunks(q.dialect, [...times.keys()], 500)) {
    const events = await q.all<{ id: string; tenant_id: string; type: string; created_at: number | string }>(
      `SELECT id, tenant_id, type, created_at FROM events WHERE id IN (${placeholders(chunk.length)})`,
      chunk,
    );
    for (const e of events) {
      deltas.push({
        tenantId: e.tenant_id,
        hour: hourOf(Number(e.created_at)),
        type: e.type,
        endpointId,
        latencyMs: -1,
        accepted: 0,
        delivered: 0,
        failed: sign * times.get(e.id)!,
      });
    }
  }
  await addDeltas(q, deltas);
}

/**
 * Deleting an endpoint failed its deliveries still in progress (delivery/sql/failEndpointDeliveries.ts):
 * `eventIds` as its UPDATE returned them, one per delivery.
 */
export function countEndpointFailures(q: Queryable, endpointId: string, eventIds: readonly string[]): Promise<void> {
  return countFailures(q, endpointId, eventIds, 1);
}

/**
 * A bulk recovery (delivery/sql/recoverDeliveries.ts) put failed deliveries to `endpointId` back in
 * progress: `eventIds` as its UPDATE returned them, one per delivery.
 */
export function uncountRecovered(q: Queryable, endpointId: string, eventIds: readonly string[]): Promise<void> {
  return countFailures(q, endpointId, eventIds, -1);
}

/**
 * Rebuilds one tenant's rollups from its events, deliveries and attempts: the backfill of
 * migration 015, for one tenant. For rows written straight into the tables (the bench seeds a
 * million deliveries that way) and to check the migration's statements against live maintenance.
 * Attempts already deleted by retention take their latencies with them.
 */
export async function rebuildTenantRollups(db: Db, tenantId: string): Promise<void> {
  await db.tx(async (q) => {
    await q.run('DELETE FROM delivery_rollups WHERE tenant_id = $1', [tenantId]);
    for (const sql of backfillSql('tenant_id = $1', 'e.tenant_id = $1')) await q.run(sql, [tenantId]);
  });
}

/** SQL: the UTC hour (its first millisecond) of the integer millisecond time `t`. */
const hourSql = (t: string) => `(${t} / ${HOUR_MS}) * ${HOUR_MS}`;

/** SQL: latencyClass of the non-negative integer column `ms`. */
const latencyClassSql = (ms: string) =>
  `CASE WHEN ${ms} < 100 THEN ${ms} ELSE CAST(substr(CAST(${ms} AS TEXT), 1, 2) || substr('0000000000000000000', 1, length(CAST(${ms} AS TEXT)) - 2) AS BIGINT) END`;

/** Migration 015's backfill, with a filter on events (`events`) and on events aliased `e` (`joined`). */
function backfillSql(events: string, joined: string): string[] {
  return [
    `INSERT INTO delivery_rollups (tenant_id, hour_start, event_type, accepted)
     SELECT tenant_id, hour_start, type, COUNT(*)
       FROM (SELECT tenant_id, ${hourSql('created_at')} AS hour_start, type FROM events WHERE ${events}) e
      GROUP BY tenant_id, hour_start, type`,
    `INSERT INTO delivery_rollups (tenant_id, hour_start, event_type, endpoint_id, delivered, failed)
     SELECT tenant_id, hour_start, type, endpoint_id, SUM(CASE WHEN status = '${S}' THEN 1 ELSE 0 END), SUM(CASE WHEN status = '${F}' THEN 1 ELSE 0 END)
       FROM (SELECT e.tenant_id, ${hourSql('e.created_at')} AS hour_start, e.type, d.endpoint_id, d.status
               FROM deliveries d JOIN events e ON e.id = d.event_id
              WHERE ${joined} AND d.status IN ('${S}', '${F}')) f
      GROUP BY tenant_id, hour_start, type, endpoint_id`,
    `INSERT INTO delivery_rollups (tenant_id, hour_start, event_type, latency_ms, delivered)
     SELECT tenant_id, hour_start, type, latency_ms, COUNT(*)
       FROM (SELECT tenant_id, hour_start, type, ${latencyClassSql('ms')} AS latency_ms
               FROM (SELECT tenant_id, hour_start, type, CASE WHEN done_at > created_at THEN done_at - created_at ELSE 0 END AS ms
                       FROM (SELECT e.tenant_id, ${hourSql('e.created_at')} AS hour_start, e.type, e.created_at, ${lastSuccessEnd('d.id')} AS done_at
                               FROM deliveries d JOIN events e ON e.id = d.event_id
                              WHERE ${joined} AND d.status = '${S}') s
                      WHERE done_at IS NOT NULL) l) b
      GROUP BY tenant_id, hour_start, type, latency_ms`,
  ];
}
