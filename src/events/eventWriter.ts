import { createHash } from 'node:crypto';
import type { Db, Queryable, TxJob } from '../db/db.js';
import {
  type ClaimedDelivery,
  ENDPOINT_COLUMNS,
  type EndpointFields,
  endpointFields,
  type EndpointRow,
} from '../delivery/sql/claimDueDeliveries.js';
import { announceInStatement, announceWork } from '../db/announceWork.js';
import { type GroupTiming, type GroupWrite, GroupCommit } from '../db/groupCommit.js';
import { chunks, placeholders, valuesRows } from '../db/sql.js';
import { insertDeliveries, type NewDelivery } from '../delivery/sql/insertDeliveries.js';
import { DeliveryStatus, EventStatus } from '../delivery/status.js';
import { HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import { countAccepted, HOUR_MS, ROLLUP_KEY } from '../reports/sql/rollups.js';
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

/**
 * Hands the deliveries of one transaction's events to the local worker once that transaction is
 * durable: the outbox's groups, and the events written inside a caller's own transaction
 * (insertEvents: forwarded events, billing events). Without it such deliveries were written due
 * and the worker, woken, found them with a claim query: on Postgres an UPDATE of each delivery
 * row, its six indexes included, on top of the insert. Either commit() or abandon() is called once
 * the transaction is over.
 */
export class Handover {
  private readonly pending: { token: string; reserved: number; leased: ClaimedDelivery[] }[] = [];
  /** Deliveries written due without a lease (no room, or an endpoint that is not handed to): the worker must look. */
  private due = 0;

  constructor(private readonly worker: LocalWorker) {}

  /** Room for `n` deliveries, or null (then they are written due). */
  reserve(n: number): { token: string; until: number } | null {
    const lease = this.worker.reserve(n);
    if (lease) this.pending.push({ token: lease.token, reserved: n, leased: [] });
    return lease;
  }

  /** What was written: the leased deliveries of a reservation, and how many were left due. */
  written(token: string | null, leased: ClaimedDelivery[], due: number): void {
    if (token) this.pending.find((p) => p.token === token)!.leased.push(...leased);
    this.due += due;
  }

  /** The transaction is durable: hand the leased deliveries over, and wake the worker for the rest. */
  commit(): void {
    for (const p of this.pending.splice(0)) this.worker.handOver(p.token, p.leased, p.reserved);
    if (this.due) this.worker.wake();
    this.due = 0;
  }

  /**
   * The transaction failed: its reservations are given back. (If it was committed but its flush
   * failed, the leased deliveries are due when their lease ends, and any worker claims them.)
   */
  abandon(): void {
    for (const p of this.pending.splice(0)) this.worker.handOver(p.token, [], p.reserved);
    this.due = 0;
  }
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
  /**
   * Set by the API: a hash of what the request asked for (see requestHash). The same idempotency
   * key with a different hash is a 409; events written without one (forwarded, operational, test
   * events) never conflict.
   */
  requestHash?: string;
  /** The inbound message this event forwards (endpoints with format "original" get its bytes). */
  inboundId?: string;
  /** W3C traceparent of the span that accepted it (tracing on): its attempts' spans are its children. */
  traceParent?: string;
  /**
   * The received request (as stored) of a forwarded event, kept in memory so that a delivery to an
   * endpoint of format "original" can be handed over without reading it back (see Handover).
   */
  original?: { headers: Record<string, string>; body: Buffer };
}

export interface AcceptedEvent {
  id: string;
  type: string;
  status: EventStatus;
  createdAt: number;
  occurredAt: number;
  /** False when an earlier event with the same idempotency key was answered instead. */
  created: boolean;
}

interface Request {
  tenantId: string;
  events: NewEvent[];
  onlyEndpointId?: string;
  /** Deliveries per event, as last seen for this tenant: what the request weighs in a group. */
  fanOut: number;
}

const subscribes = (types: string[], type: string) => types.length === 0 || types.includes(type);

/**
 * What one transaction writes at most, in events or deliveries, whichever is more. On SQLite a
 * transaction never yields the event loop (better-sqlite3 is synchronous), so its size is how long
 * every other request, health checks included, waits: 2,000 rows is a few tens of milliseconds,
 * where a batch of 1,000 events to 100 endpoints in one transaction held everything for seconds.
 */
const MAX_ROWS_PER_COMMIT = 2000;
/**
 * The most deliveries of one group handed to the local worker in memory. Beyond it they are
 * written due and unleased and the worker claims them like any other: a huge fan-out must not be
 * held in memory as objects (it took RSS to 444 MB), and the claim paces it anyway.
 */
const MAX_HANDOVER = 1000;

/**
 * What the request asked for, hashed: type, occurredAt (the instant sent, or none), and the
 * payload's exact text, so the same payload with other whitespace is another request. An
 * idempotency key is only a safe retry when it is the same request (Stripe answers a key reused
 * with different parameters with an error, and so does Herald: 409).
 */
export function requestHash(e: Pick<NewEvent, 'type' | 'payload' | 'occurredAt'>): string {
  return createHash('sha256')
    .update(`${e.type}\u0000${e.occurredAt ?? ''}\u0000`)
    .update(e.payload)
    .digest('base64url');
}

const reused = (key: string, eventId: string | null) =>
  new HeraldError(
    'conflict',
    `the idempotency key "${key}" was already used ${eventId ? `for event ${eventId}` : 'by another event of this batch'} with a different type, payload or occurredAt; send the same request to get that event again, or use a new key for a new event`,
    { idempotencyKey: key, eventId },
  );

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
  /** Enabled endpoints per tenant, as the last group that wrote for it saw them. */
  private readonly fanOuts = new Map<string, number>();

  private readonly worker: LocalWorker | null;
  /** Told how many new events each commit stored (the metrics' accepted count). */
  private readonly onCommitted: (created: number) => void;
  /**
   * The database's clock (db/clock.ts): deliveries written due now are due by it, the clock every
   * worker claims by. By this node's own clock, one running a few milliseconds ahead wrote them
   * due in the future, and a worker woken for them found nothing until its next poll.
   */
  private readonly clock: { now(): number };

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    opts: {
      /** This process's delivery worker, which takes the deliveries it has room for in memory. */
      worker?: LocalWorker | null;
      onCommitted?: (created: number) => void;
      clock?: { now(): number };
      /** Told of each durable group (the metrics' group-commit figures). */
      observe?: (timing: GroupTiming) => void;
    } = {},
  ) {
    this.worker = opts.worker ?? null;
    this.onCommitted = opts.onCommitted ?? (() => {});
    this.clock = opts.clock ?? { now: Date.now };
    // A group holds up to MAX_ROWS_PER_COMMIT events or deliveries; a retried request alone hands
    // nothing over.
    this.writer = new GroupCommit(db, (q, group, alone) => this.writeGroup(q, group, !alone), {
      maxWeight: MAX_ROWS_PER_COMMIT,
      weight: (r) => r.events.length * Math.max(1, r.fanOut),
      // writeGroup makes its own commit: on Postgres most often one statement (insertAtOnce), on
      // SQLite a job on the writer thread (insertOnThread).
      transaction: false,
      // SQLite: the next group is posted to the writer thread while the last one is written and
      // flushed there, as it was written on the event loop while the last one's flush ran.
      inFlight: db.dialect === 'sqlite' ? 2 : 1,
      observe: opts.observe,
    });
  }

  /**
   * `onlyEndpointId` limits the deliveries to one endpoint (test events).
   *
   * A request whose deliveries would exceed MAX_ROWS_PER_COMMIT is written in slices of whole
   * events, one transaction each, yielding the event loop between them so that other requests are
   * served meanwhile. Each event stays atomic with its deliveries; the request as a whole is not:
   * if the process stops part-way, the first slices are stored (a retry with the same idempotency
   * keys answers those events and writes the rest).
   */
  async write(tenantId: string, events: NewEvent[], opts: { onlyEndpointId?: string } = {}): Promise<AcceptedEvent[]> {
    const onlyEndpointId = opts.onlyEndpointId;
    const fanOut = onlyEndpointId ? 1 : events.length > 1 ? await this.countFanOut(tenantId) : (this.fanOuts.get(tenantId) ?? 1);
    const perSlice = Math.max(1, Math.floor(MAX_ROWS_PER_COMMIT / Math.max(1, fanOut)));
    if (events.length <= perSlice) return this.committed(await this.writer.submit({ tenantId, events, onlyEndpointId, fanOut }));
    // Refuse a reused key before the first slice commits, so such a request stores nothing.
    await this.checkKeys(tenantId, events);
    const accepted: AcceptedEvent[] = [];
    for (let i = 0; i < events.length; i += perSlice) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      accepted.push(
        ...this.committed(await this.writer.submit({ tenantId, events: events.slice(i, i + perSlice), onlyEndpointId, fanOut })),
      );
    }
    return accepted;
  }

  private committed(accepted: AcceptedEvent[]): AcceptedEvent[] {
    let created = 0;
    for (const e of accepted) if (e.created) created++;
    if (created) this.onCommitted(created);
    return accepted;
  }

  /** The tenant's enabled endpoints: the most deliveries one of its events can have. */
  private async countFanOut(tenantId: string): Promise<number> {
    const row = await this.db.one<{ n: number | string }>(
      'SELECT count(*) AS n FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL AND enabled = 1',
      [tenantId],
    );
    const n = Number(row?.n ?? 0);
    this.noteFanOut(tenantId, n);
    return n;
  }

  private noteFanOut(tenantId: string, n: number): void {
    // An estimate per tenant, refreshed by every write: bounded, since tenants come and go.
    if (this.fanOuts.size >= 10_000 && !this.fanOuts.has(tenantId)) this.fanOuts.clear();
    this.fanOuts.set(tenantId, n);
  }

  /** Idempotency keys of `events` that an earlier event (or another event here) took with another request. */
  private async checkKeys(tenantId: string, events: NewEvent[]): Promise<void> {
    const hashes = new Map<string, string | undefined>();
    for (const e of events) {
      if (!e.idempotencyKey) continue;
      const before = hashes.get(e.idempotencyKey);
      if (before && e.requestHash && before !== e.requestHash) throw reused(e.idempotencyKey, null);
      hashes.set(e.idempotencyKey, before ?? e.requestHash);
    }
    const keys = [...hashes.keys()];
    for (const chunk of chunks(this.db.dialect, keys, 500)) {
      const rows = await this.db.all<{ id: string; idempotency_key: string; request_hash: string | null }>(
        `SELECT id, idempotency_key, request_hash FROM events WHERE tenant_id = $1 AND idempotency_key IN (${placeholders(chunk.length, 2)})`,
        [tenantId, ...chunk],
      );
      for (const r of rows) {
        const mine = hashes.get(r.idempotency_key);
        if (mine && r.request_hash && mine !== r.request_hash) throw reused(r.idempotency_key, r.id);
      }
    }
  }

  /**
   * Reads the subscribed endpoints of every tenant in the group (one query), reserves room in the
   * local worker for the deliveries, and inserts. A lease reserved here is handed back if nothing
   * was committed.
   *
   * The group is committed here: on Postgres as one statement when it can be (insertAtOnce), on
   * SQLite as a job on the writer thread (insertOnThread), otherwise in a transaction of its own.
   * On Postgres each statement of a transaction is a round trip that waits for a turn of this busy
   * event loop: a group written as BEGIN, five statements and COMMIT spent most of its time in those
   * waits. On SQLite the statements and the commit took the event loop's own time.
   */
  private async writeGroup(q: Queryable, group: Request[], handOver: boolean): Promise<GroupWrite<AcceptedEvent[]>> {
    const tenantIds = [...new Set(group.map((r) => r.tenantId))];
    const targets = await loadTargets(q, this.box, tenantIds);
    for (const t of tenantIds) this.noteFanOut(t, targets.get(t)?.length ?? 0);
    const rows = plan(group, targets);
    // A retried request alone hands nothing over; what it writes is due, and the worker woken for it.
    const handover = this.worker ? new Handover(this.worker) : null;
    const lease = handOver ? reserveFor(handover, rows) : null;
    let written: Written;
    try {
      if (!fitsOneStatement(group, rows)) written = await this.db.tx((t) => insertAnnounced(t, group, rows, lease, this.clock.now()));
      else if (this.db.dialect === 'sqlite') written = await insertOnThread(this.db, group, rows, lease, this.clock.now());
      else written = await insertAtOnce(this.db, group, rows, lease, this.clock.now());
    } catch (err) {
      handover?.abandon();
      throw err;
    }
    handover?.written(lease?.token ?? null, written.leased, written.deliveries - written.leased.length);
    return { results: written.results, failures: written.failures, afterCommit: () => handover?.commit() };
  }
}

