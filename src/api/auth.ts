import type { FastifyRequest } from 'fastify';
import type { Db } from '../db/db.js';
import { HeraldError } from '../errors.js';
import { findKey, hashKey, recordKeyUse, type KeyScope } from '../keys/keys.js';
import { countCall, findTenant, type Tenant } from '../tenants/tenants.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { KeyRateLimiter } from './rateLimit.js';
import { TtlCache } from '../cache.js';

declare module 'fastify' {
  interface FastifyRequest {
    scope: KeyScope;
  }
}

/** "Last used" is written at most this often per key per node: not a write per request. */
const KEY_USE_WRITE_MS = 60_000;

/**
 * Key checks and tenant lookups. A revoked key or a deleted tenant stays usable on other nodes for
 * at most the cache's TTL (5 s); on this node the change is seen at once. An expired key is refused
 * at its expiry everywhere: the cached scope carries the time.
 */
export class Auth {
  private readonly keys = new TtlCache<KeyScope>(5000);
  private readonly tenants = new TtlCache<Tenant>(5000);
  /** When this node last wrote each key's "last used". */
  private readonly useWritten = new Map<string, number>();

  private readonly limiter: KeyRateLimiter;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    opts: { apiRateLimit: number } = { apiRateLimit: 0 },
  ) {
    this.limiter = new KeyRateLimiter(opts.apiRateLimit);
  }

  async authenticate(req: FastifyRequest): Promise<void> {
    const header = req.headers.authorization;
    if (!header) throw new HeraldError('unauthorized', 'missing Authorization header; send "Authorization: Bearer <your secret key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HeraldError('unauthorized', 'Authorization must be "Bearer <key>"');
    const hash = hashKey(m[1]);
    const now = Date.now();
    let scope = this.keys.get(hash);
    if (scope && scope.expiresAt !== null && scope.expiresAt <= now) {
      this.keys.delete(hash);
      scope = undefined;
    }
    if (!scope) {
      scope = await findKey(this.db, m[1]);
      if (!scope) throw new HeraldError('unauthorized', 'this key is not valid (unknown, revoked or expired); create one with `herald keys create` or POST /v1/keys');
      this.keys.set(hash, scope);
    }
    if (scope.kind === 'public') {
      throw new HeraldError(
        'forbidden',
        'this is a public key (pk_…): it only identifies an environment for the embedded portal and cannot call the API; use a secret key (sk_…)',
      );
    }
    if (scope.kind !== 'secret') {
      throw new HeraldError('forbidden', `a ${scope.kind} key cannot call this API; use a secret key (sk_…)`);
    }
    this.limiter.take(scope.keyId);
    const writing = this.noteUse(req, scope.keyId, now);
    if (writing) await writing;
    req.scope = scope;
  }

  /** Writes "last used" when this node has not written it for a minute; otherwise nothing (no await). */
  private noteUse(req: FastifyRequest, keyId: string, now: number): Promise<void> | undefined {
    const last = this.useWritten.get(keyId);
    if (last !== undefined && now - last < KEY_USE_WRITE_MS) return undefined;
    if (this.useWritten.size >= 10_000) this.useWritten.clear();
    this.useWritten.set(keyId, now);
    // "Last used" is a convenience: a failed write must not fail the call it describes.
    return recordKeyUse(this.db, keyId, now).catch((err) => req.log.warn({ err, keyId }, 'could not record when the key was last used'));
  }

  /** Drops a revoked key from this node's cache, so it answers 401 here at once. */
  forgetKey(keyId: string): void {
    this.keys.deleteWhere((s) => s.keyId === keyId);
  }

  /** Operator-only calls: tenant-scoped keys are refused. */
  requireOperator(req: FastifyRequest): void {
    if (req.scope.tenantId) throw new HeraldError('forbidden', 'this key is scoped to one tenant; this call needs an operator key');
  }

  /** The tenant named in a path (id or uid), checked against the key's scope; counts the call against its quota. */
  async tenant(req: FastifyRequest, idOrUid: string): Promise<Tenant> {
    return this.resolve(req, idOrUid, true);
  }

  /** The same, without counting a call: for the operator changing the tenant itself. */
  async tenantUncounted(req: FastifyRequest, idOrUid: string): Promise<Tenant> {
    return this.resolve(req, idOrUid, false);
  }

  private async resolve(req: FastifyRequest, idOrUid: string, count: boolean): Promise<Tenant> {
    const env = req.scope.environmentId;
    const cacheKey = `${env}\u0000${idOrUid}`;
    let t = this.tenants.get(cacheKey);
    if (!t) {
      t = await findTenant(this.db, this.box, env, idOrUid);
      if (t) this.tenants.set(cacheKey, t);
    }
    if (req.scope.tenantId && (!t || t.id !== req.scope.tenantId)) {
      throw new HeraldError('forbidden', 'this key is scoped to another tenant');
    }
    if (!t) throw new HeraldError('not_found', `tenant "${idOrUid}" was not found in the ${req.scope.environment} environment`);
    if (count && t.callQuota !== null && !(await countCall(this.db, t.id))) {
      throw new HeraldError(
        'rate_limited',
        `tenant "${t.uid}" has used its quota of ${t.callQuota} calls in the ${req.scope.environment} environment; raise it with PATCH /v1/tenants/${t.uid} {"callQuota": …}`,
        { retryAfter: 3600 },
      );
    }
    return t;
  }

  forgetTenant(id: string): void {
    this.tenants.deleteWhere((t) => t.id === id);
  }
}
