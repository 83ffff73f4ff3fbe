import type { Queryable } from '../../db/db.js';
import { placeholders } from '../../db/sql.js';
import type { DeliveryStatus } from '../status.js';
import type { AttemptView } from './readAttempts.js';

// Deliveries and attempts for a page of events at once (GraphQL's events { deliveries { attempts } }):
// two queries for the whole page instead of one per event and one per delivery.

export interface DeliveryRow {
  id: string;
  eventId: string;
  endpointId: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

/** An attempt as the delivery log shows it, without the answer's body (not asked for in pages). */
export type AttemptRow = Omit<AttemptView, 'responseBody'>;

/** The deliveries of these events (the caller has checked they are its tenant's), in creation order. */
export async function deliveriesOfEvents(q: Queryable, eventIds: string[]): Promise<DeliveryRow[]> {
  if (eventIds.length === 0) return [];
  const rows = await q.all<{
    id: string;
    event_id: string;
    endpoint_id: string;
    status: DeliveryRow['status'];
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
  }>(
    `SELECT id, event_id, endpoint_id, status, attempts, last_status_code, last_error FROM deliveries WHERE event_id IN (${placeholders(eventIds.length)}) ORDER BY id`,
    eventIds,
  );
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    status: r.status,
    attempts: Number(r.attempts),
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
  }));
}

/** The attempts of these deliveries, oldest first (response bodies left out: read them one delivery at a time). */
export async function attemptsOfDeliveries(q: Queryable, deliveryIds: string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  const rows = await q.all<{
    id: string;
    delivery_id: string;
    attempt: number;
    started_at: number;
    duration_ms: number;
    status_code: number | null;
    error: string | null;
  }>(
    `SELECT id, delivery_id, attempt, started_at, duration_ms, status_code, error FROM attempts WHERE delivery_id IN (${placeholders(deliveryIds.length)}) ORDER BY delivery_id, attempt`,
    deliveryIds,
  );
  return rows.map((r) => ({
    id: r.id,
    deliveryId: r.delivery_id,
    attempt: Number(r.attempt),
    startedAt: new Date(Number(r.started_at)).toISOString(),
    durationMs: Number(r.duration_ms),
    statusCode: r.status_code,
    error: r.error,
  }));
}
