import type { Queryable } from '../../db/db.js';
import { chunks, placeholders } from '../../db/sql.js';
import { DeliveryStatus } from '../status.js';

/** A delivery to create with its event, in the event's transaction (the outbox write). */
export interface NewDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  tenantId: string;
  /** Inserted already leased to the local worker (the in-memory fast path) rather than due now. */
  leased: boolean;
}

/** A transaction never inserts more rows than this in one statement (bounded parameter lists). */
const ROWS_PER_STATEMENT = 1000;

/**
 * Inserts deliveries in progress. Leased ones are due when `lease` ends, stamped with its token: if
 * the local worker does not finish them by then, any worker claims them like any other. The rest
 * are due now and unleased (ordered endpoints, failing endpoints, groups too large to hold in memory).
 */
export async function insertDeliveries(
  q: Queryable,
  rows: NewDelivery[],
  lease: { token: string; until: number } | null,
  now: number,
  /** When the unleased ones are due (the database's clock, where the caller has it). */
  dueAt = now,
): Promise<void> {
  for (const chunk of chunks(q.dialect, rows, ROWS_PER_STATEMENT)) {
    // $1 is now; the due time and the lease get a parameter each once a row needs them (Postgres
    // refuses a parameter no row uses: it cannot tell its type).
    const params: unknown[] = [now];
    const param = (v: unknown) => (params.push(v), `$${params.length}`);
    let due: string | undefined;
    let leasedUntil: string | undefined;
    let token: string | undefined;
    const values = chunk.map((d) => {
      const row = placeholders(4, params.length + 1);
      params.push(d.id, d.eventId, d.endpointId, d.tenantId);
      // The rest of a row: status, attempts, due_at, lease_token, created_at, updated_at.
      if (d.leased && lease) {
        leasedUntil ??= param(lease.until);
        token ??= param(lease.token);
        return `(${row}, '${DeliveryStatus.InProgress}', 0, ${leasedUntil}, ${token}, $1, $1)`;
      }
      due ??= param(dueAt);
      return `(${row}, '${DeliveryStatus.InProgress}', 0, ${due}, NULL, $1, $1)`;
    });
    await q.run(
      `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, lease_token, created_at, updated_at)
       VALUES ${values.join(', ')}`,
      params,
    );
  }
}