/**
 * Room in the local worker for the deliveries of these rows that may go to it. Deliveries of
 * ordered or failing endpoints are never handed over: the claim query decides their turn (order;
 * circuit breaker). Nor are those of a group too large to hold in memory.
 */
function reserveFor(handover: Handover | null, rows: Row[]): { token: string; until: number } | null {
  if (!handover) return null;
  let wanted = 0;
  for (const r of rows) for (const t of r.targets) if (t.handOver) wanted++;
  return wanted && wanted <= MAX_HANDOVER ? handover.reserve(wanted) : null;
}

/** What a group's insert answers. */
interface Written {
  results: AcceptedEvent[][];
  /** Requests that failed although the group was committed (see insertAtOnce). */
  failures?: unknown[];
  /** The deliveries inserted leased to the local worker, to hand over once committed. */
  leased: ClaimedDelivery[];
  /** How many deliveries were inserted in all. */
  deliveries: number;
}

/**
 * insertGroup in the caller's transaction, and what was not handed over announced: other worker
 * nodes hear of it at the commit (Postgres). A group wholly handed over says nothing.
 */
async function insertAnnounced(
  q: Queryable,
  group: Request[],
  rows: Row[],
  lease: { token: string; until: number } | null,
  dueAt: number,
): Promise<Written> {
  const written = await insertGroup(q, group, rows, lease, dueAt);
  if (written.deliveries > written.leased.length) await announceWork(q, 'deliveries');
  return written;
}

