import type { Queryable } from '../db/db.js';

// An event's status follows its deliveries (seeds/004 codes): N no endpoint was subscribed,
// I any delivery still in progress, F none in progress and at least one failed, S all succeeded.
// It is stored on the event so lists can filter on it; this query keeps it true whenever a
// delivery leaves or re-enters "in progress".
export async function refreshEventStatus(q: Queryable, eventIds: string[]): Promise<void> {
  for (let i = 0; i < eventIds.length; i += 500) {
    const ids = eventIds.slice(i, i + 500);
    await q.run(
      `UPDATE events SET status = CASE
          WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'I') THEN 'I'
          WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'F') THEN 'F'
          WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id) THEN 'S'
          ELSE 'N' END
        WHERE id IN (${ids.map((_, j) => `$${j + 1}`).join(', ')})`,
      ids,
    );
  }
}
