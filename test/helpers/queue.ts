import { after, before, beforeEach } from 'node:test';
import type { Db, Dialect } from '../../src/db/db.js';
import { migrate } from '../../src/db/migrate.js';
import { chunks, valuesRows } from '../../src/db/sql.js';
import type { AttemptOutcome } from '../../src/delivery/sql/recordAttempts.js';
import { DeliveryStatus, EventStatus } from '../../src/delivery/status.js';
import { SecretBox } from '../../src/secrets/secretBox.js';
import { freshDatabase, TEST_SECRET_KEY, type TestDatabase } from './db.js';

// Rows for tests that call the queue's SQL directly (claim, record, recover, health): a migrated
// database of the test file's own, and builders that write tenants, endpoints, events and
// deliveries as the statements under test will find them. Every time is relative to NOW, the
// fixed clock the tests pass as `now`.

/** The fixed "now" of the SQL tests. */
export const NOW = 1_700_000_000_000;

/**
 * The outcome of attempt 1 of a delivery to endpoint ep_a of tenant ta, held under lease "mine":
 * a 200 in 40 ms, delivered, unless `o` says otherwise.
 */
export const outcomeOf = (deliveryId: string, o: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
  deliveryId,
  eventId: `evt_${deliveryId}`,
  endpointId: 'ep_a',
  owner: null,
  tenantId: 'ta',
  eventType: 'thing.happened',
  eventCreatedAt: NOW - 60_000,
  leaseToken: 'mine',
  attempt: 1,
  startedAt: NOW - 50,
  durationMs: 40,
  statusCode: 200,
  error: null,
  responseBody: 'ok',
  next: { status: DeliveryStatus.Succeeded },
  attempted: true,
  ...o,
});
/** The environment every fixture tenant is in. */
export const ENV = 'sandbox';

export interface EndpointOptions {
  url?: string;
  format?: 'standard' | 'productfy' | 'original';
  headers?: Record<string, string>;
  ordered?: boolean;
  enabled?: boolean;
  disabledReason?: string | null;
  deletedAt?: number | null;
  circuitOpenUntil?: number | null;
  consecutiveFailures?: number;
  failingSince?: number | null;
  disabledAt?: number | null;
  previousSecrets?: { secret: string; until: number }[];
  /** `listen`: an endpoint of `herald listen`, expiring at `expiresAt`. */
  kind?: 'http' | 'listen';
  expiresAt?: number | null;
}

export interface DeliveryOptions {
  endpoint: string;
  /** The event; made (in progress) when the fixture has not made it yet. Default: `evt_<delivery id>`. */
  event?: string;
  status?: DeliveryStatus;
  /** Default: due a second ago. */
  dueAt?: number | null;
  leaseToken?: string | null;
  attempts?: number;
  scheduleStart?: number;
  lastStatusCode?: number | null;
  createdAt?: number;
}

/** A delivery as stored. */
export interface StoredDelivery {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: DeliveryStatus;
  attempts: number;
  schedule_start: number;
  due_at: number | null;
  lease_token: string | null;
  last_status_code: number | null;
  last_error: string | null;
  updated_at: number;
}

/** An endpoint's health columns as stored. */
export interface StoredHealth {
  consecutive_failures: number;
  failing_since: number | null;
  circuit_open_until: number | null;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
}

export class QueueFixture {
  /** The real secret box: endpoint secrets and tenant tokens are stored sealed, as Herald stores them. */
  readonly box = new SecretBox(TEST_SECRET_KEY);
  private readonly tenantOf = new Map<string, string>();
  private readonly events = new Set<string>();

  private opened: { database: TestDatabase; db: Db } | null = null;

  private constructor(readonly dialect: Dialect) {}

  /** The fixture's database (open between `open()` and `close()`). */
  get db(): Db {
    if (!this.opened) throw new Error('the queue fixture is not open: use it inside a test of its describe block');
    return this.opened.db;
  }

  get database(): TestDatabase {
    if (!this.opened) throw new Error('the queue fixture is not open: use it inside a test of its describe block');
    return this.opened.database;
  }

  static async open(dialect: Dialect): Promise<QueueFixture> {
    const f = new QueueFixture(dialect);
    const database = await freshDatabase(dialect);
    const db = database.open();
    await migrate(db);
    await db.run(`INSERT INTO environments (id, name, created_at) VALUES ($1, $1, 0)`, [ENV]);
    f.opened = { database, db };
    return f;
  }

  /**
   * The fixture of one describe block, to be called inside it: a fresh database opened before the
   * block's tests and dropped after them, emptied before each test, then given the rows `seed`
   * writes (what every test of the block starts from).
   */
  static forEachTest(dialect: Dialect, seed: (f: QueueFixture) => Promise<void> = async () => {}): QueueFixture {
    const f = new QueueFixture(dialect);
    before(async () => {
      f.opened = (await QueueFixture.open(dialect)).opened;
    });
    after(() => f.close());
    beforeEach(async () => {
      await f.reset();
      await seed(f);
    });
    return f;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    const { db, database } = this.opened;
    this.opened = null;
    await db.close();
    await database.drop();
  }

  /** Empties every table the fixtures write (between tests). */
  async reset(): Promise<void> {
    for (const table of ['attempts', 'recoveries', 'deliveries', 'events', 'inbound_messages', 'sources', 'endpoints', 'tenants']) {
      await this.db.run(`DELETE FROM ${table}`);
    }
    this.tenantOf.clear();
    this.events.clear();
  }

