import type { Db, Queryable } from '../db/db.js';
import { type ClaimedDelivery, ENDPOINT_COLUMNS, type EndpointFields, endpointFields } from '../deliveries/claimDueDeliveries.js';
import { type GroupWrite, GroupCommit } from '../db/groupCommit.js';
import { newId } from '../ids.js';
import type { SecretBox } from '../secrets/secretBox.js';

/**
 * The delivery worker of this process, when it has one. Deliveries of a committed group can be
 * inserted already leased to it and handed over in memory: no claim query, no extra commit. If the
 * process dies before finishing them, the lease runs out and any worker claims them as usual.
 */
export interface LocalWorker {
  /** Room for `n` deliveries: a lease for them, or null when the worker is full or stopping. */
  reserve(n: number): { token: string; until: number } | null;
  /** The committed, leased deliveries (`reserved` minus their count is given back). */
  handOver(token: string, deliveries: ClaimedDelivery[], reserved: number): void;
  /** Deliveries were written due now, without a lease: look for them. */
  wake(): void;
}

/** A subscribed endpoint, with what its deliveries need (read in the group's transaction). */
interface Target extends EndpointFields {
  id: string;
  types: string[];
  /** Deliveries may go straight to the local worker: not ordered, and the endpoint is healthy. */
  handOver: boolean;
}

export interface NewEvent {
  type: string;
  /** The payload as JSON text: stored and sent as these exact bytes. */
  payload: string;
  occurredAt?: number;
  idempotencyKey?: string;
  /** The inbound message this event forwards (endpoints with format "original" get its bytes). */
  inboundId?: string;
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

interface Request {
  tenantId: string;
  events: NewEvent[];
  onlyEndpointId?: string;
}

const subscribes = (types: string[], type: string) => types.length === 0 || types.includes(type);
const GROUP_MAX_EVENTS = 2000;

/**
 * The transactional outbox. Each event and one delivery per subscribed endpoint are written in one
 * transaction, so an accepted event always has its deliveries and a crash right after the answer
 * loses nothing: the workers find the deliveries in the table. An idempotency key seen before
 * answers the earlier event and creates nothing.
 *
 * Group commit (db/groupCommit.ts): requests that arrive while a transaction is being written wait
 * and go together in the next one, with one multi-row INSERT for their events and one for their
 * deliveries. Every caller is answered only after its own commit; under load one commit (one WAL
 * flush) serves dozens of requests instead of one.
 */
export class EventWriter {
  private readonly writer: GroupCommit<Request, AcceptedEvent[]>;

  constructor(
    db: Db,
    private readonly box: SecretBox,
    private readonly worker: LocalWorker | null = null,
  ) {
    // A group holds up to GROUP_MAX_EVENTS events; a retried request alone hands nothing over.
    this.writer = new GroupCommit(db, (q, group, alone) => this.writeGroup(q, group, !alone), { maxWeight: GROUP_MAX_EVENTS, weight: (r) => r.events.length });
  }

  /** `onlyEndpointId` limits the deliveries to one endpoint (test events). */
  write(tenantId: string, events: NewEvent[], opts: { onlyEndpointId?: string } = {}): Promise<AcceptedEvent[]> {
    return this.writer.submit({ tenantId, events, onlyEndpointId: opts.onlyEndpointId });
  }

