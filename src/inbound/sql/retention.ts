import type { Queryable } from '../../db/db.js';

/**
 * Deletes refused requests received more than `olderThanMs` ago, oldest first, in statements of
 * at most `batch` rows (at most `rounds` of them per call), so a cleanup after a flood never holds
 * a long lock. A refused request is only there to tell the tenant why a provider's webhooks fail:
 * unlike an accepted message it has no provider id to remember and no event built on it, so the
 * whole row goes, far sooner than accepted messages lose their bodies. Answers how many went.
 */
export async function deleteOldRejections(
  q: Queryable,
  opts: { olderThanMs: number; batch: number; rounds?: number; now?: number },
): Promise<number> {
  if (opts.olderThanMs <= 0) return 0;
  const before = (opts.now ?? Date.now()) - opts.olderThanMs;
  let deleted = 0;
  for (let i = 0; i < (opts.rounds ?? 10); i++) {
    const n = await q.run(
      `DELETE FROM inbound_messages
        WHERE id IN (SELECT id FROM inbound_messages WHERE status = 'rejected' AND received_at < $1 ORDER BY received_at LIMIT $2)`,
      [before, opts.batch],
    );
    deleted += n;
    if (n < opts.batch) break;
  }
  return deleted;
}

/**
 * Received webhooks that are done with (processed, refused, failed) and older than `before` lose
 * their headers and body, at most `batch` of them per call. The row, its status and its provider
 * id stay, so a late duplicate is still recognised. Answers how many were purged.
 */
export async function purgeInboundBodies(q: Queryable, opts: { before: number; batch: number; now: number }): Promise<number> {
  return q.run(
    `UPDATE inbound_messages SET headers = '{}', body = $3, body_purged_at = $2
      WHERE id IN (SELECT id FROM inbound_messages
                    WHERE received_at < $1 AND body_purged_at IS NULL AND status IN ('processed', 'rejected', 'failed') LIMIT $4)`,
    [opts.before, opts.now, Buffer.alloc(0), opts.batch],
  );
}