  async tenant(id: string, opts: { system?: boolean } = {}): Promise<void> {
    await this.db.run(
      `INSERT INTO tenants (id, environment_id, uid, name, token, system, created_at, updated_at) VALUES ($1, $2, $1, $1, $3, $4, 0, 0)`,
      [id, ENV, this.box.seal(`token-of-${id}`), opts.system ? 1 : 0],
    );
  }

  /** A source of the tenant (its secret is not used by the queries under test). */
  async source(id: string, tenantId: string, provider: string): Promise<void> {
    await this.db.run(
      `INSERT INTO sources (id, tenant_id, provider, name, secret, created_at, updated_at) VALUES ($1, $2, $3, $1, 'x', 0, 0)`,
      [id, tenantId, provider],
    );
  }

  async endpoint(id: string, tenantId: string, o: EndpointOptions = {}): Promise<void> {
    this.tenantOf.set(id, tenantId);
    const previous = (o.previousSecrets ?? []).map((p) => ({ secret: this.box.seal(p.secret), until: p.until }));
    await this.db.run(
      `INSERT INTO endpoints (id, tenant_id, url, format, headers, secret, previous_secrets, ordered, enabled, disabled_reason, disabled_at, deleted_at,
                              circuit_open_until, consecutive_failures, failing_since, kind, expires_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 0, 0)`,
      [
        id,
        tenantId,
        o.url ?? `http://127.0.0.1:9/${id}`,
        o.format ?? 'standard',
        JSON.stringify(o.headers ?? {}),
        this.box.seal(`whsec_${id}`),
        JSON.stringify(previous),
        o.ordered ? 1 : 0,
        o.enabled === false ? 0 : 1,
        o.disabledReason ?? null,
        o.disabledAt ?? null,
        o.deletedAt ?? null,
        o.circuitOpenUntil ?? null,
        o.consecutiveFailures ?? 0,
        o.failingSince ?? null,
        o.kind ?? 'http',
        o.expiresAt ?? null,
      ],
    );
  }

  async event(id: string, tenantId: string, o: { status?: EventStatus; inboundId?: string; createdAt?: number } = {}): Promise<void> {
    this.events.add(id);
    await this.db.run(
      `INSERT INTO events (id, tenant_id, type, payload, status, inbound_id, occurred_at, created_at) VALUES ($1, $2, 'thing.happened', '{"n":1}', $3, $4, $5, $5)`,
      [id, tenantId, o.status ?? EventStatus.InProgress, o.inboundId ?? null, o.createdAt ?? NOW - 60_000],
    );
  }

  async delivery(id: string, o: DeliveryOptions): Promise<void> {
    const tenantId = this.tenantOf.get(o.endpoint);
    if (!tenantId) throw new Error(`make endpoint ${o.endpoint} with fixture.endpoint() first`);
    const eventId = o.event ?? `evt_${id}`;
    if (!this.events.has(eventId)) await this.event(eventId, tenantId);
    const status = o.status ?? DeliveryStatus.InProgress;
    await this.db.run(
      `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, schedule_start, due_at, lease_token, last_status_code, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)`,
      [
        id,
        eventId,
        o.endpoint,
        tenantId,
        status,
        o.attempts ?? 0,
        o.scheduleStart ?? 0,
        o.dueAt !== undefined ? o.dueAt : status === DeliveryStatus.InProgress ? NOW - 1000 : null,
        o.leaseToken ?? null,
        o.lastStatusCode ?? null,
        o.createdAt ?? NOW - 60_000,
      ],
    );
  }

  /** Many in-progress deliveries of one endpoint and one event, in few statements (chunk-size tests). */
  async manyDeliveries(endpoint: string, event: string, rows: { id: string; leaseToken: string | null; dueAt: number }[]): Promise<void> {
    const tenantId = this.tenantOf.get(endpoint)!;
    if (!this.events.has(event)) await this.event(event, tenantId);
    for (const chunk of chunks(this.db.dialect, rows, 500)) {
      const params: unknown[] = [event, endpoint, tenantId, DeliveryStatus.InProgress];
      for (const r of chunk) params.push(r.id, r.dueAt, r.leaseToken);
      await this.db.run(
        `WITH v (id, due_at, lease_token) AS (VALUES ${valuesRows(chunk.length, ['text', 'bigint', 'text'], 5)})
         INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, due_at, lease_token, created_at, updated_at)
         SELECT v.id, $1, $2, $3, $4, v.due_at, v.lease_token, 0, 0 FROM v`,
        params,
      );
    }
  }

  async storedDelivery(id: string): Promise<StoredDelivery | undefined> {
    return this.db.one<StoredDelivery>(
      'SELECT id, event_id, endpoint_id, status, attempts, schedule_start, due_at, lease_token, last_status_code, last_error, updated_at FROM deliveries WHERE id = $1',
      [id],
    );
  }

  async eventStatus(id: string): Promise<string | undefined> {
    return (await this.db.one<{ status: string }>('SELECT status FROM events WHERE id = $1', [id]))?.status;
  }

  async health(endpointId: string): Promise<StoredHealth | undefined> {
    return this.db.one<StoredHealth>(
      'SELECT consecutive_failures, failing_since, circuit_open_until, enabled, disabled_reason, disabled_at FROM endpoints WHERE id = $1',
      [endpointId],
    );
  }
}
