import { createHash, randomBytes } from 'node:crypto';
import { writeAudit } from '../accounts/audit.js';
import { createSession, type Session } from '../accounts/sessions.js';
import type { Db, Queryable } from '../db/db.js';
import { ALL_CAPABILITIES, capabilitiesOfRequest, type Capability, isCapability } from '../auth/capabilities.js';
import { badRequest, HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import { findKey, getKeyInfo } from './keys.js';

// Client tokens (`ct_…`): a secret key's holder mints one for one tenant and hands it to a browser,
// which exchanges it once, together with a public key (`pk_…`) that names the allowed origins, for
// a session bound to that tenant. The token is the short-lived, single-use half; the public key is
// the long-lived half that is safe to publish. Only a sha256 of a token is stored, like API keys.
// A token carries capabilities (src/auth/capabilities.ts) that its session keeps and GraphQL checks.

export const CLIENT_TOKEN_PREFIX = 'ct_';
/** Long enough to hand over and open a page; short enough that a leaked token is soon worthless. */
export const DEFAULT_TTL_SECONDS = 30 * 60;
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 24 * 3600;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface ClientTokenRequest {
  ttlSeconds?: number;
  /** What its session may do (capabilities.ts); left out: every capability, all a tenant user reaches. */
  capabilities?: string[];
}

/** Checks a mint request; answers the lifetime and capabilities to store, or a 400 saying what to fix. */
export function validateClientTokenRequest(req: ClientTokenRequest): { ttlMs: number; capabilities: Capability[] } {
  const ttl = req.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
    throw badRequest(
      `ttlSeconds must be a whole number from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} (24 hours); got ${ttl}. Leave it out for ${DEFAULT_TTL_SECONDS} (30 minutes)`,
    );
  }
  return { ttlMs: ttl * 1000, capabilities: capabilitiesOfRequest(req.capabilities) };
}

