import type { BodyFormat } from '../../endpoints/endpoints.js';
import type { Db } from '../../db/db.js';
import { placeholders } from '../../db/sql.js';
import { signingSecrets } from '../../endpoints/endpoints.js';
import type { SecretBox } from '../../secrets/secretBox.js';
import { DeliveryStatus } from '../status.js';

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  tenantId: string;
  /** The tenant's environment: production deliveries go through the SSRF guard. */
  environment: 'sandbox' | 'production';
  leaseToken: string;
  /** Attempts made so far (all rounds). */
  attempts: number;
  /** Attempts made before the last manual resend: the retry schedule counts from here. */
  scheduleStart: number;
  type: string;
  payload: string;
  occurredAt: number;
  createdAt: number;
  /** W3C traceparent of the span that accepted the event, when tracing was on then. */
  traceParent: string | null;
  url: string;
  format: BodyFormat;
  /** Format "original" and an event forwarded from a source: the request as it was received. */
  original?: { headers: Record<string, string>; body: Buffer };
  headers: Record<string, string>;
  /** False when the endpoint was disabled or deleted after the event was accepted. */
  endpointActive: boolean;
  /** Why not active: "deleted", or the endpoint's disabled reason (claimed deliveries only). */
  endpointGone?: string | null;
  secrets: string[];
  tenantToken: string;
  maxConcurrency: number | null;
  rateLimit: number | null;
  ordered: boolean;
  /** Failures in a row so far: at the circuit threshold, deliveries go one at a time (probes). */
  consecutiveFailures: number;
  /** The operator's own tenant: no operational events are raised about its endpoints. */
  system: boolean;
  /** Connections to this endpoint skip the address guard (see endpoints/urlPolicy.ts). */
  privateAllowed: boolean;
}

// Claiming moves `due_at` to the end of the lease and stamps a lease token, in one statement.
// A worker that dies simply never finishes: when `due_at` passes, the delivery is due again and
// any worker takes it (at-least-once; receivers deduplicate on webhook-id). Completion checks the
// token, so a worker whose lease ran out cannot overwrite the newer owner's result. `$1` is the
// database's clock as this node measured it (db/clock.ts): a node whose own clock runs ahead must
// not see live leases as expired.
//
// Filters keep one endpoint or one tenant from hurting the others: endpoints this node has
// saturated ($5: its concurrency cap or rate limit is reached) and tenants holding their share of
// this node's slots ($6, HERALD_TENANT_CONCURRENCY) are skipped, so their backlog does not fill
// the batch and whatever is due behind it is found; an endpoint whose circuit is open is skipped
// until the circuit half-opens; and for an ordered endpoint a delivery is taken only when no
// earlier one of that endpoint is still in progress (deliveries_endpoint_pending answers that).
// Skipping costs a walk over the skipped rows of the index: paid only while some tenant or
// endpoint is at its cap, and bounded by what it has due.
//
// Fairness. The query reads a window of the oldest due rows ($7, twice the batch: in due order
// from the partial index deliveries_due, so the plan stays an index scan under a LIMIT however
// large the table), ranks them per tenant (a window function), and takes the batch ($2)
// round-robin: the first row of every tenant, then the second, ... with the tenants this node is
// least busy with ($8: deliveries each tenant holds here) first, and no tenant beyond its
// remaining share ($9 minus what it holds). A batch therefore interleaves tenants instead of
// serving the oldest tenant's whole backlog before anyone else.
//
// Postgres: FOR UPDATE SKIP LOCKED lets many workers on many nodes claim at once without waiting
// on each other's rows. A window function cannot share a query level with FOR UPDATE, so the
// window is locked first and the batch chosen from it: the rows of the window not chosen stay
// locked until this statement commits (milliseconds), and a concurrent claim on another node
// skips them and reads the next rows instead. The price is a looser due order across nodes for
// that instant and twice the row locks of a plain claim; the gain is that two nodes never wait on
// or double-claim each other's rows. SQLite has one writer at a time, so a plain
// UPDATE … WHERE id IN (…) is atomic.
//
// One look at the delivery's endpoint (by primary key) answers all three: a listen endpoint, circuit
// open, or ordered with an earlier delivery still in progress. Asked as one NOT EXISTS so the
// planner checks `ordered` before it walks deliveries_endpoint_pending: written as two subqueries,
// Postgres walked every earlier in-progress delivery of every endpoint first (hundreds of
// milliseconds per claim under a large backlog) and only then found the endpoint was not ordered.
//
// Listen endpoints (`herald listen`, delivery/listenerFeed.ts) are never sent by a worker: the CLI
// pulls their deliveries through claimListenerDeliveries.ts. Checked here, on the endpoint row the
// claim reads anyway, rather than as a column of deliveries in the partial index: the plan stays
// the same index scan of deliveries_due, and the price is a walk over a listener's due rows while
// it has any (a connected listener takes them within a poll; an abandoned one expires in
// HERALD_LISTEN_EXPIRY, which fails them).
const ENDPOINT_HOLDS = (d: string) => `
  NOT EXISTS (
    SELECT 1 FROM endpoints ep
     WHERE ep.id = ${d}.endpoint_id
       AND (ep.kind = 'listen'
            OR ep.circuit_open_until > $1
            OR (ep.ordered = 1 AND EXISTS (SELECT 1 FROM deliveries p WHERE p.endpoint_id = ep.id AND p.status = '${DeliveryStatus.InProgress}' AND p.id < ${d}.id))))`;