/**
 * Writes events inside a transaction the caller already holds, with the other records they
 * announce (a billing record and its event commit together or not at all). With a `handover`, the
 * deliveries the local worker has room for are written leased to it, for the caller to hand over
 * once its transaction is durable (Handover.commit). The rest are due at once and unleased: the
 * commit tells other worker nodes (Postgres), and this node's worker is to be woken after it.
 * `dueAt`: now, by the database's clock where the caller has it (db/clock.ts).
 */
export async function insertEvents(
  q: Queryable,
  box: SecretBox,
  tenantId: string,
  events: NewEvent[],
  dueAt = Date.now(),
  handover: Handover | null = null,
): Promise<AcceptedEvent[]> {
  if (events.length === 0) return [];
  const group: Request[] = [{ tenantId, events, fanOut: 0 }];
  const rows = plan(group, await loadTargets(q, box, [tenantId]));
  const lease = reserveFor(handover, rows);
  const { results, deliveries, leased } = await insertGroup(q, group, rows, lease, dueAt);
  handover?.written(lease?.token ?? null, leased, deliveries - leased.length);
  if (deliveries > leased.length) await announceWork(q, 'deliveries');
  return results[0];
}

/** The enabled endpoints of these tenants, with what their deliveries need. */
async function loadTargets(q: Queryable, box: SecretBox, tenantIds: string[]): Promise<Map<string, Target[]>> {
  const now = Date.now();
  const rows = await q.all<EndpointRow & { id: string; tenant_id: string; event_types: string }>(
    `SELECT ep.id, ep.tenant_id, ep.event_types, ${ENDPOINT_COLUMNS}
       FROM endpoints ep JOIN tenants t ON t.id = ep.tenant_id
      WHERE ep.tenant_id IN (${placeholders(tenantIds.length)}) AND ep.deleted_at IS NULL AND ep.enabled = 1`,
    tenantIds,
  );
  const byTenant = new Map<string, Target[]>();
  for (const t of rows) {
    const list = byTenant.get(t.tenant_id) ?? [];
    list.push({
      id: t.id,
      types: JSON.parse(t.event_types) as string[],
      ...endpointFields(t, box, now),
      // A listen endpoint's deliveries wait for its listener (delivery/listenerFeed.ts).
      handOver: t.ordered !== 1 && t.consecutive_failures === 0 && t.kind !== 'listen',
    });
    byTenant.set(t.tenant_id, list);
  }
  return byTenant;
}

