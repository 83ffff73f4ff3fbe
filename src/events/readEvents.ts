import type { Queryable } from '../db/db.js';
import { DeliveryStatus, type EventStatus } from '../delivery/status.js';
import { notFound } from '../errors.js';
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
}

export async function listEvents(q: Queryable, tenantId: string, f: EventFilter, limit: number, cursor?: string): Promise<Page<EventView>> {
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