// From the window `w` (id, tenant_id, due_at) and the loads `l` (tenant_id, load): each row's rank
// within its tenant, and the batch. (Ranking per endpoint as well cost SQLite a second sort for
// little: an endpoint that crowds its tenant's rows is held to its cap and then skipped.)
const CHOOSE = (window: string, loads: string) => `
  SELECT id FROM (
    SELECT w.id, w.due_at, COALESCE(l.load, 0) AS load,
           row_number() OVER (PARTITION BY w.tenant_id ORDER BY w.due_at) AS tr
      FROM ${window} w
      LEFT JOIN ${loads} l ON l.tenant_id = w.tenant_id) ranked
   WHERE tr <= $9 - load
   ORDER BY load + tr, due_at
   LIMIT $2`;

/** The claim statement of each dialect (exported for the test that reads its plan). */
export const CLAIM = {
  postgres: `
    WITH due AS (
      SELECT d.id, d.tenant_id, d.endpoint_id, d.due_at FROM deliveries d
       WHERE d.status = '${DeliveryStatus.InProgress}' AND d.due_at <= $1
         AND NOT (d.endpoint_id = ANY($5::text[]))
         AND NOT (d.tenant_id = ANY($6::text[]))
         AND ${ENDPOINT_HOLDS('d')}
       ORDER BY d.due_at
       LIMIT $7
       FOR UPDATE OF d SKIP LOCKED
    ),
    chosen AS (${CHOOSE('due', '(SELECT key AS tenant_id, CAST(value AS integer) AS load FROM jsonb_each_text(CAST($8 AS jsonb)))')})
    UPDATE deliveries d SET due_at = $3, lease_token = $4, updated_at = $1
      FROM chosen WHERE d.id = chosen.id
    RETURNING d.id`,
  sqlite: `
    UPDATE deliveries SET due_at = $3, lease_token = $4, updated_at = $1
     WHERE id IN (${CHOOSE(
       `(SELECT d.id, d.tenant_id, d.endpoint_id, d.due_at FROM deliveries d
          WHERE d.status = '${DeliveryStatus.InProgress}' AND d.due_at <= $1
            AND d.endpoint_id NOT IN (SELECT value FROM json_each($5))
            AND d.tenant_id NOT IN (SELECT value FROM json_each($6))
            AND ${ENDPOINT_HOLDS('d')}
          ORDER BY d.due_at LIMIT $7)`,
       '(SELECT key AS tenant_id, value AS load FROM json_each($8))',
     )})
    RETURNING id`,
};

/**
 * The endpoint and tenant columns a delivery needs (`ep`, `t`), and their mapping: read the same
 * way by the claim query and by the outbox writer's in-memory handover.
 */
export const ENDPOINT_COLUMNS = `ep.url, ep.format, ep.headers, ep.secret, ep.previous_secrets, ep.private_allowed,
         ep.max_concurrency, ep.rate_limit, ep.ordered, ep.consecutive_failures, ep.kind,
         t.token, t.environment_id, t.system`;

export type EndpointFields = Pick<
  ClaimedDelivery,
  | 'url'
  | 'format'
  | 'headers'
  | 'secrets'
  | 'tenantToken'
  | 'environment'
  | 'maxConcurrency'
  | 'rateLimit'
  | 'ordered'
  | 'consecutiveFailures'
  | 'system'
  | 'privateAllowed'
>;

/** The columns of ENDPOINT_COLUMNS as both dialects read them (flags are 0/1 integers). */
export interface EndpointRow {
  url: string;
  format: ClaimedDelivery['format'];
  /** JSON object. */
  headers: string;
  secret: string;
  /** JSON array of { secret, until }. */
  previous_secrets: string;
  private_allowed: number;
  max_concurrency: number | null;
  rate_limit: number | null;
  ordered: number;
  consecutive_failures: number;
  /** `listen`: never handed to a worker (see ENDPOINT_HOLDS). */
  kind: 'http' | 'listen';
  token: string;
  environment_id: ClaimedDelivery['environment'];
  system: number;
}