/** An event of a group as its statements store it: plain data, so that it can cross to the writer thread. */
interface EventRow {
  /** Which request of the group it belongs to. */
  request: number;
  id: string;
  tenantId: string;
  event: Omit<NewEvent, 'original'>;
  /** In progress, or no endpoints when none is subscribed. */
  status: EventStatus;
  createdAt: number;
  occurredAt: number;
}

interface Row extends EventRow {
  event: NewEvent;
  targets: Target[];
}

/** Ids, times and subscribed endpoints of every event of a group. */
function plan(group: Request[], targets: Map<string, Target[]>): Row[] {
  const now = Date.now();
  return group.flatMap((r, request) =>
    r.events.map((event) => {
      const subscribed = (targets.get(r.tenantId) ?? []).filter((t) =>
        r.onlyEndpointId ? t.id === r.onlyEndpointId : subscribes(t.types, event.type),
      );
      return {
        request,
        id: newId('evt', now),
        tenantId: r.tenantId,
        event,
        targets: subscribed,
        status: subscribed.length ? EventStatus.InProgress : EventStatus.NoEndpoints,
        createdAt: now,
        occurredAt: event.occurredAt ?? now,
      };
    }),
  );
}

/** One delivery a group plans, and whether it goes to the local worker already leased. */
interface Planned {
  id: string;
  row: Row;
  target: Target;
  leased: boolean;
}

