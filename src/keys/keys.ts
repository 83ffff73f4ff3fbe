import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { newId } from '../ids.js';

// Keys follow the glossary: sk_test_/sk_live_ secret keys, pk_test_/pk_live_ public keys and ct_
// client tokens. Only a sha256 of a key is stored; the key is shown once, when it is made.
export type KeyKind = 'secret' | 'public' | 'client';
export type EnvironmentName = 'sandbox' | 'production';

export interface KeyScope {
  keyId: string;
  kind: KeyKind;
  environmentId: string;
  environment: EnvironmentName;
  /** Set for a tenant-scoped key: it reaches only this tenant. */
  tenantId: string | null;
}

const PREFIX: Record<KeyKind, (env: EnvironmentName) => string> = {
  secret: (env) => (env === 'production' ? 'sk_live_' : 'sk_test_'),
  public: (env) => (env === 'production' ? 'pk_live_' : 'pk_test_'),
  client: () => 'ct_',
};

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export async function createKey(
  q: Queryable,
  opts: { environmentId: string; environment: EnvironmentName; kind?: KeyKind; tenantId?: string | null; name?: string; ttlMs?: number },
): Promise<{ id: string; key: string }> {
  const kind = opts.kind ?? 'secret';
  const key = PREFIX[kind](opts.environment) + randomBytes(24).toString('base64url');
  const id = newId('key');
  const now = Date.now();
  await q.run(
    `INSERT INTO api_keys (id, environment_id, tenant_id, kind, key_hash, key_prefix, name, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [id, opts.environmentId, opts.tenantId ?? null, kind, hashKey(key), key.slice(0, 12), opts.name ?? null, now, opts.ttlMs ? now + opts.ttlMs : null],
  );
  return { id, key };
}

/** The scope of a presented key, or undefined when it is unknown, revoked or expired. */
export async function findKey(q: Queryable, key: string): Promise<KeyScope | undefined> {
  const row = await q.one<{ id: string; kind: KeyKind; environment_id: string; name: EnvironmentName; tenant_id: string | null; expires_at: number | null; revoked_at: number | null }>(
    `SELECT k.id, k.kind, k.environment_id, e.name, k.tenant_id, k.expires_at, k.revoked_at
       FROM api_keys k JOIN environments e ON e.id = k.environment_id
      WHERE k.key_hash = $1`,
    [hashKey(key)],
  );
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= Date.now())) return undefined;
  return { keyId: row.id, kind: row.kind, environmentId: row.environment_id, environment: row.name, tenantId: row.tenant_id };
}
