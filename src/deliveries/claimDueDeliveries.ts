import type { Db } from '../db/db.js';
import { signingSecrets } from '../endpoints/endpoints.js';
import type { SecretBox } from '../secrets/secretBox.js';

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
  url: string;
  format: 'standard' | 'productfy' | 'original';
  /** Format "original" and an event forwarded from a source: the request as it was received. */
  original?: { headers: Record<string, string>; body: Buffer };
  headers: Record<string, string>;
  /** False when the endpoint was disabled or deleted after the event was accepted. */
  endpointActive: boolean;
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
// token, so a worker whose lease ran out cannot overwrite the newer owner's result.
//
// Postgres: FOR UPDATE SKIP LOCKED lets many workers on many nodes claim at once without waiting
// on each other's rows; ORDER BY due_at serves the oldest first and reads the partial index
// deliveries_due. SQLite has one writer at a time, so a plain UPDATE … WHERE id IN (…) is atomic.
//
// Two filters keep one endpoint from hurting the others: endpoints this node has saturated ($5,
// its concurrency cap or rate limit is reached) are skipped, so their backlog does not fill the
// batch; and for an ordered endpoint a delivery is taken only when no earlier one of that endpoint
// is still in progress (deliveries_endpoint_pending answers that).
// An endpoint whose circuit is open (endpoints/health) is skipped until the circuit half-opens.
const CIRCUIT_OPEN = (d: string) => `
  NOT EXISTS (SELECT 1 FROM endpoints c WHERE c.id = ${d}.endpoint_id AND c.circuit_open_until > $1)`;

const ORDERED_WAIT = (d: string) => `
  NOT EXISTS (
    SELECT 1 FROM endpoints ep JOIN deliveries p ON p.endpoint_id = ep.id AND p.status = 'I' AND p.id < ${d}.id
     WHERE ep.id = ${d}.endpoint_id AND ep.ordered = 1)`;

const CLAIM = {
  postgres: `
    WITH due AS (
      SELECT d.id FROM deliveries d
       WHERE d.status = 'I' AND d.due_at <= $1
         AND NOT (d.endpoint_id = ANY($5::text[]))
         AND ${CIRCUIT_OPEN('d')}
         AND ${ORDERED_WAIT('d')}
       ORDER BY d.due_at
       LIMIT $2
       FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE deliveries d SET due_at = $3, lease_token = $4, updated_at = $1
      FROM due WHERE d.id = due.id
    RETURNING d.id`,
  sqlite: `
    UPDATE deliveries SET due_at = $3, lease_token = $4, updated_at = $1
     WHERE id IN (
       SELECT d.id FROM deliveries d
        WHERE d.status = 'I' AND d.due_at <= $1
          AND d.endpoint_id NOT IN (SELECT value FROM json_each($5))
          AND ${CIRCUIT_OPEN('d')}
          AND ${ORDERED_WAIT('d')}
        ORDER BY d.due_at LIMIT $2)
    RETURNING id`,
};

/**
 * The endpoint and tenant columns a delivery needs (`ep`, `t`), and their mapping: read the same
 * way by the claim query and by the outbox writer's in-memory handover.
 */
export const ENDPOINT_COLUMNS = `ep.url, ep.format, ep.headers, ep.secret, ep.previous_secrets, ep.private_allowed,
         ep.max_concurrency, ep.rate_limit, ep.ordered, ep.consecutive_failures,
         t.token, t.environment_id, t.system`;

export type EndpointFields = Pick<
  ClaimedDelivery,
  'url' | 'format' | 'headers' | 'secrets' | 'tenantToken' | 'environment' | 'maxConcurrency' | 'rateLimit' | 'ordered' | 'consecutiveFailures' | 'system' | 'privateAllowed'
>;

export function endpointFields(r: Record<string, any>, box: SecretBox, now: number): EndpointFields {
  return {
    url: r.url,
    format: r.format,
    headers: JSON.parse(r.headers),
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
         e.type, e.payload, e.occurred_at, e.created_at, ep.enabled, ep.deleted_at,
         im.headers AS original_headers, im.body AS original_body,
         ${ENDPOINT_COLUMNS}
    FROM deliveries d
    JOIN events e ON e.id = d.event_id
    JOIN endpoints ep ON ep.id = d.endpoint_id
    JOIN tenants t ON t.id = d.tenant_id
    LEFT JOIN inbound_messages im ON im.id = e.inbound_id AND ep.format = 'original'
   WHERE d.id IN (${Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ')})`;

export async function claimDueDeliveries(
  db: Db,
  box: SecretBox,
  opts: { limit: number; leaseMs: number; leaseToken: string; skipEndpoints?: string[]; now?: number },
): Promise<ClaimedDelivery[]> {
  const now = opts.now ?? Date.now();
  const skip = opts.skipEndpoints ?? [];
  const ids = await db.all<{ id: string }>(CLAIM[db.dialect], [now, opts.limit, now + opts.leaseMs, opts.leaseToken, db.dialect === 'postgres' ? skip : JSON.stringify(skip)]);
  if (ids.length === 0) return [];
  const rows = await db.all(DETAILS(ids.length), ids.map((r) => r.id));
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
    endpointActive: r.enabled === 1 && r.deleted_at === null,
    ...endpointFields(r, box, now),
    ...(r.original_body ? { original: { headers: JSON.parse(r.original_headers), body: Buffer.from(r.original_body) } } : {}),
  }));
}
