import type { Db, Queryable } from '../db/db.js';
import { newId } from '../ids.js';

export interface NewEvent {
  type: string;
  /** The payload as JSON text: stored and sent as these exact bytes. */
  payload: string;
  occurredAt?: number;
  idempotencyKey?: string;
}

export interface AcceptedEvent {
  id: string;
  type: string;
  status: 'N' | 'I' | 'S' | 'F';
  createdAt: number;
  occurredAt: number;
  /** False when an earlier event with the same idempotency key was answered instead. */
  created: boolean;
}

interface Target {
  id: string;
  event_types: string;
}

const subscribes = (endpoint: { types: string[] }, type: string) => endpoint.types.length === 0 || endpoint.types.includes(type);

/**
 * The transactional outbox: each event and one delivery per subscribed endpoint are written in one
 * transaction, so an accepted event always has its deliveries, and a crash right after the answer
 * loses nothing (the workers find the deliveries in the table). An idempotency key seen before
 * answers the earlier event and creates nothing.
 *
 * `onlyEndpointId` limits the deliveries to one endpoint (test events).
 */
export async function createEvents(db: Db, tenantId: string, events: NewEvent[], opts: { onlyEndpointId?: string } = {}): Promise<AcceptedEvent[]> {
  // The endpoint list is read before the transaction: it keeps the write lock short. An endpoint
  // deleted in between gets a delivery that its worker fails at once with "endpoint deleted".
  const targets = (
    await db.all<Target>(
      `SELECT id, event_types FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL AND enabled = 1
       ${opts.onlyEndpointId ? 'AND id = $2' : ''}`,
      opts.onlyEndpointId ? [tenantId, opts.onlyEndpointId] : [tenantId],
    )
  ).map((t) => ({ id: t.id, types: JSON.parse(t.event_types) as string[] }));

  return db.tx(async (q) => {
    const out: AcceptedEvent[] = [];
    for (const e of events) out.push(await insertEvent(q, tenantId, e, opts.onlyEndpointId ? targets : targets.filter((t) => subscribes(t, e.type))));
    return out;
  });
}

async function insertEvent(q: Queryable, tenantId: string, e: NewEvent, targets: { id: string }[]): Promise<AcceptedEvent> {
  const now = Date.now();
  const id = newId('evt', now);
  const occurredAt = e.occurredAt ?? now;
  const status = targets.length ? 'I' : 'N';
  const inserted = await q.one<{ id: string }>(
    `INSERT INTO events (id, tenant_id, type, payload, status, idempotency_key, occurred_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
    [id, tenantId, e.type, e.payload, status, e.idempotencyKey ?? null, occurredAt, now],
  );
  if (!inserted) {
    const prior = await q.one<{ id: string; type: string; status: AcceptedEvent['status']; created_at: number; occurred_at: number }>(
      'SELECT id, type, status, created_at, occurred_at FROM events WHERE tenant_id = $1 AND idempotency_key = $2',
      [tenantId, e.idempotencyKey],
    );
    return { id: prior!.id, type: prior!.type, status: prior!.status, createdAt: prior!.created_at, occurredAt: prior!.occurred_at, created: false };
  }
  if (targets.length) {
    const params: unknown[] = [id, tenantId, now];
    const rows = targets.map((t) => {
      params.push(newId('dlv', now), t.id);
      const n = params.length;
      return `($${n - 1}, $1, $${n}, $2, 'I', 0, $3, $3, $3)`;
    });
    await q.run(
      `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, created_at, updated_at)
       VALUES ${rows.join(', ')}`,
      params,
    );
  }
  return { id, type: e.type, status, createdAt: now, occurredAt, created: true };
}