export function endpointFields(r: EndpointRow, box: SecretBox, now: number): EndpointFields {
  return {
    url: r.url,
    format: r.format,
    headers: JSON.parse(r.headers) as Record<string, string>,
    // Earlier secrets keep signing until their overlap after a rotation ends.
    secrets: signingSecrets(box, r.secret, r.previous_secrets, now),
    tenantToken: box.open(r.token),
    environment: r.environment_id,
    maxConcurrency: r.max_concurrency,
    rateLimit: r.rate_limit,
    ordered: r.ordered === 1,
    consecutiveFailures: r.consecutive_failures,
    system: r.system === 1,
    privateAllowed: r.private_allowed === 1,
  };
}

// Everything a worker needs to send, in one read: the event, the endpoint and its secrets, the
// tenant's token.
const DETAILS = (n: number) => `
  SELECT d.id, d.event_id, d.endpoint_id, d.tenant_id, d.lease_token, d.attempts, d.schedule_start,
         e.type, e.payload, e.occurred_at, e.created_at, e.trace_parent, ep.enabled, ep.deleted_at, ep.disabled_reason,
         im.headers AS original_headers, im.body AS original_body,
         ${ENDPOINT_COLUMNS}
    FROM deliveries d
    JOIN events e ON e.id = d.event_id
    JOIN endpoints ep ON ep.id = d.endpoint_id
    JOIN tenants t ON t.id = d.tenant_id
    LEFT JOIN inbound_messages im ON im.id = e.inbound_id AND ep.format = 'original'
   WHERE d.id IN (${placeholders(n)})`;

interface DetailsRow extends EndpointRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  tenant_id: string;
  lease_token: string;
  attempts: number;
  schedule_start: number;
  type: string;
  payload: string;
  occurred_at: number;
  created_at: number;
  trace_parent: string | null;
  enabled: number;
  deleted_at: number | null;
  disabled_reason: string | null;
  /** Format "original" and a forwarded event: the received request (else null). */
  original_headers: string | null;
  original_body: Uint8Array | null;
}

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  leaseToken: string;
  /** Endpoints this node cannot send more to right now. */
  skipEndpoints?: string[];
  /** Tenants holding their share of this node's slots. */
  skipTenants?: string[];
  /** Deliveries each tenant holds on this node now (absent: none). */
  tenantLoads?: Record<string, number>;
  /** The most deliveries one tenant may hold on this node (default: no limit beyond `limit`). */
  tenantCap?: number;
  /** The database's time (db/clock.ts). */
  now?: number;
}

export async function claimDueDeliveries(db: Db, box: SecretBox, opts: ClaimOptions): Promise<ClaimedDelivery[]> {
  const now = opts.now ?? Date.now();
  const list = (xs: string[] | undefined) => (db.dialect === 'postgres' ? (xs ?? []) : JSON.stringify(xs ?? []));
  const ids = await db.all<{ id: string }>(CLAIM[db.dialect], [
    now,
    opts.limit,
    now + opts.leaseMs,
    opts.leaseToken,
    list(opts.skipEndpoints),
    list(opts.skipTenants),
    opts.limit * 2,
    JSON.stringify(opts.tenantLoads ?? {}),
    opts.tenantCap ?? opts.limit,
  ]);
  return readClaimed(
    db,
    box,
    ids.map((r) => r.id),
    now,
  );
}

/** What a worker needs to send each of these claimed deliveries (the claim of a listener reads it too). */
export async function readClaimed(db: Db, box: SecretBox, ids: string[], now: number): Promise<ClaimedDelivery[]> {
  if (ids.length === 0) return [];
  const rows = await db.all<DetailsRow>(DETAILS(ids.length), ids);
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    tenantId: r.tenant_id,
    leaseToken: r.lease_token,
    attempts: r.attempts,
    scheduleStart: r.schedule_start,
    type: r.type,
    payload: r.payload,
    occurredAt: r.occurred_at,
    createdAt: r.created_at,
    traceParent: r.trace_parent,
    endpointActive: r.enabled === 1 && r.deleted_at === null,
    endpointGone: r.deleted_at !== null ? 'deleted' : r.enabled === 1 ? null : (r.disabled_reason ?? 'disabled'),
    ...endpointFields(r, box, now),
    ...(r.original_body
      ? { original: { headers: JSON.parse(r.original_headers!) as Record<string, string>, body: Buffer.from(r.original_body) } }
      : {}),
  }));
}
