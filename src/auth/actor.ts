import type { Session } from '../accounts/sessions.js';
import type { Queryable } from '../db/db.js';
import { badRequest, HeraldError } from '../errors.js';
import type { EnvironmentName, KeyScope } from '../keys/keys.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { countCall, findTenant, type Tenant } from '../tenants/tenants.js';

// Who is calling, whatever the door: a secret key over REST, a person's session over GraphQL, or
// the session an embedded portal got for a client token. Authorization is decided from this alone, so a tenant session
// reaches exactly what a tenant-scoped key reaches: one environment always, and one tenant when
// `tenantId` is set. REST's Auth.tenant applies the same rules to a KeyScope; it can adopt
// `resolveTenant` as it is (issue 9).

export type ActorKind = 'key' | 'user' | 'client';

export interface Actor {
  kind: ActorKind;
  /** For the audit log: the key id (key_…), the user id (usr_…) or the client token id (ctk_…). */
  id: string;
  /** Set for a person: the session id (ses_…) and the username. */
  sessionId: string | null;
  username: string | null;
  /** operator: every tenant of the environment; tenant: the one tenant in tenantId. */
  role: 'operator' | 'tenant';
  environmentId: string;
  environment: EnvironmentName;
  tenantId: string | null;
}

export function actorOfKey(scope: KeyScope): Actor {
  return {
    kind: 'key',
    id: scope.keyId,
    sessionId: null,
    username: null,
    role: scope.tenantId ? 'tenant' : 'operator',
    environmentId: scope.environmentId,
    environment: scope.environment,
    tenantId: scope.tenantId,
  };
}

export function actorOfSession(s: Session): Actor {
  if (s.clientTokenId !== null) {
    // A client token is minted for one tenant and its session always carries it: refuse to make
    // anything wider of a row that somehow lacks it rather than hand out an operator.
    if (!s.tenantId) throw new HeraldError('unauthorized', 'this client-token session has no tenant; exchange a new client token');
    return {
      kind: 'client',
      id: s.clientTokenId,
      sessionId: s.id,
      username: s.email,
      role: 'tenant',
      environmentId: s.environmentId,
      environment: s.environment,
      tenantId: s.tenantId,
    };
  }
  // A session's tenant, not the user's role, decides its reach: a tenant user's session always
  // carries its tenant (logIn binds it), so the two agree; the tenant wins if they ever did not.
  return {
    kind: 'user',
    id: s.userId!,
    sessionId: s.id,
    username: s.email,
    role: s.tenantId ? 'tenant' : 'operator',
    environmentId: s.environmentId,
    environment: s.environment,
    tenantId: s.tenantId,
  };
}

const what = (a: Actor) => (a.kind === 'key' ? 'this key' : 'this session');

/** Operator-only operations: refused to anything bound to one tenant. */
export function requireOperator(actor: Actor): void {
  if (actor.tenantId) throw new HeraldError('forbidden', `${what(actor)} is bound to one tenant; this needs an operator`);
}

export interface ResolveTenantOptions {
  /** Count the call against the tenant's quota (REST counts API calls; default false). */
  count?: boolean;
  /** A lookup to use instead of the database (REST passes its cached one). */
  find?: (environmentId: string, idOrUid: string) => Promise<Tenant | undefined>;
}

/**
 * The tenant an operation names (id or uid), checked against the actor: a tenant-bound actor may
 * leave it out (its own tenant) and is refused any other (`forbidden`, said before whether that
 * tenant exists, so it learns nothing of other tenants); an operator must name one that exists in
 * its environment (`not_found` otherwise).
 */
export async function resolveTenant(
  q: Queryable,
  box: SecretBox,
  actor: Actor,
  idOrUid: string | null | undefined,
  opts: ResolveTenantOptions = {},
): Promise<Tenant> {
  const named = idOrUid ?? actor.tenantId;
  if (!named) throw badRequest('name the tenant (its id or uid): an operator reaches every tenant of the environment');
  const t = opts.find ? await opts.find(actor.environmentId, named) : await findTenant(q, box, actor.environmentId, named);
  if (actor.tenantId && (!t || t.id !== actor.tenantId)) throw new HeraldError('forbidden', `${what(actor)} is bound to another tenant`);
  if (!t) throw new HeraldError('not_found', `tenant "${named}" was not found in the ${actor.environment} environment`);
  if (opts.count && t.callQuota !== null && !(await countCall(q, t.id))) {
    throw new HeraldError(
      'rate_limited',
      `tenant "${t.uid}" has used its quota of ${t.callQuota} calls in the ${actor.environment} environment; raise it with PATCH /v1/tenants/${t.uid} {"callQuota": …}`,
      { retryAfter: 3600 },
    );
  }
  return t;
}

/**
 * For an object named by its id alone (a customer, an endpoint, a delivery): its tenant, when the
 * actor may reach it. An object of another tenant, or of the other environment, is answered
 * `not_found`, exactly like one that does not exist: ids of other tenants tell nothing.
 */
export async function resolveOwner(q: Queryable, box: SecretBox, actor: Actor, tenantId: string | undefined, notFound: () => HeraldError): Promise<Tenant> {
  if (!tenantId || (actor.tenantId && tenantId !== actor.tenantId)) throw notFound();
  const t = await findTenant(q, box, actor.environmentId, tenantId);
  if (!t || t.id !== tenantId) throw notFound();
  return t;
}