  /**
   * Inside the transaction: reads the subscribed endpoints of every tenant in the group (one query),
   * reserves room in the local worker for the deliveries, and inserts. A lease reserved here is
   * handed back if the transaction fails.
   */
  private async writeGroup(q: Queryable, group: Request[], handOver: boolean): Promise<GroupWrite<AcceptedEvent[]>> {
    const targets = await loadTargets(q, this.box, [...new Set(group.map((r) => r.tenantId))]);
    const rows = plan(group, targets);
    // Deliveries of ordered or failing endpoints are never handed over: the claim query decides
    // their turn (order; circuit breaker).
    const wanted = rows.reduce((n, r) => n + r.targets.filter((t) => t.handOver).length, 0);
    const unleased = rows.reduce((n, r) => n + r.targets.length, 0) - wanted;
    const lease = handOver && wanted ? (this.worker?.reserve(wanted) ?? null) : null;
    try {
      const { results, leased } = await insertGroup(q, group, rows, lease);
      const due = unleased + (lease ? 0 : wanted);
      return {
        results,
        afterCommit: () => {
          if (lease) this.worker!.handOver(lease.token, leased, wanted);
          if (due) this.worker?.wake();
        },
      };
    } catch (err) {
      if (lease) this.worker!.handOver(lease.token, [], wanted);
      throw err;
    }
  }
}

/**
 * Writes events inside a transaction the caller already holds, with the other records they
 * announce (a billing record and its event commit together or not at all). The deliveries are due
 * at once and unleased: after the commit, wake the worker so it claims them.
 */
export async function insertEvents(q: Queryable, box: SecretBox, tenantId: string, events: NewEvent[]): Promise<AcceptedEvent[]> {
  if (events.length === 0) return [];
  const group: Request[] = [{ tenantId, events }];
  const rows = plan(group, await loadTargets(q, box, [tenantId]));
  const { results } = await insertGroup(q, group, rows, null);
  return results[0];
}

/** The enabled endpoints of these tenants, with what their deliveries need. */
async function loadTargets(q: Queryable, box: SecretBox, tenantIds: string[]): Promise<Map<string, Target[]>> {
  const now = Date.now();
  const rows = await q.all(
    `SELECT ep.id, ep.tenant_id, ep.event_types, ${ENDPOINT_COLUMNS}
       FROM endpoints ep JOIN tenants t ON t.id = ep.tenant_id
      WHERE ep.tenant_id IN (${tenantIds.map((_, i) => `$${i + 1}`).join(', ')}) AND ep.deleted_at IS NULL AND ep.enabled = 1`,
    tenantIds,
  );
  const byTenant = new Map<string, Target[]>();
  for (const t of rows) {
    const list = byTenant.get(t.tenant_id) ?? [];
    list.push({
      id: t.id,
      types: JSON.parse(t.event_types),
      ...endpointFields(t, box, now),
      handOver: t.ordered !== 1 && t.consecutive_failures === 0,
    });
    byTenant.set(t.tenant_id, list);
  }
  return byTenant;
}

interface Row {
  request: number;
  id: string;
  tenantId: string;
  event: NewEvent;
  targets: Target[];
  createdAt: number;
  occurredAt: number;
}

/** Ids, times and subscribed endpoints of every event of a group. */
function plan(group: Request[], targets: Map<string, Target[]>): Row[] {
  const now = Date.now();
  return group.flatMap((r, request) =>
    r.events.map((event) => ({
      request,
      id: newId('evt', now),
      tenantId: r.tenantId,
      event,
      targets: (targets.get(r.tenantId) ?? []).filter((t) => (r.onlyEndpointId ? t.id === r.onlyEndpointId : subscribes(t.types, event.type))),
      createdAt: now,
      occurredAt: event.occurredAt ?? now,
    })),
  );
}

async function insertGroup(
  q: Queryable,
  group: Request[],
  rows: Row[],
  lease: { token: string; until: number } | null,
): Promise<{ results: AcceptedEvent[][]; leased: ClaimedDelivery[] }> {
  const now = rows[0]?.createdAt ?? Date.now();
  const inserted = new Set<string>();
  for (const chunk of chunks(rows, 500)) {
    const params: unknown[] = [];
    const values = chunk.map((r) => {
      params.push(r.id, r.tenantId, r.event.type, r.event.payload, r.targets.length ? 'I' : 'N', r.event.idempotencyKey ?? null, r.occurredAt, r.createdAt, r.event.inboundId ?? null);
      const b = params.length - 9;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9})`;
    });
    const ids = await q.all<{ id: string }>(
      `INSERT INTO events (id, tenant_id, type, payload, status, idempotency_key, occurred_at, created_at, inbound_id)
       VALUES ${values.join(', ')}
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
      params,
    );
    for (const { id } of ids) inserted.add(id);
  }

  // Leased to the local worker: due when the lease ends (if nobody finishes them by then, they are
  // claimed like any other). Unleased: due now.
  const all: (ClaimedDelivery & { handOver: boolean })[] = rows
    .filter((r) => inserted.has(r.id))
    .flatMap((r) =>
      r.targets.map(({ id: endpointId, types: _types, ...endpoint }) => ({
        ...endpoint,
        id: newId('dlv', now),
        eventId: r.id,
        endpointId,
        tenantId: r.tenantId,
        leaseToken: lease?.token ?? '',
        attempts: 0,
        scheduleStart: 0,
        type: r.event.type,
        payload: r.event.payload,
        occurredAt: r.occurredAt,
        createdAt: r.createdAt,
        endpointActive: true,
      })),
    );
  const leased = lease ? all.filter((d) => d.handOver) : [];
  for (const chunk of chunks(all, 1000)) {
    const leasedHere = lease !== null && chunk.some((d) => d.handOver);
    const params: unknown[] = leasedHere ? [now, lease.until, lease.token] : [now];
    const values = chunk.map((d) => {
      params.push(d.id, d.eventId, d.endpointId, d.tenantId);
      const b = params.length - 4;
      // $2/$3: the lease; ordered endpoints' deliveries are due now and unleased ($1, NULL).
      return !d.handOver || !leasedHere
        ? `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, 'I', 0, $1, NULL, $1, $1)`
        : `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, 'I', 0, $2, $3, $1, $1)`;
    });
    await q.run(
      `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, lease_token, created_at, updated_at)
       VALUES ${values.join(', ')}`,
      params,
    );
  }

  const results: AcceptedEvent[][] = group.map(() => []);
  for (const r of rows) {
    if (inserted.has(r.id)) {
      results[r.request].push({ id: r.id, type: r.event.type, status: r.targets.length ? 'I' : 'N', createdAt: r.createdAt, occurredAt: r.occurredAt, created: true });
      continue;
    }
    // The idempotency key was seen before (in an earlier request or earlier in this group).
    const prior = await q.one<{ id: string; type: string; status: AcceptedEvent['status']; created_at: number; occurred_at: number }>(
      'SELECT id, type, status, created_at, occurred_at FROM events WHERE tenant_id = $1 AND idempotency_key = $2',
      [r.tenantId, r.event.idempotencyKey],
    );
    results[r.request].push({ id: prior!.id, type: prior!.type, status: prior!.status, createdAt: prior!.created_at, occurredAt: prior!.occurred_at, created: false });
  }
  return { results, leased };
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
