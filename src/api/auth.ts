import type { FastifyRequest } from 'fastify';
import type { Db } from '../db/db.js';
import { HeraldError } from '../errors.js';
import { findKey, hashKey, type KeyScope } from '../keys/keys.js';
import { countCall, findTenant, type Tenant } from '../tenants/tenants.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { KeyRateLimiter } from './rateLimit.js';
import { TtlCache } from '../cache.js';

declare module 'fastify' {
  interface FastifyRequest {
    scope: KeyScope;
  }
}

/**
 * Key checks and tenant lookups. A revoked key or a deleted tenant stays usable on other nodes for
 * at most the cache's TTL (5 s); on this node the change is seen at once.
 */
export class Auth {
  private readonly keys = new TtlCache<KeyScope>(5000);
  private readonly tenants = new TtlCache<Tenant>(5000);

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
    let scope = this.keys.get(hash);
    if (!scope) {
      scope = await findKey(this.db, m[1]);
      if (!scope) throw new HeraldError('unauthorized', 'this key is not valid (unknown, revoked or expired); create one with `herald keys create`');
      this.keys.set(hash, scope);
    }
    if (scope.kind !== 'secret') {
      throw new HeraldError('forbidden', `a ${scope.kind} key cannot call this API; use a secret key (sk_…)`);
    }
    this.limiter.take(scope.keyId);
    req.scope = scope;
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
