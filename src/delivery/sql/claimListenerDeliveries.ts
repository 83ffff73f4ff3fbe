import type { Db } from '../../db/db.js';
import type { SecretBox } from '../../secrets/secretBox.js';
import { DeliveryStatus } from '../status.js';
import { type ClaimedDelivery, readClaimed } from './claimDueDeliveries.js';

// The claim of one listen endpoint's due deliveries, for the connection of its `herald listen`
// (delivery/listenerFeed.ts). The same lease as a worker's claim (due_at moved to the lease's end,
// a lease token stamped), so everything after it is shared: recording checks the token, and a
// listener that vanishes lets its leases run out and the next connection is offered them again.
//
// Scoped to one endpoint, it reads deliveries_endpoint_pending (endpoint_id, id) WHERE status = 'I'
// rather than deliveries_due: only this endpoint's rows are walked. The endpoint's circuit and its
// order hold as for a worker (claimDueDeliveries.ts, ENDPOINT_HOLDS): an open circuit takes nothing
// until it half-opens, and an ordered endpoint gets one delivery at a time in event order. On
// Postgres FOR UPDATE SKIP LOCKED lets two connections of one listener claim side by side.
const HOLDS = `
  NOT EXISTS (
    SELECT 1 FROM endpoints ep
     WHERE ep.id = d.endpoint_id
       AND (ep.circuit_open_until > $1
            OR (ep.ordered = 1 AND EXISTS (SELECT 1 FROM deliveries p WHERE p.endpoint_id = ep.id AND p.status = '${DeliveryStatus.InProgress}' AND p.id < d.id))))`;

const DUE = `
  SELECT d.id FROM deliveries d
   WHERE d.endpoint_id = $5 AND d.status = '${DeliveryStatus.InProgress}' AND d.due_at <= $1
     AND ${HOLDS}
   ORDER BY d.due_at, d.id
   LIMIT $2`;

const CLAIM = {
  postgres: `
    WITH due AS (${DUE} FOR UPDATE OF d SKIP LOCKED)
    UPDATE deliveries d SET due_at = $3, lease_token = $4, updated_at = $1
      FROM due WHERE d.id = due.id
    RETURNING d.id`,
  sqlite: `
    UPDATE deliveries SET due_at = $3, lease_token = $4, updated_at = $1
     WHERE id IN (${DUE})
    RETURNING id`,
};

export interface ListenerClaim {
  endpointId: string;
  limit: number;
  leaseMs: number;
  leaseToken: string;
  /** The database's time (db/clock.ts). */
  now: number;
}

export async function claimListenerDeliveries(db: Db, box: SecretBox, opts: ListenerClaim): Promise<ClaimedDelivery[]> {
  if (opts.limit <= 0) return [];
  const ids = await db.all<{ id: string }>(CLAIM[db.dialect], [
    opts.now,
    opts.limit,
    opts.now + opts.leaseMs,
    opts.leaseToken,
    opts.endpointId,
  ]);
  const claimed = await readClaimed(
    db,
    box,
    ids.map((r) => r.id),
    opts.now,
  );
  // Oldest first (ids follow creation): neither dialect returns the updated rows in any set order.
  return claimed.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Deliveries of this endpoint a connection holds and has not had an answer for yet. */
export async function countHeld(db: Db, endpointId: string, leaseToken: string): Promise<number> {
  const row = await db.one<{ n: number | string }>(
    `SELECT count(*) AS n FROM deliveries WHERE endpoint_id = $1 AND status = '${DeliveryStatus.InProgress}' AND lease_token = $2`,
    [endpointId, leaseToken],
  );
  return Number(row?.n ?? 0);
}

/** A delivery as the answer to a listener's request finds it: to record that answer as its attempt. */
export interface ListenedDeliveryRow {
  id: string;
  eventId: string;
  endpointId: string;
  tenantId: string;
  status: DeliveryStatus;
  attempts: number;
  scheduleStart: number;
  leaseToken: string | null;
  dueAt: number | null;
  environment: 'sandbox' | 'production';
  system: boolean;
  /** Its event's type and acceptance time (the report rollups' key). */
  type: string;
  createdAt: number;
}

export async function readListenedDelivery(db: Db, endpointId: string, id: string): Promise<ListenedDeliveryRow | undefined> {
  const r = await db.one<{
    id: string;
    event_id: string;
    endpoint_id: string;
    tenant_id: string;
    status: DeliveryStatus;
    attempts: number;
    schedule_start: number;
    lease_token: string | null;
    due_at: number | string | null;
    environment_id: 'sandbox' | 'production';
    system: number;
    type: string;
    created_at: number | string;
  }>(
    `SELECT d.id, d.event_id, d.endpoint_id, d.tenant_id, d.status, d.attempts, d.schedule_start, d.lease_token, d.due_at,
            t.environment_id, t.system, e.type, e.created_at
       FROM deliveries d JOIN tenants t ON t.id = d.tenant_id JOIN events e ON e.id = d.event_id
      WHERE d.id = $1 AND d.endpoint_id = $2`,
    [id, endpointId],
  );
  if (!r) return undefined;
  return {
    id: r.id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    tenantId: r.tenant_id,
    status: r.status,
    attempts: Number(r.attempts),
    scheduleStart: Number(r.schedule_start),
    leaseToken: r.lease_token,
    dueAt: r.due_at === null ? null : Number(r.due_at),
    environment: r.environment_id,
    system: r.system === 1,
    type: r.type,
    createdAt: Number(r.created_at),
  };
}