/**
 * The deliveries of a group's inserted events (leased to the local worker when it has room and the
 * endpoint allows), and the full delivery objects of the leased ones, for the handover.
 */
function deliveriesOf(
  rows: Row[],
  inserted: (r: Row) => boolean,
  lease: { token: string; until: number } | null,
  now: number,
): { all: Planned[]; leased: ClaimedDelivery[] } {
  const all: Planned[] = [];
  for (const r of rows) {
    if (!inserted(r)) continue;
    for (const target of r.targets) all.push({ id: newId('dlv', now), row: r, target, leased: lease !== null && target.handOver });
  }
  const leased: ClaimedDelivery[] = [];
  for (const d of all) {
    if (!d.leased) continue;
    // Field by field: an object rest and spread here was a slow copy, 3-4 % of the main thread.
    const t = d.target;
    leased.push({
      id: d.id,
      eventId: d.row.id,
      endpointId: t.id,
      tenantId: d.row.tenantId,
      environment: t.environment,
      url: t.url,
      format: t.format,
      headers: t.headers,
      secrets: t.secrets,
      tenantToken: t.tenantToken,
      maxConcurrency: t.maxConcurrency,
      rateLimit: t.rateLimit,
      ordered: t.ordered,
      consecutiveFailures: t.consecutiveFailures,
      system: t.system,
      privateAllowed: t.privateAllowed,
      leaseToken: lease!.token,
      attempts: 0,
      scheduleStart: 0,
      type: d.row.event.type,
      payload: d.row.event.payload,
      occurredAt: d.row.occurredAt,
      createdAt: d.row.createdAt,
      traceParent: d.row.event.traceParent ?? null,
      endpointActive: true,
    });
    // As the claim query reads it: the received request, for an endpoint that wants it as it came.
    if (t.format === 'original' && d.row.event.original) leased[leased.length - 1].original = d.row.event.original;
  }
  return { all, leased };
}

async function insertGroup(
  q: Queryable,
  group: Request[],
  rows: Row[],
  lease: { token: string; until: number } | null,
  /** When the deliveries not handed over are due: now, by the database's clock where known. */
  dueAt: number,
): Promise<{ results: AcceptedEvent[][]; leased: ClaimedDelivery[]; deliveries: number }> {
  const now = rows[0]?.createdAt ?? Date.now();
  const planned = deliveriesOf(rows, () => true, lease, now);
  const stored = await storeRows(q, groupRows(group, rows, planned.all, lease, now, dueAt));
  const inserted = new Set(stored.inserted);
  // Thrown here, a conflict rolls the group back; the group commit then writes each request alone,
  // so only this one fails.
  const results = byRequest(group, rows).map((own) => answer(own, inserted, stored.prior));
  return { results, ...insertedOnly(planned, inserted) };
}

