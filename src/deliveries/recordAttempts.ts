import type { Db } from '../db/db.js';
import { newId } from '../ids.js';
import { type HealthPolicy, type HealthTransition, updateEndpointHealth } from './endpointHealth.js';
import { refreshEventStatus } from './eventStatus.js';

export interface AttemptOutcome {
  deliveryId: string;
  eventId: string;
  endpointId: string;
  /** Whose delivery it was, for operational events; null for the operator's own endpoint. */
  owner: { environment: string; tenantId: string } | null;
  leaseToken: string;
  /** 1-based number of this attempt over the delivery's life. */
  attempt: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** First 4 KiB of the response body. */
  responseBody: string | null;
  /** What happens next: 'S' done, 'F' given up, or 'I' with the time of the next try. */
  next: { status: 'S' | 'F' } | { status: 'I'; dueAt: number };
  /** False when no HTTP request was made (endpoint disabled or deleted): no attempt row. */
  attempted: boolean;
}

/**
 * Records a batch of finished attempts in one transaction: the attempt rows, each delivery's new
 * state, and the status of the events whose deliveries left "in progress". Batching matters: under
 * load the worker hands over everything finished since its last flush, one commit for all.
 * A delivery whose lease token no longer matches was reclaimed by another worker after this one's
 * lease ran out; its attempt is still logged, but the newer owner decides its state.
 */
export async function recordAttempts(
  db: Db,
  outcomes: AttemptOutcome[],
  health?: HealthPolicy,
): Promise<{ transitions: HealthTransition[]; exhausted: { deliveryId: string; endpointId: string }[] }> {
  if (outcomes.length === 0) return { transitions: [], exhausted: [] };
  return db.tx(async (q) => {
    const attempted = outcomes.filter((o) => o.attempted);
    for (let i = 0; i < attempted.length; i += 100) {
      const chunk = attempted.slice(i, i + 100);
      const params: unknown[] = [];
      const rows = chunk.map((o) => {
        params.push(newId('atm', o.startedAt), o.deliveryId, o.attempt, o.startedAt, o.durationMs, o.statusCode, o.error, o.responseBody);
        const b = params.length - 8;
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8})`;
      });
      await q.run(
        `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body) VALUES ${rows.join(', ')}`,
        params,
      );
    }
    // One UPDATE for the whole batch (a VALUES list joined in): on Postgres every statement is a
    // round trip. The CASTs type the parameters for Postgres; SQLite accepts the same spelling.
    const finished: string[] = [];
    const exhausted: { deliveryId: string; endpointId: string }[] = [];
    const now = Date.now();
    for (let i = 0; i < outcomes.length; i += 500) {
      const chunk = outcomes.slice(i, i + 500);
      const params: unknown[] = [now];
      const rows = chunk.map((o) => {
        params.push(o.deliveryId, o.leaseToken, o.next.status, o.attempted ? 1 : 0, o.next.status === 'I' ? o.next.dueAt : null, o.statusCode, o.error);
        const b = params.length - 7;
        return `(CAST($${b + 1} AS text), CAST($${b + 2} AS text), CAST($${b + 3} AS text), CAST($${b + 4} AS integer), CAST($${b + 5} AS bigint), CAST($${b + 6} AS integer), CAST($${b + 7} AS text))`;
      });
      const changed = await q.all<{ id: string; event_id: string; endpoint_id: string; status: string }>(
        `WITH v (id, lease_token, status, tried, due_at, status_code, error) AS (VALUES ${rows.join(', ')})
         UPDATE deliveries
            SET status = v.status, attempts = deliveries.attempts + v.tried, due_at = v.due_at, lease_token = NULL,
                last_status_code = v.status_code, last_error = v.error, updated_at = $1
           FROM v
          WHERE deliveries.id = v.id AND deliveries.lease_token = v.lease_token
         RETURNING deliveries.id, deliveries.event_id, deliveries.endpoint_id, deliveries.status`,
        params,
      );
      for (const c of changed) {
        if (c.status !== 'I') finished.push(c.event_id);
        if (c.status === 'F') exhausted.push({ deliveryId: c.id, endpointId: c.endpoint_id });
      }
    }
    if (finished.length) await refreshEventStatus(q, [...new Set(finished)]);
    const transitions = health
      ? await updateEndpointHealth(
          q,
          attempted.map((o) => ({ endpointId: o.endpointId, ok: o.next.status === 'S', statusCode: o.statusCode, at: o.startedAt + o.durationMs })),
          health,
        )
      : [];
    return { transitions, exhausted };
  });
}

/** On a graceful stop: what this process still holds becomes due at once for another worker. */
export async function releaseLeases(db: Db, leaseTokens: string[]): Promise<number> {
  let n = 0;
  for (const token of leaseTokens) {
    n += await db.run(`UPDATE deliveries SET due_at = $2, lease_token = NULL WHERE lease_token = $1 AND status = 'I'`, [token, Date.now()]);
  }
  return n;
}

/**
 * Hands claimed deliveries back without trying them (their endpoint is at its concurrency cap or
 * rate limit): due again at `dueAt`, no attempt counted.
 */
export async function deferDeliveries(db: Db, items: { id: string; leaseToken: string; dueAt: number }[]): Promise<void> {
  for (const d of items) {
    await db.run('UPDATE deliveries SET due_at = $3, lease_token = NULL WHERE id = $1 AND lease_token = $2', [d.id, d.leaseToken, d.dueAt]);
  }
}
