import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler, RouteOptions } from 'fastify';
import { type Actor, actorOfKey, requireOperator, resolveTenant } from '../auth/actor.js';
import type { Db } from '../db/db.js';
import { HeraldError } from '../errors.js';
import { findKey, hashKey, recordKeyUse, type KeyScope } from '../keys/keys.js';
import { findTenant, type Tenant } from '../tenants/tenants.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { KeyRateLimiter } from './rateLimit.js';
import { TtlCache } from '../cache.js';

// REST's door to the one authorization model (auth/actor.ts): the key of each request becomes an
// Actor once, in onRequest, and every decision after that (operator-only routes, the tenant a
// path names, the environment) is taken by the Actor functions GraphQL's resolvers call too.

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: the Actor of the request's key, set before any route runs. */
    actor: Actor;
    /**
     * The tenant the `:tenant` path parameter names, checked against the actor and counted against
     * its call quota: set before the handler of every route whose path has `:tenant`.
     */
    tenant: Tenant;
  }
  interface FastifyContextConfig {
    /** The call is not counted against the tenant's quota (the operator changing the tenant itself). */
    uncountedCall?: boolean;
  }
}

/** A route's preHandler for operator-only routes: refuses an actor bound to one tenant. */
export const operatorOnly: preHandlerAsyncHookHandler = async (req) => requireOperator(req.actor);

/** Routes under a tenant: a `:tenant` segment in the path. */
const TENANT_PATH = /\/:tenant(\/|$)/;

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
      if (!scope)
        throw new HeraldError(
          'unauthorized',
          'this key is not valid (unknown, revoked or expired); create one with `herald keys create` or POST /v1/keys',
        );
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
    req.actor = actorOfKey(scope);
  }

  /**
   * Installs REST authorization on a plugin, before its routes are added: every request is
   * authenticated, and every route under /v1/tenants/:tenant gets a preHandler that resolves the
   * tenant onto `req.tenant`. It runs after the route's own preHandlers, so an operator-only check
   * there comes first (a tenant key is told it needs an operator, not that the tenant is another's).
   */
  install(api: FastifyInstance): void {
    // Declared on every request (one object shape); null until onRequest and the preHandler set them.
    api.decorateRequest('actor', null as unknown as Actor);
    api.decorateRequest('tenant', null as unknown as Tenant);
    api.addHook('onRequest', async (req) => this.authenticate(req));
    const resolvePathTenant: preHandlerAsyncHookHandler = async (req) => {
      if (!req.tenant) req.tenant = await this.pathTenant(req);
    };
    api.addHook('onRoute', (route: RouteOptions) => {
      if (!TENANT_PATH.test(route.url)) return;
      const own = route.preHandler === undefined ? [] : [route.preHandler].flat();
      if (!own.includes(resolvePathTenant)) route.preHandler = [...own, resolvePathTenant];
    });
  }

  /**
   * For routes with large bodies: resolves the path's tenant in onRequest, before the body is read,
   * so a key scoped to another tenant (or over its quota) does not make Herald read and parse
   * megabytes it will refuse. Path parameters are not validated yet there: one validation will
   * refuse (a NUL, which Postgres cannot even compare; an over-long one) is left to it, and the
   * preHandler resolves the tenant as usual if validation lets it through.
   */
  readonly tenantBeforeBody = async (req: FastifyRequest): Promise<void> => {
    const { tenant } = req.params as { tenant?: string };
    if (tenant === undefined || tenant.length > 200 || tenant.includes('\u0000')) return;
    req.tenant = await this.pathTenant(req);
  };

  private pathTenant(req: FastifyRequest): Promise<Tenant> {
    return this.tenantFor(req.actor, (req.params as { tenant: string }).tenant, { count: req.routeOptions.config.uncountedCall !== true });
  }

  /** The tenant `idOrUid` names, for this actor (auth/actor.ts resolveTenant), through this node's cache. */
  tenantFor(actor: Actor, idOrUid: string, opts: { count: boolean }): Promise<Tenant> {
    return resolveTenant(this.db, this.box, actor, idOrUid, { count: opts.count, find: this.cachedTenant });
  }

  private readonly cachedTenant = async (environmentId: string, idOrUid: string): Promise<Tenant | undefined> => {
    const cacheKey = `${environmentId}\u0000${idOrUid}`;
    let t = this.tenants.get(cacheKey);
    if (!t) {
      t = await findTenant(this.db, this.box, environmentId, idOrUid);
      if (t) this.tenants.set(cacheKey, t);
    }
    return t;
  };

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

  forgetTenant(id: string): void {
    this.tenants.deleteWhere((t) => t.id === id);
  }
}
