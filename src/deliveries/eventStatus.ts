import type { Queryable } from '../db/db.js';

// An event's status follows its deliveries (the codes of Productfy's webhook documentation): N no endpoint was subscribed,
// I any delivery still in progress, F none in progress and at least one failed, S all succeeded.
// It is stored on the event so lists can filter on it; this query keeps it true whenever a
// delivery leaves or re-enters "in progress".
//
// One aggregate per event over its deliveries (MAX of I=2, F=1, S=0; no row at all: N). Written
// so the only way in is deliveries_event: an `EXISTS (… status = 'I')` let Postgres combine the
// partial index on in-progress deliveries, which walks every waiting delivery of every tenant.
export async function refreshEventStatus(q: Queryable, eventIds: string[]): Promise<void> {
  for (let i = 0; i < eventIds.length; i += 500) {
    const ids = eventIds.slice(i, i + 500);
    await q.run(
      `UPDATE events SET status = (
          SELECT CASE MAX(CASE d.status WHEN 'I' THEN 2 WHEN 'F' THEN 1 ELSE 0 END)
                   WHEN 2 THEN 'I' WHEN 1 THEN 'F' WHEN 0 THEN 'S' ELSE 'N' END
            FROM deliveries d WHERE d.event_id = events.id)
        WHERE id IN (${ids.map((_, j) => `$${j + 1}`).join(', ')})`,
      ids,
    );
  }
}
