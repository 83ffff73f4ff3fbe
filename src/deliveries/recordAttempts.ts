import type { Db } from '../db/db.js';
import { newId } from '../ids.js';
import { refreshEventStatus } from './eventStatus.js';

export interface AttemptOutcome {
  deliveryId: string;
  eventId: string;
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
export async function recordAttempts(db: Db, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.tx(async (q) => {
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
    const finished: string[] = [];
    const now = Date.now();
    for (const o of outcomes) {
      const changed = await q.run(
        `UPDATE deliveries
            SET status = $3, attempts = attempts + $4, due_at = $5, lease_token = NULL,
                last_status_code = $6, last_error = $7, updated_at = $8
          WHERE id = $1 AND lease_token = $2`,
        [o.deliveryId, o.leaseToken, o.next.status, o.attempted ? 1 : 0, o.next.status === 'I' ? o.next.dueAt : null, o.statusCode, o.error, now],
      );
      if (changed && o.next.status !== 'I') finished.push(o.eventId);
    }
    if (finished.length) await refreshEventStatus(q, [...new Set(finished)]);
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
