import type { Dialect, Queryable } from '../db/db.js';
import { isUniqueViolation } from '../db/db.js';
import { HeraldError, notFound } from '../errors.js';
import { newId, randomToken } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';
import type { SecretBox } from '../secrets/secretBox.js';

export interface Tenant {
  id: string;
  uid: string;
  name: string;
  token: string;
  metadata: Record<string, unknown>;
  /** API calls this tenant may make in all; null: unlimited. */
  callQuota: number | null;
  callsUsed: number;
  createdAt: string;
  updatedAt: string;
}

interface TenantRow {
  id: string;
  uid: string;
  name: string;
  token: string;
  metadata: string;
  call_quota: number | null;
  calls_used: number;
  created_at: number;
  updated_at: number;
}

const toTenant = (r: TenantRow, box: SecretBox): Tenant => ({
  id: r.id,
  uid: r.uid,
  name: r.name,
  token: box.open(r.token),
  metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  callQuota: r.call_quota,
  callsUsed: r.calls_used,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

const COLUMNS = 'id, uid, name, token, metadata, call_quota, calls_used, created_at, updated_at';

// A tenant named in a path by its id or its uid ($2), in one environment ($1); an id wins over a
// uid that happens to look the same.
const BY_ID_OR_UID = 'WHERE environment_id = $1 AND (id = $2 OR uid = $2) ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1';

export async function createTenant(
  q: Queryable,
  box: SecretBox,
  environmentId: string,
  input: { name: string; uid?: string; metadata?: Record<string, unknown>; callQuota?: number | null },
): Promise<Tenant> {
  const id = newId('ten');
  const now = Date.now();
  try {
    const row = await q.one<TenantRow>(
      `INSERT INTO tenants (id, environment_id, uid, name, token, metadata, call_quota, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
      [
        id,
        environmentId,
        input.uid ?? id,
        input.name,
        box.seal('whtok_' + randomToken(24)),
        JSON.stringify(input.metadata ?? {}),
        input.callQuota ?? null,
        now,
      ],
    );
    return toTenant(row!, box);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new HeraldError(
        'conflict',
        `a tenant with uid "${input.uid}" already exists in this environment; use another uid or update that tenant`,
      );
    }
    throw err;
  }
}

/** The id of a tenant named by id or uid (no secrets opened: for key scopes). */
export async function findTenantId(q: Queryable, environmentId: string, idOrUid: string): Promise<string | undefined> {
  return (await q.one<{ id: string }>(`SELECT id FROM tenants ${BY_ID_OR_UID}`, [environmentId, idOrUid]))?.id;
}

/** A tenant by its id or its uid, within one environment. */
export async function findTenant(q: Queryable, box: SecretBox, environmentId: string, idOrUid: string): Promise<Tenant | undefined> {
  const row = await q.one<TenantRow>(`SELECT ${COLUMNS} FROM tenants ${BY_ID_OR_UID}`, [environmentId, idOrUid]);
  return row && toTenant(row, box);
}

// A search keeps the tenants whose uid or name starts with $4 ignoring case, and the one whose id
// is $4 (a pasted id). "Starts with" is written as a range, lower($4) <= lower(x) < lower($5), $5
// being $4 followed by the greatest code point: every string that starts with $4 sorts in it, and
// only those. Not `LIKE '…%'`: SQLite never answers LIKE from an index on an expression, and
// Postgres only from a text_pattern_ops one; a range is what the indexes of migration 020
// (environment, lower(uid)) and (environment, lower(name)) answer on both, each dialect ORing the
// two ranges and the id, then sorting the few rows found. The text goes through the same lower()
// as the column, so both sides fold case alike: every letter on Postgres, ASCII letters only on
// SQLite (its lower() knows no others).
//
// Per dialect: Postgres compares in the "C" collation its indexes are built in (byte order, where
// a prefix is one range, whatever the database's locale). SQLite plans without statistics (Herald
// does not ANALYZE), guessing that an environment holds a handful of tenants, and would then read
// the whole environment from the first column of an index and sort it; likely() tells it that most
// tenants are in the environment, so it takes the ranges.
const LIST = `SELECT ${COLUMNS} FROM tenants WHERE environment_id = $1 AND (CAST($2 AS text) IS NULL OR id < $2)
  ORDER BY id DESC LIMIT $3`;
const SEARCH: Record<Dialect, string> = {
  sqlite: `SELECT ${COLUMNS} FROM tenants
            WHERE likely(environment_id = $1) AND (CAST($2 AS text) IS NULL OR id < $2)
              AND (id = $4
                   OR (lower(uid) >= lower($4) AND lower(uid) < lower($5))
                   OR (lower(name) >= lower($4) AND lower(name) < lower($5)))
            ORDER BY id DESC LIMIT $3`,
  postgres: `SELECT ${COLUMNS} FROM tenants
              WHERE environment_id = $1 AND (CAST($2 AS text) IS NULL OR id < $2)
                AND (id = $4
                     OR (lower(uid) COLLATE "C" >= lower($4) AND lower(uid) COLLATE "C" < lower($5))
                     OR (lower(name) COLLATE "C" >= lower($4) AND lower(name) COLLATE "C" < lower($5)))
              ORDER BY id DESC LIMIT $3`,
};

/** A page of the environment's tenants, newest first; `search`: see SEARCH above. */
export async function listTenants(
  q: Queryable,
  box: SecretBox,
  environmentId: string,
  opts: { limit: number; cursor?: string; search?: string },
): Promise<Page<Tenant>> {
  const page = [environmentId, opts.cursor ?? null, opts.limit + 1];
  const rows =
    opts.search === undefined
      ? await q.all<TenantRow>(LIST, page)
      : await q.all<TenantRow>(SEARCH[q.dialect], [...page, opts.search, opts.search + '\u{10FFFF}']);
  return pageOf(
    rows.map((r) => toTenant(r, box)),
    opts.limit,
  );
}

export async function updateTenant(
  q: Queryable,
  box: SecretBox,
  tenant: Tenant,
  patch: { name?: string; uid?: string; metadata?: Record<string, unknown>; callQuota?: number | null; resetCalls?: boolean },
): Promise<Tenant> {
  try {
    const row = await q.one<TenantRow>(
      `UPDATE tenants SET name = $2, uid = $3, metadata = $4, updated_at = $5, call_quota = $6,
              calls_used = CASE WHEN $7 = 1 THEN 0 ELSE calls_used END
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        tenant.id,
        patch.name ?? tenant.name,
        patch.uid ?? tenant.uid,
        JSON.stringify(patch.metadata ?? tenant.metadata),
        Date.now(),
        patch.callQuota === undefined ? tenant.callQuota : patch.callQuota,
        patch.resetCalls ? 1 : 0,
      ],
    );
    return toTenant(row!, box);
  } catch (err) {
    if (isUniqueViolation(err)) throw new HeraldError('conflict', `uid "${patch.uid}" is taken by another tenant in this environment`);
    throw err;
  }
}

/**
 * Replaces the tenant's webhook token. There is no overlap, unlike endpoint signing secrets: the
 * token header carries one value, which receivers compare for equality, so Herald cannot send the
 * old and the new one side by side, and keeping a possibly leaked token in use would defeat the
 * rotation. The overlap lives in the receiver instead (accept both for a while); `token` lets the
 * operator choose the new value, so the receiver can accept it before the switch.
 */
export async function rotateTenantToken(q: Queryable, box: SecretBox, tenant: Tenant, token?: string): Promise<Tenant> {
  const next = token ?? 'whtok_' + randomToken(24);
  if (next === tenant.token)
    throw new HeraldError(
      'bad_request',
      'the new token is the current one; choose another value (or leave "token" out to get a random one)',
    );
  const row = await q.one<TenantRow>(`UPDATE tenants SET token = $2, updated_at = $3 WHERE id = $1 RETURNING ${COLUMNS}`, [
    tenant.id,
    box.seal(next),
    Date.now(),
  ]);
  if (!row) throw notFound('tenant', tenant.uid);
  return toTenant(row, box);
}

export async function deleteTenant(q: Queryable, tenantId: string): Promise<void> {
  // Foreign keys cascade: endpoints, events, their deliveries and attempts, and tenant keys go too.
  await q.run('DELETE FROM tenants WHERE id = $1', [tenantId]);
}

/**
 * Counts one API call against the tenant's quota, in one statement so that concurrent calls on
 * several nodes cannot overrun it. Answers false when the quota is used up.
 */
export async function countCall(q: Queryable, tenantId: string): Promise<boolean> {
  const n = await q.run(
    'UPDATE tenants SET calls_used = calls_used + 1 WHERE id = $1 AND (call_quota IS NULL OR calls_used < call_quota)',
    [tenantId],
  );
  return n > 0;
}

/**
 * The environment's system tenant with this uid (the operator's, for operational events), created
 * on first use. Nodes starting together may both try: the unique (environment, uid) keeps one.
 * Answers its id.
 */
export async function ensureSystemTenant(
  q: Queryable,
  box: SecretBox,
  environmentId: string,
  uid: string,
  name: string,
  now = Date.now(),
): Promise<string> {
  await q.run(
    `INSERT INTO tenants (id, environment_id, uid, name, token, metadata, system, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, '{}', 1, $6, $6) ON CONFLICT (environment_id, uid) DO NOTHING`,
    [newId('ten', now), environmentId, uid, name, box.seal('whtok_' + randomToken(24)), now],
  );
  return (await findTenantId(q, environmentId, uid))!;
}
