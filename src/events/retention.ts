import type { Queryable } from '../db/db.js';
import { EventStatus } from '../delivery/status.js';

/**
 * Finished events created before `before` lose their payload, at most `batch` per call; the event,
 * its deliveries and their attempts stay readable without it. Events still in progress keep theirs
 * (a retry must send the same bytes). Answers how many were purged.
 */
export async function purgeEventPayloads(q: Queryable, opts: { before: number; batch: number; now: number }): Promise<number> {
  return q.run(
    `UPDATE events SET payload = 'null', payload_purged_at = $2
      WHERE id IN (SELECT id FROM events WHERE created_at < $1 AND payload_purged_at IS NULL AND status <> '${EventStatus.InProgress}' LIMIT $3)`,
    [opts.before, opts.now, opts.batch],
  );
}
