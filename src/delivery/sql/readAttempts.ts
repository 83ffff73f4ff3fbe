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