/**
 * SQLite: the group's statements run as a job on the writer thread (db/sqliteThread.ts) and its
 * commit is flushed there; the event loop only plans the group and answers it. A key used before
 * for another request fails only that request (`failures`), as on Postgres (insertAtOnce): its row
 * was not inserted. A request of several events with keys goes in a transaction here instead
 * (fitsOneStatement), which such a conflict rolls back whole.
 */
async function insertOnThread(
  db: Db,
  group: Request[],
  rows: Row[],
  lease: { token: string; until: number } | null,
  dueAt: number,
): Promise<Written> {
  const now = rows[0]?.createdAt ?? Date.now();
  const planned = deliveriesOf(rows, () => true, lease, now);
  const stored = await db.txJob(storeGroupJob, groupRows(group, rows, planned.all, lease, now, dueAt));
  const inserted = new Set(stored.inserted);
  return { ...answerEach(group, rows, inserted, stored.prior), ...insertedOnly(planned, inserted) };
}

/** The deliveries of the events that were inserted: all of them, counted, and the leased ones. */
function insertedOnly(planned: { all: Planned[]; leased: ClaimedDelivery[] }, inserted: Set<string>) {
  let deliveries = 0;
  for (const d of planned.all) if (inserted.has(d.row.id)) deliveries++;
  const leased = deliveries === planned.all.length ? planned.leased : planned.leased.filter((d) => inserted.has(d.eventId));
  return { leased, deliveries };
}

/** What a group's statements need, as plain data (storeGroupJob's input). */
interface GroupRows {
  events: EventRow[];
  deliveries: NewDelivery[];
  lease: { token: string; until: number } | null;
  now: number;
  dueAt: number;
}

function groupRows(
  group: Request[],
  rows: Row[],
  planned: Planned[],
  lease: { token: string; until: number } | null,
  now: number,
  dueAt: number,
): GroupRows {
  return {
    // Without the received request a forwarded event carries for the handover, and the targets.
    events: rows.map((r) => ({
      request: r.request,
      id: r.id,
      tenantId: r.tenantId,
      status: r.status,
      createdAt: r.createdAt,
      occurredAt: r.occurredAt,
      event: {
        type: r.event.type,
        payload: r.event.payload,
        occurredAt: r.event.occurredAt,
        idempotencyKey: r.event.idempotencyKey,
        requestHash: r.event.requestHash,
        inboundId: r.event.inboundId,
        traceParent: r.event.traceParent,
      },
    })),
    deliveries: planned.map((d) => ({ id: d.id, eventId: d.row.id, endpointId: d.target.id, tenantId: d.row.tenantId, leased: d.leased })),
    lease,
    now,
    dueAt,
  };
}

/** An earlier event with the idempotency key of a row that was not inserted. */
interface PriorEvent {
  id: string;
  type: string;
  status: AcceptedEvent['status'];
  created_at: number;
  occurred_at: number;
  request_hash: string | null;
}

/**
 * The group's statements: its events (a key seen before inserts none), the deliveries of those
 * inserted (leased to the local worker or due at once), and the accepted counts of the report
 * rollups. Answers which were inserted, and for each that was not, the earlier event with its key.
 */
async function storeRows(q: Queryable, g: GroupRows): Promise<{ inserted: string[]; prior: Record<string, PriorEvent> }> {
  const inserted = new Set<string>();
  for (const chunk of chunks(q.dialect, g.events, 500)) {
    const params: unknown[] = [];
    for (const r of chunk) pushEvent(params, r);
    const insert = `INSERT INTO events (${EVENT_COLUMNS})
       VALUES ${valuesRows(chunk.length, EVENT_WIDTH)}
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`;
    if (chunk.some((r) => r.event.idempotencyKey !== undefined)) {
      // Only a key seen before skips a row: ask which were inserted.
      const ids = await q.all<{ id: string }>(`${insert} RETURNING id`, params);
      for (const { id } of ids) inserted.add(id);
    } else {
      // New ids and no keys: every row goes in, and no answer is needed.
      await q.run(insert, params);
      for (const r of chunk) inserted.add(r.id);
    }
  }
  // Leased to the local worker: due when the lease ends (if nobody finishes them by then, they are
  // claimed like any other). Unleased: due now.
  await insertDeliveries(
    q,
    inserted.size === g.events.length ? g.deliveries : g.deliveries.filter((d) => inserted.has(d.eventId)),
    g.lease,
    g.now,
    g.dueAt,
  );
  await countAccepted(
    q,
    g.events.filter((r) => inserted.has(r.id)),
  );
  return { inserted: [...inserted], prior: await priorEvents(q, g.events, inserted) };
}

