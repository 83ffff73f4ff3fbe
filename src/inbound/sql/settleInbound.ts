import { announceWork } from '../../db/announceWork.js';
import type { Queryable } from '../../db/db.js';
import { chunks, valuesRows } from '../../db/sql.js';
import { storableText } from './storeInbound.js';

// How a claimed message leaves processing. Every write of a message's outcome is here, so the
// states a received webhook can be in (see InboundStatus) change in one place.

export type InboundOutcome =
  { status: 'processed' } | { status: 'unmatched'; waitingFor: string; reason: string } | { status: 'failed'; reason: string };

/** What processing made of one message: its outcome and the event it was forwarded as. */
export interface Settled {
  id: string;
  outcome: InboundOutcome;
  eventId: string | null;
  eventType: string | null;
}

const SETTLED_TYPES = ['text', 'text', 'text', 'text', 'text', 'text'] as const;

/**
 * Records what processing made of messages, inside the processing transaction: each one's status,
 * reason, what it waits for, and the event it was forwarded as; ends their leases (due_at NULL).
 * One statement per slice of the batch: on Postgres a statement per message was a round trip
 * each, which the whole batch waited for.
 */
export async function settleInbound(q: Queryable, settled: readonly Settled[], now: number): Promise<void> {
  for (const chunk of chunks(q.dialect, settled, 100)) {
    const params: unknown[] = [now];
    for (const { id, outcome: o, eventId, eventType } of chunk) {
      params.push(
        id,
        o.status,
        'reason' in o ? storableText(o.reason) : null,
        o.status === 'unmatched' ? o.waitingFor : null,
        eventId,
        eventType,
      );
    }
    await q.run(
      `WITH v (id, status, reason, waiting_for, event_id, event_type) AS (VALUES ${valuesRows(chunk.length, SETTLED_TYPES, 2)})
       UPDATE inbound_messages
          SET status = v.status, reason = v.reason, waiting_for = v.waiting_for,
              event_id = COALESCE(v.event_id, inbound_messages.event_id), event_type = COALESCE(v.event_type, inbound_messages.event_type),
              attempts = inbound_messages.attempts + 1, due_at = NULL, processed_at = $1
         FROM v WHERE inbound_messages.id = v.id`,
      params,
    );
  }
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
