import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/db.js';
import { placeholders } from '../db/sql.js';
import { badRequest, HeraldError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { EnvironmentName } from '../keys/keys.js';
import { type Page, pageOf } from '../pagination.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { failEndpointDeliveries } from '../delivery/sql/failEndpointDeliveries.js';
import type { AddressPolicy, UrlCaller } from './urlPolicy.js';

export type BodyFormat = 'standard' | 'productfy' | 'original' | 'cloudevents';

/**
 * `http`: Herald's workers POST to its URL. `listen`: a temporary endpoint of `herald listen`, whose
 * deliveries the CLI pulls and forwards to its URL itself (endpoints/listeners.ts); no worker sends them.
 */
export type EndpointKind = 'http' | 'listen';

export interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string;
  eventTypes: string[];
  format: BodyFormat;
  headers: Record<string, string>;
  enabled: boolean;
  /** Deliveries in flight at once per Herald node; null: the node's default. */
  maxConcurrency: number | null;
  /** Deliveries per second per Herald node; null: no limit. */
  rateLimit: number | null;
  /** One at a time, in event order: the next waits until the previous succeeded or failed for good. */
  ordered: boolean;
  /** Why it is disabled ("410 Gone from the endpoint", "failing since …", "disabled by PATCH"); null while enabled. */
  disabledReason: string | null;
  /** Since when it is disabled; null while enabled. */
  disabledAt: string | null;
  kind: EndpointKind;
  /** A listen endpoint: when it is deleted unless a connection renews it first; null for http ones. */
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface EndpointInput {
  url: string;
  description?: string;
  eventTypes?: string[];
  format?: BodyFormat;
  headers?: Record<string, string>;
  enabled?: boolean;
  maxConcurrency?: number | null;
  rateLimit?: number | null;
  ordered?: boolean;
}

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  event_types: string;
  format: BodyFormat;
  headers: string;
  enabled: number;
  max_concurrency: number | null;
  rate_limit: number | null;
  ordered: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  kind: EndpointKind;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'id, tenant_id, url, description, event_types, format, headers, enabled, max_concurrency, rate_limit, ordered, disabled_reason, disabled_at, kind, expires_at, created_at, updated_at';

const toEndpoint = (r: EndpointRow): Endpoint => ({
  id: r.id,
  tenantId: r.tenant_id,
  url: r.url,
  description: r.description,
  eventTypes: JSON.parse(r.event_types) as string[],
  format: r.format,
  headers: JSON.parse(r.headers) as Record<string, string>,
  enabled: r.enabled === 1,
  maxConcurrency: r.max_concurrency,
  rateLimit: r.rate_limit,
  ordered: r.ordered === 1,
  disabledReason: r.enabled === 1 ? null : (r.disabled_reason ?? 'disabled'),
  disabledAt: r.enabled === 1 || r.disabled_at === null ? null : new Date(r.disabled_at).toISOString(),
  kind: r.kind,
  expiresAt: r.expires_at === null ? null : new Date(Number(r.expires_at)).toISOString(),
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

/** How long the previous secret keeps signing after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;

/** A Standard Webhooks secret: `whsec_` then base64 of the key bytes. */
export const newSecret = () => 'whsec_' + randomBytes(24).toString('base64');

// RFC 9110 field names are tokens.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What undici (like Node's http) accepts in a field value: tab, visible ASCII, space and obs-text
// (0x80-0xFF). Anything else (a control character, CR, LF, NUL, or a character beyond Latin-1
// such as ✓ or U+2028) makes it throw on every request, so the webhook could never be sent.
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/u;

// Headers a webhook can never carry as custom headers, and why. The hop-by-hop ones describe the
// connection, not the message (RFC 9110 §7.6.1); undici refuses to send several of them at all.
const REFUSED = new Map(
  Object.entries({
    host: 'is taken from the endpoint URL',
    'content-length': 'is computed from the body',
    'transfer-encoding': 'is a hop-by-hop header that undici refuses to send',
    connection: 'is a hop-by-hop header that manages the connection, not part of the webhook',
    'keep-alive': 'is a hop-by-hop header that undici refuses to send',
    'proxy-connection': 'is a hop-by-hop header that manages the connection, not part of the webhook',
    upgrade: 'is a hop-by-hop header that undici refuses to send',
    te: 'is a hop-by-hop header that manages the connection, not part of the webhook',
    trailer: 'announces trailers, which a webhook never has',
    expect: 'asks for 100-continue, which undici does not support (it refuses to send the request)',
  }),
);

/** Refuses, with the header's name and the reason, any custom header a webhook could not carry. */
export function checkHeaders(headers: Record<string, string>, tokenHeader: string): void {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const shown = JSON.stringify(name);
    if (!TOKEN.test(name)) {
      throw badRequest(`header name ${shown} is not a valid HTTP header name: use letters, digits and !#$%&'*+-.^_\`|~ only`);
    }
    const lower = name.toLowerCase();
    const refused = REFUSED.get(lower);
    if (refused) throw badRequest(`header ${shown} cannot be a custom header: it ${refused}; remove it`);
    if (lower === 'content-type' || lower === 'user-agent' || lower.startsWith('webhook-') || lower === tokenHeader) {
      throw badRequest(`header ${shown} is set by Herald and cannot be overridden; remove it`);
    }
    const twice = seen.get(lower);
    if (twice !== undefined)
      throw badRequest(`header ${shown} is given twice (also as ${JSON.stringify(twice)}); header names are case-insensitive, keep one`);
    seen.set(lower, name);
    const bad = NOT_FIELD_VALUE.exec(value);
    if (bad) {
      const code = 'U+' + bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw badRequest(
        `header ${shown} has a character that cannot be sent in an HTTP header (${code} at position ${bad.index}): use printable ASCII, and encode anything else (percent-encoding or base64)`,
      );
    }
  }
}

async function checkEventTypes(q: Queryable, environmentId: string, types: string[]): Promise<void> {
  if (types.length === 0) return;
  const unique = [...new Set(types)];
  const rows = await q.all<{ name: string }>(
    `SELECT name FROM event_types WHERE environment_id = $1 AND name IN (${placeholders(unique.length, 2)})`,
    [environmentId, ...unique],
  );
  const known = new Set(rows.map((r) => r.name));
  const missing = unique.filter((t) => !known.has(t));
  if (missing.length) {
    throw badRequest(`unknown event types: ${missing.join(', ')}; create them with POST /v1/event-types or import a catalog`);
  }
}

export interface EndpointContext {
  environmentId: string;
  environment: EnvironmentName;
  /** Who is calling: a tenant-scoped credential may not aim a sandbox endpoint at private addresses. */
  caller: UrlCaller;
  tokenHeader: string;
  addresses: AddressPolicy;
  /** Endpoints one tenant may have. */
  maxEndpoints: number;
  box: SecretBox;
}

/**
 * The limit check and the insert run in one transaction that holds the tenant: on Postgres its row
 * is locked FOR UPDATE, so concurrent creates for one tenant take turns and the count each one
 * reads includes the others' rows (SQLite's BEGIN IMMEDIATE already serialises writers). The URL
 * check, which may wait on DNS, runs before, outside the lock.
 *
 * `listen` makes a listen endpoint (endpoints/listeners.ts) expiring at `expiresAt`: Herald never
 * connects to its URL (the CLI forwards to it), so the address policy does not apply; the caller
 * has checked it is an http(s) URL.
 */
export async function createEndpoint(
  db: Db,
  ctx: EndpointContext,
  tenantId: string,
  input: EndpointInput,
  listen?: { expiresAt: number },
): Promise<Endpoint & { secret: string }> {
  const { url, privateAllowed } = listen
    ? { url: input.url, privateAllowed: false }
    : await ctx.addresses.checkEndpointUrl(input.url, ctx.environment, ctx.caller);
  const eventTypes = [...new Set(input.eventTypes ?? [])];
  await checkEventTypes(db, ctx.environmentId, eventTypes);
  checkHeaders(input.headers ?? {}, ctx.tokenHeader);
  const secret = newSecret();
  const row = await db.tx(async (q) => {
    if (q.dialect === 'postgres' && !(await q.one('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]))) {
      throw notFound('tenant', tenantId);
    }
    const count = await q.one<{ n: number }>('SELECT COUNT(*) AS n FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL', [tenantId]);
    if (Number(count?.n) >= ctx.maxEndpoints) {
      throw new HeraldError(
        'conflict',
        `this tenant already has ${ctx.maxEndpoints} endpoints, the limit; delete one first (the operator sets the limit with HERALD_MAX_ENDPOINTS_PER_TENANT)`,
      );
    }
    const now = Date.now();
    return q.one<EndpointRow>(
      `INSERT INTO endpoints (id, tenant_id, url, description, event_types, format, headers, enabled, secret, max_concurrency, rate_limit, ordered, private_allowed, created_at, updated_at,
                              disabled_reason, disabled_at, kind, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14,
               CASE WHEN $8 = 0 THEN 'created disabled' END, CASE WHEN $8 = 0 THEN CAST($14 AS bigint) END, $15, $16) RETURNING ${COLUMNS}`,
      [
        newId('ep'),
        tenantId,
        url,
        input.description ?? '',
        JSON.stringify(eventTypes),
        input.format ?? 'standard',
        JSON.stringify(input.headers ?? {}),
        input.enabled === false ? 0 : 1,
        ctx.box.seal(secret),
        input.maxConcurrency ?? null,
        input.rateLimit ?? null,
        input.ordered ? 1 : 0,
        privateAllowed ? 1 : 0,
        now,
        listen ? 'listen' : 'http',
        listen?.expiresAt ?? null,
      ],
    );
  });
  return { ...toEndpoint(row!), secret };
}

export async function getEndpoint(q: Queryable, tenantId: string, id: string): Promise<Endpoint> {
  const row = await q.one<EndpointRow>(`SELECT ${COLUMNS} FROM endpoints WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`, [
    id,
    tenantId,
  ]);
  if (!row) throw notFound('endpoint', id);
  return toEndpoint(row);
}

export async function listEndpoints(q: Queryable, tenantId: string, limit: number, cursor?: string): Promise<Page<Endpoint>> {
  const rows = await q.all<EndpointRow>(
    `SELECT ${COLUMNS} FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL AND (CAST($2 AS text) IS NULL OR id < $2)
     ORDER BY id DESC LIMIT $3`,
    [tenantId, cursor ?? null, limit + 1],
  );
  return pageOf(rows.map(toEndpoint), limit);
}

/**
 * A new URL is checked for the caller and decides afresh whether the endpoint may reach private
 * addresses (a tenant-scoped change clears what an operator key granted); other changes keep it.
 */
export async function updateEndpoint(
  q: Queryable,
  ctx: EndpointContext,
  current: Endpoint,
  patch: Partial<EndpointInput>,
): Promise<Endpoint> {
  const checked = patch.url === undefined ? null : await ctx.addresses.checkEndpointUrl(patch.url, ctx.environment, ctx.caller);
  const url = checked?.url ?? current.url;
  const eventTypes = patch.eventTypes === undefined ? current.eventTypes : [...new Set(patch.eventTypes)];
  if (patch.eventTypes) await checkEventTypes(q, ctx.environmentId, eventTypes);
  if (patch.headers) checkHeaders(patch.headers, ctx.tokenHeader);
  const row = await q.one<EndpointRow>(
    `UPDATE endpoints SET url = $2, description = $3, event_types = $4, format = $5, headers = $6, enabled = $7, updated_at = $8,
            max_concurrency = $9, rate_limit = $10, ordered = $11, private_allowed = COALESCE(CAST($12 AS integer), private_allowed),
            -- Enabling an endpoint again starts its health afresh (no open circuit, no count).
            consecutive_failures = CASE WHEN $7 = 1 AND enabled = 0 THEN 0 ELSE consecutive_failures END,
            failing_since = CASE WHEN $7 = 1 AND enabled = 0 THEN NULL ELSE failing_since END,
            circuit_open_until = CASE WHEN $7 = 1 AND enabled = 0 THEN NULL ELSE circuit_open_until END,
            disabled_reason = CASE WHEN $7 = 1 THEN NULL WHEN enabled = 1 THEN 'disabled by PATCH' ELSE disabled_reason END,
            disabled_at = CASE WHEN $7 = 1 THEN NULL WHEN enabled = 1 THEN $8 ELSE disabled_at END
      WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [
      current.id,
      url,
      patch.description ?? current.description,
      JSON.stringify(eventTypes),
      patch.format ?? current.format,
      JSON.stringify(patch.headers ?? current.headers),
      (patch.enabled ?? current.enabled) ? 1 : 0,
      Date.now(),
      patch.maxConcurrency === undefined ? current.maxConcurrency : patch.maxConcurrency,
      patch.rateLimit === undefined ? current.rateLimit : patch.rateLimit,
      (patch.ordered ?? current.ordered) ? 1 : 0,
      checked ? (checked.privateAllowed ? 1 : 0) : null,
    ],
  );
  if (!row) throw notFound('endpoint', current.id);
  return toEndpoint(row);
}

/**
 * Deleting keeps the row (its deliveries and attempts stay readable) and fails what was still
 * waiting to go there, so no event stays "in progress" for an endpoint that no longer exists.
 */
export async function deleteEndpoint(q: Queryable, tenantId: string, id: string, reason = 'endpoint deleted'): Promise<string[]> {
  const now = Date.now();
  const n = await q.run('UPDATE endpoints SET deleted_at = $3, enabled = 0 WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL', [
    id,
    tenantId,
    now,
  ]);
  if (n === 0) throw notFound('endpoint', id);
  return failEndpointDeliveries(q, id, reason, now);
}

export async function getSecret(q: Queryable, box: SecretBox, tenantId: string, id: string): Promise<string> {
  const row = await q.one<{ secret: string }>('SELECT secret FROM endpoints WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL', [
    id,
    tenantId,
  ]);
  if (!row) throw notFound('endpoint', id);
  return box.open(row.secret);
}

/** An earlier secret that keeps signing until `until` (ms), sealed. */
export interface PreviousSecret {
  secret: string;
  until: number;
}

/** Earlier secrets signing at once, at most: each adds a signature to every webhook's header. */
export const MAX_PREVIOUS_SECRETS = 10;

/**
 * A new secret. Every earlier secret still inside its overlap keeps signing beside it (the one
 * replaced now for SECRET_OVERLAP_MS), so a receiver that has not switched yet verifies whatever
 * rotations happened meanwhile. The read and the write run in one transaction holding the row, so
 * two rotations at once cannot drop each other's secret.
 */
export async function rotateSecret(db: Db, box: SecretBox, tenantId: string, id: string): Promise<string> {
  const secret = newSecret();
  await db.tx(async (q) => {
    const row = await q.one<{ secret: string; previous_secrets: string }>(
      `SELECT secret, previous_secrets FROM endpoints WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL${q.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
      [id, tenantId],
    );
    if (!row) throw notFound('endpoint', id);
    const now = Date.now();
    const live = (JSON.parse(row.previous_secrets) as PreviousSecret[]).filter((p) => p.until > now);
    if (live.length >= MAX_PREVIOUS_SECRETS) {
      const freed = new Date(Math.min(...live.map((p) => p.until))).toISOString();
      throw new HeraldError(
        'conflict',
        `this endpoint already has ${live.length} earlier secrets still signing (each for 24 hours after it was replaced), the most it keeps; rotate again after ${freed}`,
      );
    }
    const previous: PreviousSecret[] = [{ secret: row.secret, until: now + SECRET_OVERLAP_MS }, ...live];
    await q.run('UPDATE endpoints SET secret = $2, previous_secrets = $3, updated_at = $4 WHERE id = $1', [
      id,
      box.seal(secret),
      JSON.stringify(previous),
      now,
    ]);
  });
  return secret;
}

/** The secrets that sign now: the current one first, then every earlier one inside its overlap. */
export function signingSecrets(box: SecretBox, sealedSecret: string, previousSecrets: string, now: number): string[] {
  const previous = (JSON.parse(previousSecrets) as PreviousSecret[]).filter((p) => p.until > now);
  return [sealedSecret, ...previous.map((p) => p.secret)].map((s) => box.open(s));
}