/** storeRows as a job (db.ts, TxJob): on SQLite it runs on the writer thread. */
export const storeGroupJob: TxJob<GroupRows, { inserted: string[]; prior: Record<string, PriorEvent> }> = {
  module: import.meta.url,
  name: 'storeGroupJob',
  run: storeRows,
};

const EVENT_COLUMNS =
  'id, tenant_id, type, payload, status, idempotency_key, occurred_at, created_at, inbound_id, request_hash, trace_parent';
const EVENT_WIDTH = 11;

function pushEvent(params: unknown[], r: EventRow): void {
  params.push(
    r.id,
    r.tenantId,
    r.event.type,
    r.event.payload,
    r.status,
    r.event.idempotencyKey ?? null,
    r.occurredAt,
    r.createdAt,
    r.event.inboundId ?? null,
    r.event.requestHash ?? null,
    r.event.traceParent ?? null,
  );
}

/** The rows of each request of the group, in order (plan writes them request after request). */
function byRequest<R extends EventRow>(group: Request[], rows: R[]): R[][] {
  const out: R[][] = group.map(() => []);
  for (const r of rows) out[r.request].push(r);
  return out;
}

/**
 * What one request (its rows) is answered: its events as inserted, or, for an idempotency key seen
 * before (in an earlier request or earlier in this group), the event that has it (`prior`, by the
 * id of the row that was not inserted; `lookup`, thrown when it is missing, is why it could not be
 * read). The same key for a different request throws (409).
 */
function answer(rows: EventRow[], inserted: Set<string>, prior: Record<string, PriorEvent>, lookup?: Error): AcceptedEvent[] {
  const out: AcceptedEvent[] = [];
  for (const r of rows) {
    if (inserted.has(r.id)) {
      out.push({ id: r.id, type: r.event.type, status: r.status, createdAt: r.createdAt, occurredAt: r.occurredAt, created: true });
      continue;
    }
    const p = prior[r.id];
    if (!p) throw lookup ?? new Error(`no earlier event has the idempotency key "${r.event.idempotencyKey}"`);
    if (r.event.requestHash && p.request_hash && p.request_hash !== r.event.requestHash) throw reused(r.event.idempotencyKey!, p.id);
    out.push({ id: p.id, type: p.type, status: p.status, createdAt: p.created_at, occurredAt: p.occurred_at, created: false });
  }
  return out;
}

/**
 * Each request's answer for a group already committed (insertOnThread, insertAtOnce): a request
 * that fails (its key used before for another request) fails alone, in `failures`.
 */
function answerEach(
  group: Request[],
  rows: Row[],
  inserted: Set<string>,
  prior: Record<string, PriorEvent>,
  lookup?: Error,
): { results: AcceptedEvent[][]; failures: unknown[] } {
  const results: AcceptedEvent[][] = [];
  const failures: unknown[] = [];
  for (const own of byRequest(group, rows)) {
    try {
      results.push(answer(own, inserted, prior, lookup));
      failures.push(undefined);
    } catch (err) {
      results.push([]);
      failures.push(err);
    }
  }
  return { results, failures };
}

/** The earlier events of the rows not inserted, by the ids of those rows (see answer). */
async function priorEvents(q: Queryable, rows: EventRow[], inserted: Set<string>): Promise<Record<string, PriorEvent>> {
  const prior: Record<string, PriorEvent> = {};
  for (const r of rows) {
    if (inserted.has(r.id)) continue;
    prior[r.id] = (await q.one<PriorEvent>(
      'SELECT id, type, status, created_at, occurred_at, request_hash FROM events WHERE tenant_id = $1 AND idempotency_key = $2',
      [r.tenantId, r.event.idempotencyKey],
    ))!;
  }
  return prior;
}

/** Postgres's limit on one statement's parameters is 65,535: a group stays well below it. */
const MAX_PARAMETERS = 30_000;
const DELIVERY_WIDTH = 6;

