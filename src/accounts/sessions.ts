import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/db.js';
import { HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import type { EnvironmentName } from '../keys/keys.js';
import { writeAudit } from './audit.js';
import type { UserRole } from './users.js';

// A session is what a person gets from logIn, or an embedded portal from exchangeClientToken: a
// key (`sess_` + 256 random bits) shown once and stored as its sha256, like API keys. It is bound
// to one environment and, for a tenant user or a client token, to one tenant. Its expiry is absolute (HERALD_SESSION_TTL_SECONDS after it began): using it does not
// extend it; refreshing ends it and starts a new one with a new key.

export type EndReason = 'logout' | 'refreshed' | 'user_disabled' | 'mfa_reset';

export interface Session {
  id: string;
  /** The person's user id; null for a client token's session. */
  userId: string | null;
  /** The client token (ctk_…) exchanged for this session; null for a person's. */
  clientTokenId: string | null;
  /** The person's email; a client token's session has none, and shows its token id. */
  email: string;
  role: UserRole;
  environmentId: string;
  environment: EnvironmentName;
  /** The one tenant this session reaches; null: every tenant of the environment (an operator). */
  tenantId: string | null;
  /**
   * A client token's session: the capability names its token was minted with (src/auth/
   * capabilities.ts). null: not limited by capabilities (a person's session).
   */
  capabilities: string[] | null;
  createdAt: string;
  expiresAt: string;
}

const hashSessionKey = (key: string) => createHash('sha256').update(key).digest('hex');
const SESSION_PREFIX = 'sess_';

const UNAUTHENTICATED = () =>
  new HeraldError('unauthorized', 'the session key is unknown, expired or ended: log in again (or refresh the session before it expires)');

interface SessionRow {
  id: string;
  user_id: string | null;
  client_token_id: string | null;
  email: string | null;
  role: UserRole | null;
  environment_id: string;
  environment_name: EnvironmentName;
  tenant_id: string | null;
  capabilities: string | null;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  status: string | null;
}

const toSession = (r: SessionRow): Session => ({
  id: r.id,
  userId: r.user_id,
  clientTokenId: r.client_token_id,
  // A client token's session is a tenant's, like a tenant user's (never an operator's).
  email: r.email ?? r.client_token_id!,
  role: r.role ?? 'tenant',
  environmentId: r.environment_id,
  environment: r.environment_name,
  tenantId: r.tenant_id,
  capabilities: r.capabilities === null ? null : (JSON.parse(r.capabilities) as string[]),
  createdAt: new Date(Number(r.created_at)).toISOString(),
  expiresAt: new Date(Number(r.expires_at)).toISOString(),
});

// A session belongs to a user or (since client tokens) to a client token: the user is joined
// when there is one.
const SELECT = `SELECT s.id, s.user_id, s.client_token_id, u.email, u.role, s.environment_id, e.name AS environment_name, s.tenant_id,
       s.capabilities, s.created_at, s.expires_at, s.ended_at, u.status
  FROM sessions s LEFT JOIN users u ON u.id = s.user_id JOIN environments e ON e.id = s.environment_id`;

/** Starts a session; answers it with its key, which is never seen again. */
export async function createSession(
  q: Queryable,
  opts: {
    userId: string | null;
    clientTokenId?: string | null;
    environmentId: string;
    tenantId: string | null;
    /** A client token's session: what it may do; left out (null) for a person's. */
    capabilities?: readonly string[] | null;
    address?: string | null;
    ttlMs: number;
    now: number;
  },
): Promise<{ session: Session; key: string }> {
  const key = SESSION_PREFIX + randomBytes(32).toString('base64url');
  const id = newId('ses', opts.now);
  await q.run(
    `INSERT INTO sessions (id, user_id, client_token_id, environment_id, tenant_id, key_hash, key_prefix, address, created_at, expires_at, capabilities)
     VALUES ($1, $2, $10, $3, $4, $5, $6, $7, $8, $9, $11)`,
    [
      id,
      opts.userId,
      opts.environmentId,
      opts.tenantId,
      hashSessionKey(key),
      key.slice(0, 12),
      opts.address ?? null,
      opts.now,
      opts.now + opts.ttlMs,
      opts.clientTokenId ?? null,
      opts.capabilities == null ? null : JSON.stringify(opts.capabilities),
    ],
  );
  const row = (await q.one<SessionRow>(`${SELECT} WHERE s.id = $1`, [id]))!;
  return { session: toSession(row), key };
}

// A person's session ends with its user's disabling; a client token's has no user to disable.
const usable = (r: SessionRow | undefined, now: number): r is SessionRow =>
  !!r && r.ended_at === null && Number(r.expires_at) > now && (r.user_id === null || r.status === 'active');

/**
 * The session of a presented key, or undefined when the key is unknown, the session expired or
 * ended, or its user is disabled. Each request that carries a key asks this.
 */
export async function findSession(q: Queryable, key: string, now = Date.now()): Promise<Session | undefined> {
  if (!key.startsWith(SESSION_PREFIX)) return undefined;
  const row = await q.one<SessionRow>(`${SELECT} WHERE s.key_hash = $1`, [hashSessionKey(key)]);
  return usable(row, now) ? toSession(row) : undefined;
}

/**
 * Ends the session of `key` and starts another for the same user, environment and tenant, with a
 * full lifetime and a new key. Two refreshes of one key race on the conditional UPDATE: one wins,
 * the other is refused like an ended session.
 */
export async function refreshSession(
  db: Db,
  key: string,
  opts: { ttlMs: number; address?: string | null; now?: number },
): Promise<{ session: Session; key: string }> {
  const now = opts.now ?? Date.now();
  return db.tx(async (q) => {
    const old = await findSession(q, key, now);
    if (!old) throw UNAUTHENTICATED();
    const ended = await q.run("UPDATE sessions SET ended_at = $1, ended_reason = 'refreshed' WHERE id = $2 AND ended_at IS NULL", [
      now,
      old.id,
    ]);
    if (ended !== 1) throw UNAUTHENTICATED();
    // The new session reaches exactly what the old one did: a refresh never widens a client token's capabilities.
    const next = await createSession(q, {
      userId: old.userId,
      clientTokenId: old.clientTokenId,
      environmentId: old.environmentId,
      tenantId: old.tenantId,
      capabilities: old.capabilities,
      address: opts.address,
      ttlMs: opts.ttlMs,
      now,
    });
    await writeAudit(
      q,
      {
        environmentId: old.environmentId,
        actor: old.userId ?? old.clientTokenId,
        action: 'session.refreshed',
        target: next.session.id,
        address: opts.address,
        details: { previous: old.id },
      },
      now,
    );
    return next;
  });
}

/** Logs out: the key stops working at once. Refused (unauthorized) for a key that no longer works. */
export async function logOut(db: Db, key: string, opts: { address?: string | null; now?: number } = {}): Promise<void> {
  const now = opts.now ?? Date.now();
  await db.tx(async (q) => {
    const s = await findSession(q, key, now);
    if (!s) throw UNAUTHENTICATED();
    const ended = await q.run("UPDATE sessions SET ended_at = $1, ended_reason = 'logout' WHERE id = $2 AND ended_at IS NULL", [now, s.id]);
    if (ended !== 1) throw UNAUTHENTICATED();
    await writeAudit(
      q,
      {
        environmentId: s.environmentId,
        actor: s.userId ?? s.clientTokenId,
        action: 'session.ended',
        target: s.id,
        address: opts.address,
        details: { reason: 'logout' },
      },
      now,
    );
  });
}

/** Ends every open session of a user (disabled, second factor reset). */
export async function endUserSessions(q: Queryable, userId: string, reason: EndReason, now: number): Promise<number> {
  return q.run('UPDATE sessions SET ended_at = $1, ended_reason = $2 WHERE user_id = $3 AND ended_at IS NULL', [now, reason, userId]);
}

/**
 * Deletes sessions that expired more than a day ago (ended ones included: a session never outlives
 * its expiry), `batch` at a time; answers how many. The audit log keeps their history. Meant for
 * the maintenance loop, like the other retention steps.
 */
export async function deleteExpiredSessions(q: Queryable, now: number, batch = 1000): Promise<number> {
  return q.run('DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 ORDER BY id LIMIT $2)', [
    now - 86_400_000,
    batch,
  ]);
}
