import { announceWork } from '../../db/announceWork.js';
import type { Queryable } from '../../db/db.js';
import { storableText } from './storeInbound.js';

// How a claimed message leaves processing. Every write of a message's outcome is here, so the
// states a received webhook can be in (see InboundStatus) change in one place.

export type InboundOutcome =
  { status: 'processed' } | { status: 'unmatched'; waitingFor: string; reason: string } | { status: 'failed'; reason: string };

/**
 * Records what processing made of a message, inside the processing transaction: its status, the
 * reason, what it waits for, and the event it was forwarded as. Ends its lease (due_at NULL).
 */
export async function settleInbound(
  q: Queryable,
  id: string,
  o: InboundOutcome,
  forwarded: { eventId: string | null; eventType: string | null },
  now: number,
): Promise<void> {
  await q.run(
    `UPDATE inbound_messages SET status = $2, reason = $3, waiting_for = $4, event_id = COALESCE($5, event_id), event_type = COALESCE($6, event_type),
            attempts = attempts + 1, due_at = NULL, processed_at = $7
      WHERE id = $1`,
    [
      id,
      o.status,
      'reason' in o ? storableText(o.reason) : null,
      o.status === 'unmatched' ? o.waitingFor : null,
      forwarded.eventId,
      forwarded.eventType,
      now,
    ],
  );
}

/**
 * Processing failed with nothing kept (the database failed mid-way): the message counts an attempt
 * and is due again after a backoff, or `failed` for good once it used `maxAttempts`. Only a message
 * still `received` changes, so a concurrent success is never overwritten.
 */
export async function retryInbound(
  q: Queryable,
  id: string,
  attempts: number,
  maxAttempts: number,
  reason: string,
  now: number,
): Promise<void> {
  const failed = attempts >= maxAttempts;
  await q.run(`UPDATE inbound_messages SET attempts = $2, status = $3, reason = $4, due_at = $5 WHERE id = $1 AND status = 'received'`, [
    id,
    attempts,
    failed ? 'failed' : 'received',
    storableText(reason.slice(0, 500)),
    failed ? null : now + Math.min(2 ** attempts * 1000, 600_000),
  ]);
}

/** Messages held as `unmatched` for `waitingFor` become due again, to be applied in the order they arrived. */
export async function releaseWaiting(q: Queryable, tenantId: string, waitingFor: string, now = Date.now()): Promise<number> {
  const released = await q.run(
    `UPDATE inbound_messages SET status = 'received', due_at = $3, waiting_for = NULL, reason = NULL
      WHERE tenant_id = $1 AND status = 'unmatched' AND waiting_for = $2`,
    [tenantId, waitingFor, now],
  );
  if (released) await announceWork(q, 'inbound');
  return released;
}