/** Mints a token for one tenant; answers it, shown this once. `now` lets tests mint in the past. */
export async function mintClientToken(
  q: Queryable,
  opts: {
    environmentId: string;
    tenantId: string;
    createdBy: string | null;
    request: ClientTokenRequest;
    address?: string | null;
    now?: number;
  },
): Promise<{ id: string; token: string; expiresAt: string }> {
  const { ttlMs, capabilities } = validateClientTokenRequest(opts.request);
  const now = opts.now ?? Date.now();
  const token = CLIENT_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = newId('ctk', now);
  await q.run(
    `INSERT INTO client_tokens (id, environment_id, tenant_id, token_hash, token_prefix, capabilities, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      id,
      opts.environmentId,
      opts.tenantId,
      hashToken(token),
      token.slice(0, 10),
      JSON.stringify(capabilities),
      opts.createdBy,
      now,
      now + ttlMs,
    ],
  );
  await writeAudit(
    q,
    {
      environmentId: opts.environmentId,
      actor: opts.createdBy,
      action: 'client_token.minted',
      target: id,
      address: opts.address,
      details: { tenantId: opts.tenantId, capabilities, expiresAt: new Date(now + ttlMs).toISOString() },
    },
    now,
  );
  return { id, token, expiresAt: new Date(now + ttlMs).toISOString() };
}

const UNAUTHENTICATED = () =>
  new HeraldError(
    'unauthorized',
    'the client token is unknown, expired or already used: mint a new one (POST /v1/tenants/:tenant/client-tokens) and exchange it once',
  );

/**
 * The capabilities a token's session gets: the stored names (every one checked at mint, so all
 * known). A token stored with none was minted before capabilities limited anything, when a token
 * reached everything: so does its session. A name Herald no longer knows refuses the exchange rather
 * than guess what the minter meant.
 */
function sessionCapabilities(stored: string): Capability[] {
  const names = JSON.parse(stored) as string[];
  if (names.length === 0) return [...ALL_CAPABILITIES];
  const unknown = names.filter((n) => !isCapability(n));
  if (unknown.length)
    throw new HeraldError('forbidden', `this client token names capabilities Herald does not know (${unknown.join(', ')}): mint a new one`);
  return names as Capability[];
}

/**
 * Exchanges a client token for a session, checking the public key first (so a refused public key
 * or origin leaves the token unused): it must be a live public key, and a browser's `Origin`, when
 * sent, one of its allowed origins. The token is then taken by a conditional UPDATE: of two
 * concurrent exchanges one wins, the other is refused like a used token.
 */
export async function exchangeClientToken(
  db: Db,
  opts: { publicKey: string; clientToken: string; origin?: string | null; address?: string | null; sessionTtlMs: number; now?: number },
): Promise<{ session: Session; key: string }> {
  const now = opts.now ?? Date.now();
  return db.tx(async (q) => {
    const pk = await findKey(q, opts.publicKey);
    if (!pk || pk.kind !== 'public') {
      throw new HeraldError(
        'forbidden',
        'the public key is unknown, revoked or expired, or is not a public key (pk_…): use a live public key of the environment that minted the client token',
      );
    }
    if (opts.origin) {
      const allowed = (await getKeyInfo(q, pk.keyId))?.allowedOrigins ?? [];
      if (!allowed.includes(opts.origin)) {
        throw new HeraldError(
          'forbidden',
          `origin ${opts.origin} is not allowed for this public key; add it to the key's allowed origins or embed from one of them`,
        );
      }
    }
    if (!opts.clientToken.startsWith(CLIENT_TOKEN_PREFIX)) throw UNAUTHENTICATED();
    const row = await q.one<{
      id: string;
      environment_id: string;
      tenant_id: string;
      capabilities: string;
      expires_at: number;
      used_at: number | null;
    }>('SELECT id, environment_id, tenant_id, capabilities, expires_at, used_at FROM client_tokens WHERE token_hash = $1', [
      hashToken(opts.clientToken),
    ]);
    if (!row || row.used_at !== null || Number(row.expires_at) <= now) throw UNAUTHENTICATED();
    if (row.environment_id !== pk.environmentId) {
      throw new HeraldError(
        'forbidden',
        `the public key is of the ${pk.environment} environment, not the client token's: use a public key of the environment whose secret key minted the token`,
      );
    }
    // A public key made for one tenant embeds that tenant's portal only.
    if (pk.tenantId !== null && pk.tenantId !== row.tenant_id) {
      throw new HeraldError(
        'forbidden',
        "this public key is scoped to another tenant: use a public key of the client token's tenant, or one not scoped to a tenant",
      );
    }
    const capabilities = sessionCapabilities(row.capabilities);
    // The condition, not the SELECT above, decides: a concurrent exchange that already set used_at
    // makes this one change no row.
    const taken = await q.run('UPDATE client_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1', [now, row.id]);
    if (taken !== 1) throw UNAUTHENTICATED();
    const made = await createSession(q, {
      userId: null,
      clientTokenId: row.id,
      environmentId: row.environment_id,
      tenantId: row.tenant_id,
      capabilities,
      address: opts.address,
      ttlMs: opts.sessionTtlMs,
      now,
    });
    await writeAudit(
      q,
      {
        environmentId: row.environment_id,
        actor: row.id,
        action: 'client_token.exchanged',
        target: made.session.id,
        address: opts.address,
        details: { tenantId: row.tenant_id, publicKey: pk.keyId, origin: opts.origin ?? null, capabilities },
      },
      now,
    );
    return made;
  });
}

/**
 * Deletes client tokens expired more than a day ago, `batch` at a time; answers how many. A token
 * still named by a session is kept: sessions of a token cascade with it, and a session refreshed
 * since the exchange may well outlive its token. Meant for the maintenance loop.
 */
export async function deleteExpiredClientTokens(q: Queryable, now: number, batch = 1000): Promise<number> {
  return q.run(
    `DELETE FROM client_tokens WHERE id IN (
       SELECT c.id FROM client_tokens c
        WHERE c.expires_at < $1 AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.client_token_id = c.id)
        ORDER BY c.id LIMIT $2)`,
    [now - 86_400_000, batch],
  );
}
