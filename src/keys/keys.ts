import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { badRequest, HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';
import { findTenantId } from '../tenants/tenants.js';

// Keys follow the glossary: sk_test_/sk_live_ secret keys, pk_test_/pk_live_ public keys and ct_
// client tokens. Only a sha256 of a key is stored; the key is shown once, when it is made.
export type KeyKind = 'secret' | 'public' | 'client';
export type EnvironmentName = 'sandbox' | 'production';

export const ENVIRONMENT_NAMES: readonly EnvironmentName[] = ['sandbox', 'production'];

export interface KeyScope {
  keyId: string;
  kind: KeyKind;
  environmentId: string;
  environment: EnvironmentName;
  /** Set for a tenant-scoped key: it reaches only this tenant. */
  tenantId: string | null;
  /** When the key stops working (ms), or null. Kept with a cached scope so expiry is exact. */
  expiresAt: number | null;
}

/** What a list shows of a key: everything but the key itself, which Herald does not have. */
export interface KeyInfo {
  id: string;
  kind: KeyKind;
  /** The first characters of the key, to recognise it. */
  prefix: string;
  environment: EnvironmentName;
  /** The tenant id of a tenant-scoped key; null: operator-wide. */
  tenant: string | null;
  tenantUid: string | null;
  name: string | null;
  /** Public keys: the origins allowed to embed the portal with it. */
  allowedOrigins: string[];
  createdAt: string;
  /** To the minute (recorded at most once a minute per key per node); null: never used. */
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

const PREFIX: Record<KeyKind, (env: EnvironmentName) => string> = {
  secret: (env) => (env === 'production' ? 'sk_live_' : 'sk_test_'),
  public: (env) => (env === 'production' ? 'pk_live_' : 'pk_test_'),
  client: () => 'ct_',
};

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export async function createKey(
  q: Queryable,
  opts: {
    environmentId: string;
    environment: EnvironmentName;
    kind?: KeyKind;
    tenantId?: string | null;
    name?: string;
    ttlMs?: number;
    allowedOrigins?: string[];
  },
): Promise<{ id: string; key: string }> {
  const kind = opts.kind ?? 'secret';
  const key = PREFIX[kind](opts.environment) + randomBytes(24).toString('base64url');
  const id = newId('key');
  const now = Date.now();
  await q.run(
    `INSERT INTO api_keys (id, environment_id, tenant_id, kind, key_hash, key_prefix, name, created_at, expires_at, allowed_origins)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      id,
      opts.environmentId,
      opts.tenantId ?? null,
      kind,
      hashKey(key),
      key.slice(0, 12),
      opts.name ?? null,
      now,
      opts.ttlMs ? now + opts.ttlMs : null,
      JSON.stringify(opts.allowedOrigins ?? []),
    ],
  );
  return { id, key };
}

/** The scope of a presented key, or undefined when it is unknown, revoked or expired. */
export async function findKey(q: Queryable, key: string): Promise<KeyScope | undefined> {
  const row = await q.one<{
    id: string;
    kind: KeyKind;
    environment_id: string;
    name: EnvironmentName;
    tenant_id: string | null;
    expires_at: number | null;
    revoked_at: number | null;
  }>(
    `SELECT k.id, k.kind, k.environment_id, e.name, k.tenant_id, k.expires_at, k.revoked_at
       FROM api_keys k JOIN environments e ON e.id = k.environment_id
      WHERE k.key_hash = $1`,
    [hashKey(key)],
  );
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= Date.now())) return undefined;
  return {
    keyId: row.id,
    kind: row.kind,
    environmentId: row.environment_id,
    environment: row.name,
    tenantId: row.tenant_id,
    expiresAt: row.expires_at,
  };
}

// ---- Keys made by an operator (CLI and REST): one validation, so both say the same thing. ----

/** Longest expiry accepted: far enough for any real use, near enough to stay a valid date. */
const MAX_EXPIRES_IN_SECONDS = 100 * 365 * 86_400;
const MAX_ORIGINS = 50;
const MAX_ORIGIN_LENGTH = 500;

export interface KeyRequest {
  /** sandbox or production. */
  environment: string;
  /** secret (default) or public. */
  kind?: string;
  /** Scopes the key to one tenant, named by id or uid. */
  tenant?: string;
  allowedOrigins?: string[];
  expiresInSeconds?: number;
  name?: string;
}

export function parseEnvironment(raw: string): EnvironmentName {
  if (!ENVIRONMENT_NAMES.includes(raw as EnvironmentName)) {
    throw badRequest(`unknown environment "${raw}"; use sandbox or production`);
  }
  return raw as EnvironmentName;
}

/**
 * An origin as a browser sends it and as `Content-Security-Policy: frame-ancestors` matches it:
 * scheme://host[:port], nothing after. Anything else would silently never match, so it is refused
 * with the form to write instead.
 */
export function parseOrigin(raw: string): string {
  const hint = 'write scheme://host[:port] with nothing after it, like https://app.example.com';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badRequest(`allowed origin "${raw}" is not an origin; ${hint}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badRequest(`allowed origin "${raw}" must be http:// or https://; ${hint}`);
  if (u.hostname.includes('*')) throw badRequest(`allowed origin "${raw}" has a wildcard, which Herald does not accept; list each origin`);
  if (u.origin !== raw) {
    throw badRequest(
      // The origin it names is what to write, unless it carries a user name (then what was meant is unclear).
      `allowed origin "${raw}" is not an origin; ${hint}${!u.username && !u.password ? ` (here: "${u.origin}")` : ''}`,
    );
  }
  return u.origin;
}

/**
 * The allowed origins of a key of this kind, checked and without repeats: none for a secret key,
 * 1 to 50 for a public key. Throws a 400 that says what to fix.
 */
export function validateOrigins(kind: KeyKind, origins: string[]): string[] {
  if (kind !== 'public' && origins.length) {
    throw badRequest(
      'allowed origins apply to public keys only (a secret key never goes to a browser); leave them out or make a public key',
    );
  }
  if (kind === 'public' && origins.length === 0) {
    throw badRequest(
      'a public key needs at least one allowed origin: the site that embeds the portal, like https://app.example.com (to stop all embedding, revoke the key)',
    );
  }
  if (origins.length > MAX_ORIGINS) throw badRequest(`at most ${MAX_ORIGINS} allowed origins per key; make another key for the rest`);
  const long = origins.find((o) => o.length > MAX_ORIGIN_LENGTH);
  if (long !== undefined)
    throw badRequest(
      `allowed origin "${long.slice(0, 40)}…" is longer than ${MAX_ORIGIN_LENGTH} characters; an origin is scheme://host[:port]`,
    );
  return [...new Set(origins.map(parseOrigin))];
}

/** Checks a request for a new key; answers what to store. Throws a 400 that says what to fix. */
export function validateKeyRequest(req: KeyRequest): {
  environment: EnvironmentName;
  kind: 'secret' | 'public';
  allowedOrigins: string[];
  ttlMs?: number;
  name?: string;
} {
  const environment = parseEnvironment(req.environment);
  const kind = req.kind ?? 'secret';
  if (kind !== 'secret' && kind !== 'public') throw badRequest(`unknown key kind "${kind}"; use secret or public`);
  const allowedOrigins = validateOrigins(kind, req.allowedOrigins ?? []);
  let ttlMs: number | undefined;
  if (req.expiresInSeconds !== undefined) {
    const s = req.expiresInSeconds;
    if (!Number.isInteger(s) || s < 1 || s > MAX_EXPIRES_IN_SECONDS) {
      throw badRequest(`expiry must be a whole number of seconds from 1 to ${MAX_EXPIRES_IN_SECONDS} (100 years); got ${s}`);
    }
    ttlMs = s * 1000;
  }
  if (req.name !== undefined && (req.name.length === 0 || req.name.length > 200)) throw badRequest('a key name is 1 to 200 characters');
  return { environment, kind, allowedOrigins, ttlMs, name: req.name };
}

/**
 * Makes a key for an operator (CLI or REST): validated, its tenant looked up in its environment.
 * Answers the key, shown this once, and what a list will show of it.
 */
export async function issueKey(q: Queryable, req: KeyRequest): Promise<{ id: string; key: string; info: KeyInfo }> {
  const v = validateKeyRequest(req);
  const env = await q.one<{ id: string }>('SELECT id FROM environments WHERE name = $1', [v.environment]);
  if (!env) throw new HeraldError('not_found', `the ${v.environment} environment does not exist yet; start Herald once to create it`);
  let tenantId: string | null = null;
  if (req.tenant !== undefined) {
    tenantId = (await findTenantId(q, env.id, req.tenant)) ?? null;
    if (!tenantId) throw new HeraldError('not_found', `tenant "${req.tenant}" was not found in the ${v.environment} environment`);
  }
  const made = await createKey(q, {
    environmentId: env.id,
    environment: v.environment,
    kind: v.kind,
    tenantId,
    name: v.name,
    ttlMs: v.ttlMs,
    allowedOrigins: v.allowedOrigins,
  });
  return { ...made, info: (await getKeyInfo(q, made.id))! };
}

interface KeyRow {
  id: string;
  kind: KeyKind;
  key_prefix: string;
  env_name: EnvironmentName;
  tenant_id: string | null;
  tenant_uid: string | null;
  name: string | null;
  allowed_origins: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const toInfo = (r: KeyRow): KeyInfo => ({
  id: r.id,
  kind: r.kind,
  prefix: r.key_prefix,
  environment: r.env_name,
  tenant: r.tenant_id,
  tenantUid: r.tenant_uid,
  name: r.name,
  allowedOrigins: JSON.parse(r.allowed_origins) as string[],
  createdAt: iso(r.created_at)!,
  lastUsedAt: iso(r.last_used_at),
  expiresAt: iso(r.expires_at),
  revokedAt: iso(r.revoked_at),
});

// Never selects key_hash: a list has nothing to leak.
const INFO = `SELECT k.id, k.kind, k.key_prefix, e.name AS env_name, k.tenant_id, t.uid AS tenant_uid, k.name, k.allowed_origins,
                     k.created_at, k.last_used_at, k.expires_at, k.revoked_at
                FROM api_keys k JOIN environments e ON e.id = k.environment_id LEFT JOIN tenants t ON t.id = k.tenant_id`;

export async function getKeyInfo(q: Queryable, id: string): Promise<KeyInfo | undefined> {
  const row = await q.one<KeyRow>(`${INFO} WHERE k.id = $1`, [id]);
  return row && toInfo(row);
}

/** Keys of one environment (or all, for the CLI), newest first, revoked and expired ones included. */
export async function listKeys(q: Queryable, opts: { environmentId?: string; limit: number; cursor?: string }): Promise<Page<KeyInfo>> {
  const rows = await q.all<KeyRow>(
    `${INFO}
      WHERE (CAST($1 AS text) IS NULL OR k.environment_id = $1) AND (CAST($2 AS text) IS NULL OR k.id < $2)
      ORDER BY k.id DESC LIMIT $3`,
    [opts.environmentId ?? null, opts.cursor ?? null, opts.limit + 1],
  );
  return pageOf(rows.map(toInfo), opts.limit);
}

/**
 * Revokes a key (of one environment, when given). Revoking twice keeps the first time. Answers the
 * key as it now is, or undefined when there is no such key.
 */
export async function revokeKey(q: Queryable, id: string, environmentId?: string): Promise<KeyInfo | undefined> {
  const n = await q.run(
    'UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL AND (CAST($3 AS text) IS NULL OR environment_id = $3)',
    [id, Date.now(), environmentId ?? null],
  );
  const info = await getKeyInfo(q, id);
  // Not changed: unknown, already revoked, or of another environment (which must look unknown).
  if (n === 0 && (!info || (environmentId !== undefined && info.environment !== (await environmentName(q, environmentId)))))
    return undefined;
  return info;
}

async function environmentName(q: Queryable, environmentId: string): Promise<string | undefined> {
  return (await q.one<{ name: string }>('SELECT name FROM environments WHERE id = $1', [environmentId]))?.name;
}

/**
 * Replaces the allowed origins of a live public key (of one environment). Embedding pages check
 * them on every exchange and every frame (nothing caches them), so the change holds at once.
 * Answers the key as it was and as it now is; undefined when there is no such key here. A secret
 * key, or a revoked or expired one, is refused with what to do instead.
 */
export async function setAllowedOrigins(
  q: Queryable,
  id: string,
  environmentId: string,
  origins: string[],
): Promise<{ before: KeyInfo; after: KeyInfo } | undefined> {
  const before = await getKeyInfo(q, id);
  if (!before || before.environment !== (await environmentName(q, environmentId))) return undefined;
  if (before.kind !== 'public')
    throw badRequest(`key ${id} is a ${before.kind} key: allowed origins apply to public keys only (a secret key never goes to a browser)`);
  if (before.revokedAt !== null) throw badRequest(`key ${id} is revoked: it embeds nothing any more; make a new public key instead`);
  if (before.expiresAt !== null && Date.parse(before.expiresAt) <= Date.now())
    throw badRequest(`key ${id} has expired: it embeds nothing any more; make a new public key instead`);
  const allowedOrigins = validateOrigins('public', origins);
  await q.run('UPDATE api_keys SET allowed_origins = $2 WHERE id = $1', [id, JSON.stringify(allowedOrigins)]);
  return { before, after: { ...before, allowedOrigins } };
}

/**
 * Records that a key was used. Callers throttle it (a write at most once a minute per key per
 * node); the condition keeps a late write from moving the time backwards.
 */
export async function recordKeyUse(q: Queryable, keyId: string, at: number): Promise<void> {
  await q.run('UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)', [keyId, at]);
}
