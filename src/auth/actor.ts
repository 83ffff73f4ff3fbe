import type { Session } from '../accounts/sessions.js';
import { type Capability, grants, isCapability } from './capabilities.js';
import type { Queryable } from '../db/db.js';
import { badRequest, HeraldError } from '../errors.js';
import type { UrlCaller } from '../endpoints/urlPolicy.js';
import type { EnvironmentName, KeyScope } from '../keys/keys.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { countCall, findTenant, type Tenant } from '../tenants/tenants.js';

// Who is calling, whatever the door: a secret key over REST, a person's session over GraphQL, or
// the session an embedded portal got for a client token. Every decision of who may do what is
// made from this alone, by the functions below, which REST routes (api/auth.ts) and GraphQL
// resolvers call alike: a tenant session reaches exactly what a tenant-scoped key reaches, one
// environment always, and one tenant when `tenantId` is set.

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
  /**
   * What a client-token session may do (capabilities.ts), checked by requireCapability; null: not
   * limited by capabilities (keys and people's sessions, whose reach is their role's).
   */
  capabilities: ReadonlySet<Capability> | null;
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
    capabilities: null,
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
      capabilities: sessionCapabilities(s),
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
    capabilities: null,
  };
}

// A client-token session stores the names its token was minted with (checked then). A name Herald
// does not know grants nothing; a session with none stored (made before sessions stored them)
// reaches everything, as client tokens then did.
function sessionCapabilities(s: Session): ReadonlySet<Capability> | null {
  return s.capabilities === null ? null : new Set(s.capabilities.filter(isCapability));
}

/** What the actor holds, for messages: "key" or "session". */
const credential = (a: Actor) => (a.kind === 'key' ? 'key' : 'session');

/** Operator-only operations: refused to anything bound to one tenant. */
export function requireOperator(actor: Actor): void {
  if (actor.tenantId)
    throw new HeraldError(
      'forbidden',
      `this ${credential(actor)} is scoped to one tenant; this call needs an operator ${credential(actor)}`,
    );
}

/**
 * Operations that need a capability (a client-token session's limit). Refused, naming the missing
 * capability, to an actor whose capabilities do not grant it; keys and people's sessions are not
 * limited by capabilities.
 */
export function requireCapability(actor: Actor, capability: Capability): void {
  if (actor.capabilities === null || grants(actor.capabilities, capability)) return;
  const held = actor.capabilities.size ? [...actor.capabilities].join(', ') : 'none';
  throw new HeraldError(
    'forbidden',
    `this client-token session lacks the "${capability}" capability (it has: ${held}); mint a client token whose capabilities include "${capability}", or leave capabilities out for all of them`,
  );
}

/**
 * Every call stays in its actor's environment. Where an operation may name the environment (to
 * say which one it means), naming the other one is refused rather than ignored. `things` is what
 * the operation manages, for the message ("keys").
 */
export function requireEnvironment(actor: Actor, named: EnvironmentName | undefined, things: string): void {
  if (named === undefined || named === actor.environment) return;
  const c = credential(actor);
  throw new HeraldError(
    'forbidden',
    `this is a ${actor.environment} ${c}: it manages ${actor.environment} ${things} only; call with a ${named} operator ${c}`,
  );
}

/**
 * Whose URL rules apply when the actor sets an endpoint's address: a credential scoped to a tenant
 * is the tenant's, whoever holds it, so its URLs go through the address guard even in the sandbox.
 */
export const urlCaller = (actor: Actor): UrlCaller => (actor.tenantId ? 'tenant' : 'operator');

export interface ResolveTenantOptions {
  /** Count the call against the tenant's quota (REST counts API calls; default false). */
  count?: boolean;
  /** A lookup to use instead of the database (REST passes its node-wide cache). */
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
  if (actor.tenantId && (!t || t.id !== actor.tenantId))
    throw new HeraldError('forbidden', `this ${credential(actor)} is scoped to another tenant`);
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
export async function resolveOwner(
  q: Queryable,
  box: SecretBox,
  actor: Actor,
  tenantId: string | undefined,
  notFound: () => HeraldError,
): Promise<Tenant> {
  if (!tenantId || (actor.tenantId && tenantId !== actor.tenantId)) throw notFound();
  const t = await findTenant(q, box, actor.environmentId, tenantId);
  if (!t || t.id !== tenantId) throw notFound();
  return t;
}
