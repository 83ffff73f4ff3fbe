import type { Queryable } from '../db/db.js';
import { DeliveryStatus, type EventStatus } from '../delivery/status.js';
import { notFound } from '../errors.js';
import { idFloor } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';

export interface DeliverySummary {
  id: string;
  endpointId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface EventView {
  id: string;
  type: string;
  /** The payload's JSON text exactly as stored (as it was sent), or "null" once purged. */
  payload: string;
  status: EventStatus;
  idempotencyKey: string | null;
  /** Set when retention purged the payload (the payload then reads null). */
  payloadPurgedAt: string | null;
  createdAt: string;
  occurredAt: string;
  deliveries?: DeliverySummary[];
}

interface EventRow {
  id: string;
  type: string;
  payload: string;
  status: EventView['status'];
  idempotency_key: string | null;
  payload_purged_at: number | null;
  created_at: number;
  occurred_at: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const toEvent = (r: EventRow): EventView => ({
  id: r.id,
  type: r.type,
  // Not parsed: it is spliced into the answer as stored (numbers keep their digits, and a payload
  // of any depth stored before depth was bounded reads back instead of failing).
  payload: r.payload,
  status: r.status,
  idempotencyKey: r.idempotency_key,
  payloadPurgedAt: r.payload_purged_at === null ? null : iso(r.payload_purged_at),
  createdAt: iso(r.created_at),
  occurredAt: iso(r.occurred_at),
});

export interface EventFilter {
  type?: string;
  status?: string;
  since?: number;
  until?: number;
  /** Only events with a delivery to this endpoint; `status` is then that delivery's. */
  endpointId?: string;
}

export async function listEvents(q: Queryable, tenantId: string, f: EventFilter, limit: number, cursor?: string): Promise<Page<EventView>> {
  if (f.endpointId !== undefined) return listEndpointEvents(q, tenantId, f.endpointId, f, limit, cursor);
  const rows = await q.all<EventRow>(
    `SELECT id, type, payload, status, idempotency_key, payload_purged_at, created_at, occurred_at FROM events
      WHERE tenant_id = $1
        AND (CAST($2 AS text) IS NULL OR id < $2)
        AND (CAST($3 AS text) IS NULL OR type = $3)
        AND (CAST($4 AS text) IS NULL OR status = $4)
        AND (CAST($5 AS bigint) IS NULL OR created_at >= $5)
        AND (CAST($6 AS bigint) IS NULL OR created_at < $6)
      ORDER BY id DESC LIMIT $7`,
    [tenantId, cursor ?? null, f.type ?? null, f.status ?? null, f.since ?? null, f.until ?? null, limit + 1],
  );
  return pageOf(rows.map(toEvent), limit);
}

/**
 * The log of one endpoint: the events it has a delivery for, newest first, read from its
 * deliveries through deliveries_endpoint_event (endpoint_id, event_id), which walks them in event
 * order, so a page costs its own rows whatever else the tenant sends. An event has at most one
 * delivery per endpoint (the writer makes one per subscribed endpoint, a resend reuses it), so no
 * event shows twice. `status` here is the delivery's (I, S or F: what happened at this endpoint),
 * not the event's, which sums up every endpoint.
 *
 * since/until bound the event id as well as created_at: an event's id starts with the millisecond
 * it was accepted in, the one its created_at records (ids.ts, events/eventWriter.ts), so the id
 * bounds are where the index scan starts and stops, and a narrow window reads no rows outside it.
 * Only the conditions given are written: `$n IS NULL OR …` would keep SQLite from seeking.
 */
async function listEndpointEvents(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  f: EventFilter,
  limit: number,
  cursor?: string,
): Promise<Page<EventView>> {
  const params: unknown[] = [endpointId, tenantId];
  const where = ['d.endpoint_id = $1', 'e.tenant_id = $2'];
  const and = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (cursor !== undefined) and('d.event_id < ?', cursor);
  if (f.since !== undefined) {
    and('d.event_id >= ?', idFloor('evt', f.since));
    and('e.created_at >= ?', f.since);
  }
  if (f.until !== undefined) {
    and('d.event_id < ?', idFloor('evt', f.until));
    and('e.created_at < ?', f.until);
  }
  if (f.type !== undefined) and('e.type = ?', f.type);
  if (f.status !== undefined) and('d.status = ?', f.status);
  params.push(limit + 1);
  const rows = await q.all<EventRow>(
    `SELECT e.id, e.type, e.payload, e.status, e.idempotency_key, e.payload_purged_at, e.created_at, e.occurred_at
       FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE ${where.join(' AND ')}
      ORDER BY d.event_id DESC LIMIT $${params.length}`,
    params,
  );
  return pageOf(rows.map(toEvent), limit);
}

export async function getEvent(q: Queryable, tenantId: string, id: string): Promise<EventView> {
  const row = await q.one<EventRow>(
    'SELECT id, type, payload, status, idempotency_key, payload_purged_at, created_at, occurred_at FROM events WHERE id = $1 AND tenant_id = $2',
    [id, tenantId],
  );
  if (!row) throw notFound('event', id);
  const deliveries = await q.all<{
    id: string;
    endpoint_id: string;
    status: DeliverySummary['status'];
    attempts: number;
    due_at: number | null;
    last_status_code: number | null;
    last_error: string | null;
  }>('SELECT id, endpoint_id, status, attempts, due_at, last_status_code, last_error FROM deliveries WHERE event_id = $1 ORDER BY id', [
    id,
  ]);
  return {
    ...toEvent(row),
    deliveries: deliveries.map((d) => ({
      id: d.id,
      endpointId: d.endpoint_id,
      status: d.status,
      attempts: d.attempts,
      nextAttemptAt: d.status === DeliveryStatus.InProgress && d.due_at !== null ? iso(d.due_at) : null,
      lastStatusCode: d.last_status_code,
      lastError: d.last_error,
    })),
  };
}
