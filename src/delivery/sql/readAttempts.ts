import type { Queryable } from '../../db/db.js';
import { notFound } from '../../errors.js';
import { type Page, pageOf } from '../../pagination.js';

export interface AttemptView {
  id: string;
  deliveryId: string;
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
}

export async function listAttempts(
  q: Queryable,
  tenantId: string,
  deliveryId: string,
  limit: number,
  cursor?: string,
): Promise<Page<AttemptView>> {
  const owned = await q.one('SELECT 1 AS x FROM deliveries WHERE id = $1 AND tenant_id = $2', [deliveryId, tenantId]);
  if (!owned) throw notFound('delivery', deliveryId);
  // Newest first, like every list; the cursor is the attempt number.
  const rows = await q.all<{
    id: string;
    attempt: number;
    started_at: number;
    duration_ms: number;
    status_code: number | null;
    error: string | null;
    response_body: string | null;
  }>(
    `SELECT id, attempt, started_at, duration_ms, status_code, error, response_body FROM attempts
      WHERE delivery_id = $1 AND (CAST($2 AS bigint) IS NULL OR attempt < $2) ORDER BY attempt DESC, id DESC LIMIT $3`,
    [deliveryId, cursor === undefined ? null : Number(cursor), limit + 1],
  );
  const views = rows.map((r) => ({
    id: r.id,
    deliveryId,
    attempt: r.attempt,
    startedAt: new Date(r.started_at).toISOString(),
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    error: r.error,
    responseBody: r.response_body,
  }));
  return pageOf(views, limit, (a) => String(a.attempt));
}

/** An attempt as the live delivery log shows it (`herald tail`): with its event's type and its delivery's state now. */
export interface LiveAttempt {
  id: string;
  deliveryId: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** What the delivery is now: I (a retry is due later), S or F. */
  deliveryStatus: string;
}

/**
 * A tenant's attempts that started at or after `since`, oldest first, after (`startedAt`, `id`) when
 * `after` is given (the next page). Reads the attempts_started index over the window and keeps the
 * tenant's: the window of a live log is short (delivery/liveAttempts.ts).
 */
export async function attemptsStartedSince(
  q: Queryable,
  tenantId: string,
  since: number,
  after: { startedAt: number; id: string } | null,
  limit: number,
): Promise<(LiveAttempt & { startedAtMs: number })[]> {
  const rows = await q.all<{
    id: string;
    delivery_id: string;
    attempt: number;
    started_at: number | string;
    duration_ms: number;
    status_code: number | null;
    error: string | null;
    event_id: string;
    endpoint_id: string;
    status: string;
    type: string;
  }>(
    `SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, d.event_id, d.endpoint_id, d.status, e.type
       FROM attempts a
       JOIN deliveries d ON d.id = a.delivery_id
       JOIN events e ON e.id = d.event_id
      WHERE a.started_at >= $2 AND d.tenant_id = $1
        AND (CAST($3 AS bigint) IS NULL OR a.started_at > $3 OR (a.started_at = $3 AND a.id > $4))
      ORDER BY a.started_at, a.id
      LIMIT $5`,
    [tenantId, since, after?.startedAt ?? null, after?.id ?? '', limit],
  );
  return rows.map((r) => ({
    id: r.id,
    deliveryId: r.delivery_id,
    eventId: r.event_id,
    eventType: r.type,
    endpointId: r.endpoint_id,
    attempt: Number(r.attempt),
    startedAt: new Date(Number(r.started_at)).toISOString(),
    startedAtMs: Number(r.started_at),
    durationMs: Number(r.duration_ms),
    statusCode: r.status_code,
    error: r.error,
    deliveryStatus: r.status,
  }));
}
