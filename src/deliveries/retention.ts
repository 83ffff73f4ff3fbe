import type { Db } from '../db/db.js';
import { deleteOldRejections } from '../inbound/inboundRetention.js';

// Retention, in bounded batches so a cleanup never holds a long lock or a long transaction:
// - payloads of events older than `payloadDays` are purged (the event, its deliveries and their
//   attempts stay readable, without the payload);
// - attempts older than `attemptDays` are deleted;
// - received webhooks older than `payloadDays` that are done with lose their headers and body
//   (the row, its status and its provider id stay: a late duplicate is still recognised).
// - refused webhooks older than `rejectedMs` are deleted (inbound/inboundRetention.ts).
// Events still in progress are never touched. Answers how many rows each step changed.
export async function applyRetention(
  db: Db,
  opts: { payloadDays: number; attemptDays: number; rejectedMs?: number; batch: number; now?: number },
): Promise<{ payloadsPurged: number; attemptsDeleted: number; inboundPurged: number; rejectedDeleted: number }> {
  const now = opts.now ?? Date.now();
  const rejectedDeleted = await deleteOldRejections(db, { olderThanMs: opts.rejectedMs ?? 0, batch: opts.batch, now });
  let payloadsPurged = 0;
  let attemptsDeleted = 0;
  let inboundPurged = 0;
  if (opts.payloadDays > 0) {
    inboundPurged = await db.run(
      `UPDATE inbound_messages SET headers = '{}', body = $3, body_purged_at = $2
        WHERE id IN (SELECT id FROM inbound_messages
                      WHERE received_at < $1 AND body_purged_at IS NULL AND status IN ('processed', 'rejected', 'failed') LIMIT $4)`,
      [now - opts.payloadDays * 86_400_000, now, Buffer.alloc(0), opts.batch],
    );
    payloadsPurged = await db.run(
      `UPDATE events SET payload = 'null', payload_purged_at = $2
        WHERE id IN (SELECT id FROM events WHERE created_at < $1 AND payload_purged_at IS NULL AND status <> 'I' LIMIT $3)`,
      [now - opts.payloadDays * 86_400_000, now, opts.batch],
    );
  }
  if (opts.attemptDays > 0) {
    attemptsDeleted = await db.run(
      `DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < $1 LIMIT $2)`,
      [now - opts.attemptDays * 86_400_000, opts.batch],
    );
  }
  return { payloadsPurged, attemptsDeleted, inboundPurged, rejectedDeleted };
}
