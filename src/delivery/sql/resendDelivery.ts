import { announceWork } from '../../db/announceWork.js';
import type { Db } from '../../db/db.js';
import { HeraldError, notFound } from '../../errors.js';
import { refreshEventStatus } from '../../events/eventStatus.js';
import { uncountResent } from '../../reports/sql/rollups.js';
import { DeliveryStatus } from '../status.js';

/**
 * Sends a delivery again, now. A finished one (S or F) starts a new round with the full retry
 * schedule; one waiting for its next retry is made due at once; one being sent right now is left
 * alone (409).
 */
export async function resendDelivery(db: Db, tenantId: string, deliveryId: string): Promise<void> {
  await db.tx(async (q) => {
    const d = await q.one<{ event_id: string; status: DeliveryStatus; lease_token: string | null; endpoint_active: number }>(
      `SELECT d.event_id, d.status, d.lease_token, CASE WHEN ep.deleted_at IS NULL AND ep.enabled = 1 THEN 1 ELSE 0 END AS endpoint_active
         FROM deliveries d JOIN endpoints ep ON ep.id = d.endpoint_id
        WHERE d.id = $1 AND d.tenant_id = $2`,
      [deliveryId, tenantId],
    );
    if (!d) throw notFound('delivery', deliveryId);
    if (!d.endpoint_active) throw new HeraldError('conflict', 'the endpoint of this delivery is disabled or deleted; enable it first');
    if (d.status === DeliveryStatus.InProgress && d.lease_token)
      throw new HeraldError('conflict', 'this delivery is being sent right now; read its attempts in a moment');
    const now = Date.now();
    await uncountResent(q, deliveryId);
    await q.run(
      `UPDATE deliveries SET status = '${DeliveryStatus.InProgress}', due_at = $2,
              schedule_start = CASE WHEN status = '${DeliveryStatus.InProgress}' THEN schedule_start ELSE attempts END, updated_at = $2
        WHERE id = $1`,
      [deliveryId, now],
    );
    await refreshEventStatus(q, [d.event_id]);
    // A worker on another node sends it at once (this node's own worker is woken by the caller).
    await announceWork(q, 'deliveries');
  });
}