/**
 * Whether a group can go as one statement (insertAtOnce): its parameters fit, and no request has
 * more than one event with an idempotency key. A key seen before with another request fails its
 * request after the statement has committed; for a single event that stores nothing of the request
 * (its row was not inserted), but a batch would keep its other events. Those go in a transaction,
 * which a conflict rolls back.
 */
function fitsOneStatement(group: Request[], rows: Row[]): boolean {
  if (rows.length === 0) return false;
  let deliveries = 0;
  for (const r of rows) deliveries += r.targets.length;
  if (rows.length * EVENT_WIDTH + deliveries * DELIVERY_WIDTH + 1 > MAX_PARAMETERS) return false;
  return group.every((r) => r.events.length === 1 || r.events.every((e) => e.idempotencyKey === undefined));
}

/**
 * The whole group in one Postgres statement, committed on its own: the events, their deliveries
 * (of the events inserted: a key seen before inserts neither), the accepted counts of the report
 * rollups, and the NOTIFY for other worker nodes when some deliveries were not handed over. The
 * data-modifying CTEs run together and commit together; the deliveries' foreign key to the events
 * is checked at the end of the statement, when the events are in.
 *
 * Answers like insertGroup. A request whose key was used before for another request is answered
 * with its error in `failures`; nothing of it was stored.
 */
async function insertAtOnce(
  db: Queryable,
  group: Request[],
  rows: Row[],
  lease: { token: string; until: number } | null,
  dueAt: number,
): Promise<Written> {
  const now = rows[0]?.createdAt ?? Date.now();
  const planned = deliveriesOf(rows, () => true, lease, now);
  const params: unknown[] = [];
  for (const r of rows) pushEvent(params, r);
  let sql = `WITH ev AS (
      INSERT INTO events (${EVENT_COLUMNS}) VALUES ${valuesRows(rows.length, EVENT_WIDTH)}
      ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
      RETURNING id, tenant_id, type, created_at
    )`;
  if (planned.all.length) {
    const from = params.length + 1;
    for (const d of planned.all)
      params.push(d.id, d.row.id, d.target.id, d.row.tenantId, d.leased ? lease!.until : dueAt, d.leased ? lease!.token : null);
    params.push(now);
    sql += `, dl AS (
      INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, lease_token, created_at, updated_at)
      SELECT v.id, v.event_id, v.endpoint_id, v.tenant_id, '${DeliveryStatus.InProgress}', 0, v.due_at, v.lease_token, $${params.length}, $${params.length}
        FROM (VALUES ${valuesRows(planned.all.length, DELIVERY_TYPES, from)}) AS v (id, event_id, endpoint_id, tenant_id, due_at, lease_token)
       WHERE v.event_id IN (SELECT id FROM ev)
    )`;
  }
  // countAccepted's rows (reports/sql/rollups.ts), counted from what was inserted, in key order.
  sql += `, ru AS (
      INSERT INTO delivery_rollups (${ROLLUP_KEY}, accepted, delivered, failed)
      SELECT tenant_id, created_at - created_at % ${HOUR_MS}, type, '', -1, count(*), 0, 0
        FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (${ROLLUP_KEY}) DO UPDATE SET accepted = delivery_rollups.accepted + excluded.accepted
    )`;
  // pg_notify is sent at the commit, as announceWork's is; a group wholly handed over says nothing.
  const announce = planned.all.some((d) => !d.leased);
  sql += announce ? ` SELECT id, ${announceInStatement('deliveries')} AS announced FROM ev` : ' SELECT id FROM ev';
  const inserted = new Set((await db.all<{ id: string }>(sql, params)).map((r) => r.id));

  // Committed. Nothing below may throw for the group: a failure is its request's alone (a lookup
  // of earlier events that fails fails only the requests that needed one).
  let prior: Record<string, PriorEvent> = {};
  let lookup: Error | undefined;
  try {
    prior = await priorEvents(db, rows, inserted);
  } catch (err) {
    lookup = err instanceof Error ? err : new Error(String(err));
  }
  return { ...answerEach(group, rows, inserted, prior, lookup), ...insertedOnly(planned, inserted) };
}

const DELIVERY_TYPES = ['text', 'text', 'text', 'text', 'bigint', 'text'] as const;
