import type { Queryable } from '../../db/db.js';
import { countEndpointFailures } from '../../reports/sql/rollups.js';
import { DeliveryStatus } from '../status.js';

/**
 * Fails, for good, every delivery still in progress to an endpoint that is being deleted, so no
 * event stays "in progress" for an endpoint that no longer exists. A worker holding one of them
 * finds its lease token gone when it records. Answers the events touched (their status follows).
 */
export async function failEndpointDeliveries(q: Queryable, endpointId: string, reason: string, now: number): Promise<string[]> {
  const failed = await q.all<{ event_id: string }>(
    `UPDATE deliveries SET status = '${DeliveryStatus.Failed}', due_at = NULL, lease_token = NULL, last_error = $3, updated_at = $2
      WHERE endpoint_id = $1 AND status = '${DeliveryStatus.InProgress}' RETURNING event_id`,
    [endpointId, now, reason],
  );
  await countEndpointFailures(
    q,
    endpointId,
    failed.map((r) => r.event_id),
  );
  return [...new Set(failed.map((r) => r.event_id))];
}
