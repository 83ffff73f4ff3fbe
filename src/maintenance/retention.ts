import type { Db } from '../db/db.js';
import { deleteOldAttempts } from '../delivery/sql/deleteOldAttempts.js';
import { purgeEventPayloads } from '../events/retention.js';
import { deleteOldRejections, purgeInboundBodies } from '../inbound/sql/retention.js';

// Retention, in bounded batches so a cleanup never holds a long lock or a long transaction. Each
// step is the SQL of the table's owner; this module only decides the order and the cut-offs:
// - payloads of events older than `payloadDays` are purged (the event, its deliveries and their
//   attempts stay readable, without the payload);
// - attempts older than `attemptDays` are deleted;
// - received webhooks older than `payloadDays` that are done with lose their headers and body;
// - refused webhooks older than `rejectedMs` are deleted.
// Events still in progress are never touched. Answers how many rows each step changed.
export async function applyRetention(
  db: Db,
  opts: { payloadDays: number; attemptDays: number; rejectedMs?: number; batch: number; now?: number },
): Promise<{ payloadsPurged: number; attemptsDeleted: number; inboundPurged: number; rejectedDeleted: number }> {
  const now = opts.now ?? Date.now();
  const days = (n: number) => now - n * 86_400_000;
  const rejectedDeleted = await deleteOldRejections(db, { olderThanMs: opts.rejectedMs ?? 0, batch: opts.batch, now });
  let payloadsPurged = 0;
  let attemptsDeleted = 0;
  let inboundPurged = 0;
  if (opts.payloadDays > 0) {
    inboundPurged = await purgeInboundBodies(db, { before: days(opts.payloadDays), now, batch: opts.batch });
    payloadsPurged = await purgeEventPayloads(db, { before: days(opts.payloadDays), now, batch: opts.batch });
  }
  if (opts.attemptDays > 0) attemptsDeleted = await deleteOldAttempts(db, { before: days(opts.attemptDays), batch: opts.batch });
  return { payloadsPurged, attemptsDeleted, inboundPurged, rejectedDeleted };
}
