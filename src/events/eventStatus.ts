import type { Queryable } from '../db/db.js';
import { chunks, placeholders } from '../db/sql.js';
import { DeliveryStatus, EventStatus } from '../delivery/status.js';

// An event's status follows its deliveries (the codes of Productfy's webhook documentation): N no endpoint was subscribed,
// I any delivery still in progress, F none in progress and at least one failed, S all succeeded.
// It is stored on the event so lists can filter on it; this query keeps it true whenever a
// delivery leaves or re-enters "in progress".
//
// One aggregate per event over its deliveries (MAX of I=2, F=1, S=0; no row at all: N). Written
// so the only way in is deliveries_event: an `EXISTS (… status = 'I')` let Postgres combine the
// partial index on in-progress deliveries, which walks every waiting delivery of every tenant.
export async function refreshEventStatus(q: Queryable, eventIds: string[]): Promise<void> {
  for (const ids of chunks(q.dialect, eventIds, 500)) {
    await q.run(
      `UPDATE events SET status = (
          SELECT CASE MAX(CASE d.status WHEN '${DeliveryStatus.InProgress}' THEN 2 WHEN '${DeliveryStatus.Failed}' THEN 1 ELSE 0 END)
                   WHEN 2 THEN '${EventStatus.InProgress}'
                   WHEN 1 THEN '${EventStatus.Failed}'
                   WHEN 0 THEN '${EventStatus.Succeeded}'
                   ELSE '${EventStatus.NoEndpoints}' END
            FROM deliveries d WHERE d.event_id = events.id)
        WHERE id IN (${placeholders(ids.length)})`,
      ids,
    );
  }
}
