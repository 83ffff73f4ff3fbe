import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { listAudit, writeAudit } from '../accounts/audit.js';
import { listRecords, type RecordKind, subscriptionsByState } from '../billing/records.js';
import { getRecovery, type Recovery, startRecovery } from '../delivery/sql/recoverDeliveries.js';
import { type InboundStatus } from '../inbound/sql/storeInbound.js';
import { listInbound } from '../inbound/sql/readInbound.js';
import { listSources } from '../sources/sources.js';
import { completeEnrolment, logInOrEnrol, type AccountsDeps } from '../accounts/logIn.js';
import { exchangeClientToken } from '../keys/clientTokens.js';
import { changeAllowedOriginsAudited, createKeyAudited, type KeyChangeBy, revokeKeyAudited } from '../keys/keyChanges.js';
import { type KeyInfo, listKeys } from '../keys/keys.js';
import { logOut, refreshSession, type Session } from '../accounts/sessions.js';
import { totpQrCode } from '../accounts/totp.js';
import {
  clearMfa,
  createUser,
  createUserToEnrol,
  disableUser,
  enableUser,
  getUser,
  listUsers,
  resetMfa,
  type SecondFactor,
  type User,
} from '../accounts/users.js';
import type { ApiDeps } from '../api/deps.js';
import { type Actor, requireOperator, resolveOwner, resolveTenant } from '../auth/actor.js';
import { endpointContext } from '../auth/endpointContext.js';
import { createCustomerAnnounced, updateCustomerAnnounced } from '../customers/customerChanges.js';
import { type Address, type Customer, type CustomerKind, getCustomer, listCustomers } from '../customers/customers.js';
import { attemptsOfDeliveries, deliveriesOfEvents } from '../delivery/sql/readDeliveries.js';
import { resendDelivery } from '../delivery/sql/resendDelivery.js';
import {
  type BodyFormat,
  createEndpoint,
  type Endpoint,
  type EndpointInput,
  getEndpoint,
  getSecret,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from '../endpoints/endpoints.js';
import { sendTestEvent } from '../endpoints/testEvent.js';
import { badRequest, HeraldError, notFound } from '../errors.js';
import { listEventTypes } from '../event-types/eventTypes.js';
import { getEvent, listEvents } from '../events/readEvents.js';
import { type EndpointHealthView, readEndpointHealth } from '../endpoints/readEndpointHealth.js';
import { CATALOGS } from '../event-types/catalogs/index.js';
import { OPERATOR_EVENT_TYPES } from '../operator/operatorEvents.js';
import { readAttemptBodies } from './attemptBodies.js';
import { batchByTick } from './batch.js';
import { decodeCursor, encodeCursor, type Page } from '../pagination.js';
import { billingTotals, type Bucket, deliveryReport, failingEndpoints, reportByEventType } from '../reports/deliveryReport.js';
import { tenantOf } from '../tenants/ownerOf.js';
import { findTenant, listTenants, type Tenant } from '../tenants/tenants.js';

export interface PublicContext {
  deps: ApiDeps;
  address: string | null;
  /** The request's Origin header, when a browser sent one: checked against a public key's origins. */
  origin: string | null;
}

export interface AuthenticatedContext extends PublicContext {
  actor: Actor;
  session: Session;
  sessionKey: string;
}

const accounts = (deps: ApiDeps): AccountsDeps => ({ db: deps.db, box: deps.box, sessionTtlMs: deps.config.sessionTtlMs });
const ENV_OUT = (e: string) => e.toUpperCase();
const ENV_IN = (e: string | null | undefined) => (e ? e.toLowerCase() : undefined);

// ---- JSON: custom data, schemas and examples are free-form JSON values.
function literal(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literal(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      throw badRequest(`a JSON value cannot be a ${node.kind}`);
  }
}
const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literal,
});

// ---- Pages: `first` (default 50, at most 100) and `after` (the endCursor of the page before).
// Cursors are REST's opaque ones (pagination.ts), each bound to its list: an `after` that is not an
// endCursor of the same list is refused rather than answering a wrong page.
interface PageArgs {
  limit: number;
  cursor?: string;
  list: string;
}
function pageArgs(args: { first?: number | null; after?: string | null }, list: string): PageArgs {
  const limit = args.first ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest(`first must be between 1 and 100, not ${limit}`);
  const name = `graphql:${list}`;
  if (args.after === undefined || args.after === null) return { limit, list: name };
  if (args.after.length === 0 || args.after.length > 400) throw badRequest('after must be the endCursor of a previous page');
  return { limit, cursor: decodeCursor(name, args.after), list: name };
}
const connection = <T, U>(page: Page<T>, map: (t: T) => U, args: PageArgs) => ({
  nodes: page.data.map(map),
  pageInfo: {
    hasNextPage: page.nextCursor !== null,
    endCursor: page.nextCursor === null ? null : encodeCursor(args.list, page.nextCursor),
  },
});

/**
 * What tenants(search:) keeps, for the one tenant a tenant session lists (its own, already loaded):
 * the same rule as listTenants' SQL, with JavaScript's case folding for the database's.
 */
const matchesSearch = (t: Tenant, search: string) =>
  t.id === search || [t.uid, t.name].some((s) => s.toLowerCase().startsWith(search.toLowerCase()));
const tenantNode = (t: Tenant) => ({ id: t.id, uid: t.uid, name: t.name, createdAt: t.createdAt });
const customerNode = (c: Customer) => ({ ...c, kind: c.kind.toUpperCase() });
const endpointNode = (e: Endpoint) => ({ ...e, format: e.format.toUpperCase() });
const recoveryNode = (r: Recovery) => ({ ...r, status: r.status.toUpperCase() });

/** Null fields of a GraphQL input are "not given". */
function given<T extends object>(input: T | null | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

function customDataObject(data: unknown, what: string): Record<string, unknown> {
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw badRequest(`${what} must be a JSON object of fields, like {"tier": "gold"}`);
  return data as Record<string, unknown>;
}

function time(value: string | null | undefined, fallback: number, name: string): number {
  if (value === null || value === undefined) return fallback;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw badRequest(`${name} must be an ISO 8601 time like 2026-01-31T00:00:00Z, not "${value}"`);
  return ms;
}

// ---- Reaching objects the way REST does: through the actor.
const tenantFor = (ctx: AuthenticatedContext, tenant: string | null | undefined) =>
  resolveTenant(ctx.deps.db, ctx.deps.box, ctx.actor, tenant);

/** A customer by id (its tenant found from it), or by id or key within a named tenant. */
async function customerFor(ctx: AuthenticatedContext, customerId: string, tenant: string | null | undefined): Promise<Customer> {
  const { db, box } = ctx.deps;
  if (tenant) return getCustomer(db, (await tenantFor(ctx, tenant)).id, customerId);
  const owner = await resolveOwner(db, box, ctx.actor, await tenantOf(db, ctx.actor.environmentId, 'customer', customerId), () =>
    notFound('customer', customerId),
  );
  return getCustomer(db, owner.id, customerId);
}

async function endpointFor(ctx: AuthenticatedContext, id: string): Promise<Endpoint> {
  const { db, box } = ctx.deps;
  const owner = await resolveOwner(db, box, ctx.actor, await tenantOf(db, ctx.actor.environmentId, 'endpoint', id), () =>
    notFound('endpoint', id),
  );
  return getEndpoint(db, owner.id, id);
}

function endpointInput<T extends { format?: string | null }>(input: T): Partial<EndpointInput> {
  const g = given(input) as Partial<EndpointInput> & { format?: string };
  return { ...g, ...(g.format ? { format: g.format.toLowerCase() as BodyFormat } : {}) };
}

async function createCustomerOf(
  ctx: AuthenticatedContext,
  kind: CustomerKind,
  tenant: string | null | undefined,
  input: Record<string, unknown>,
): Promise<unknown> {
  const t = await tenantFor(ctx, tenant);
  const g = given(input) as { key: string; name?: string; email?: string; address?: Address; customData?: unknown };
  const { customer, released } = await createCustomerAnnounced(ctx.deps.db, ctx.deps.box, ctx.deps.clock, t.id, {
    key: g.key,
    kind,
    name: g.name,
    email: g.email,
    address: g.address ? given(g.address) : undefined,
    customData: g.customData === undefined ? undefined : customDataObject(g.customData, 'customData'),
  });
  ctx.deps.onEventsAccepted();
  if (released) ctx.deps.onInboundReceived();
  return customerNode(customer);
}

async function changeCustomer(
  ctx: AuthenticatedContext,
  customerId: string,
  tenant: string | null | undefined,
  patch: { address?: Address; customData?: Record<string, unknown> },
) {
  const current = await customerFor(ctx, customerId, tenant);
  const { customer, released } = await updateCustomerAnnounced(ctx.deps.db, ctx.deps.box, ctx.deps.clock, current, patch);
  ctx.deps.onEventsAccepted();
  if (released) ctx.deps.onInboundReceived();
  return customerNode(customer);
}

// ---- Users: operators manage the people of their own environment.
const userNode = (u: User) => ({
  ...u,
  role: u.role.toUpperCase(),
  environment: u.environment ? ENV_OUT(u.environment) : null,
  status: u.status.toUpperCase(),
});

async function withSecondFactor(made: { user: User } & Partial<SecondFactor>) {
  // A user left to enrol at its next login: nothing to show.
  if (!made.totpSecret || !made.otpauthUri)
    return { user: userNode(made.user), totpSecret: null, otpauthUri: null, qrCode: null, recoveryCodes: [] };
  return {
    user: userNode(made.user),
    totpSecret: made.totpSecret,
    otpauthUri: made.otpauthUri,
    qrCode: (await totpQrCode(made.otpauthUri)).dataUrl,
    recoveryCodes: made.recoveryCodes,
  };
}

/**
 * The user an operator names, if it may manage it: a user of the session's environment, or one of
 * every environment when the operator itself is of every environment. Others are not found.
 */
async function managedUser(ctx: AuthenticatedContext, id: string): Promise<User> {
  requireOperator(ctx.actor);
  const me = await getUser(ctx.deps.db, ctx.actor.id);
  const target = await getUser(ctx.deps.db, id).catch(() => undefined);
  const reachable = target && (target.environment === ctx.actor.environment || (target.environment === null && me.environment === null));
  if (!reachable) throw new HeraldError('not_found', `no user "${id}" in the ${ctx.actor.environment} environment`);
  return target;
}

/** A customer reached through customers() or a mutation was already checked against the actor. */
async function records(ctx: AuthenticatedContext, kind: RecordKind, c: Customer, args: Args) {
  const at = pageArgs(args, `records:${kind}`);
  const { limit, cursor } = at;
  return connection(await listRecords(ctx.deps.db, kind, c.tenantId, { limit, cursor, customerId: c.id }), (r) => r, at);
}

/** Revealing or rotating a signing secret is written to the audit log (never the secret itself). */
async function auditSecret(ctx: AuthenticatedContext, action: 'endpoint.secret_revealed' | 'endpoint.secret_rotated', endpoint: Endpoint) {
  await writeAudit(ctx.deps.db, {
    environmentId: ctx.actor.environmentId,
    actor: ctx.actor.id,
    action,
    target: endpoint.id,
    address: ctx.address,
    details: { tenantId: endpoint.tenantId, session: ctx.actor.sessionId },
  });
}

const auditContext = (ctx: AuthenticatedContext) => ({ actor: ctx.actor.id, address: ctx.address });

// ---- API keys: what REST's /v1/keys does, for an operator's session (keys/keyChanges.ts audits both).
const keyChangeBy = (ctx: AuthenticatedContext): KeyChangeBy => ({
  environmentId: ctx.actor.environmentId,
  actor: ctx.actor.id,
  address: ctx.address,
  details: { session: ctx.actor.sessionId },
});
const apiKeyNode = (k: KeyInfo) => ({
  id: k.id,
  kind: k.kind.toUpperCase(),
  prefix: k.prefix,
  name: k.name,
  environment: ENV_OUT(k.environment),
  tenant: k.tenant ? { id: k.tenant, uid: k.tenantUid } : null,
  allowedOrigins: k.allowedOrigins,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  expiresAt: k.expiresAt,
  revokedAt: k.revokedAt,
  active: k.revokedAt === null && (k.expiresAt === null || Date.parse(k.expiresAt) > Date.now()),
});

/** Which catalog each event type name comes from: an imported catalog, Herald's own operational events ("herald"), or none (made by hand). */
const CATALOG_OF = new Map([
  ...Object.values(CATALOGS).flatMap((c) => c.types.map((t) => [t.name, c.name] as const)),
  ...OPERATOR_EVENT_TYPES.map((t) => [t.name, 'herald'] as const),
]);

// Per-request batching (batch.ts) of fields read for many rows at once.
interface Loaders {
  health: (endpointId: string) => Promise<EndpointHealthView | undefined>;
  body: (attemptId: string) => Promise<string | null | undefined>;
}
const loaders = new WeakMap<AuthenticatedContext, Loaders>();
function loadersOf(ctx: AuthenticatedContext): Loaders {
  let l = loaders.get(ctx);
  if (!l) {
    // Only endpoints and attempts this request already reached through its actor get here.
    l = {
      health: batchByTick((ids: string[]) => readEndpointHealth(ctx.deps.db, ids, ctx.deps.config.circuitThreshold)),
      body: batchByTick((ids: string[]) => readAttemptBodies(ctx.deps.db, ids)),
    };
    loaders.set(ctx, l);
  }
  return l;
}

/** An event's deliveries and their attempts, as events() and event() answer them. */
async function withDeliveries<E extends { id: string }>(ctx: AuthenticatedContext, events: E[]) {
  const deliveries = await deliveriesOfEvents(
    ctx.deps.db,
    events.map((e) => e.id),
  );
  const attempts = await attemptsOfDeliveries(
    ctx.deps.db,
    deliveries.map((d) => d.id),
  );
  return (e: E) => ({
    ...e,
    deliveries: deliveries
      .filter((d) => d.eventId === e.id)
      .map((d) => ({ ...d, attemptCount: d.attempts, attempts: attempts.filter((a) => a.deliveryId === d.id) })),
  });
}

const INBOUND_STATUSES: InboundStatus[] = ['received', 'processed', 'unmatched', 'rejected', 'failed'];

type Args = Record<string, any>;
type Resolver<C> = (parent: any, args: Args, ctx: C) => unknown;

const loginNode = (user: User, session: Session, key: string) => ({
  id: user.id,
  username: user.email,
  sessions: [{ sessionKey: key, expiresAt: session.expiresAt, environment: ENV_OUT(session.environment) }],
});

export const publicResolvers: Record<string, Record<string, Resolver<PublicContext>>> = {
  Query: { ok: () => true },
  Mutation: {
    async logIn(_p, { input }, ctx) {
      const answer = await logInOrEnrol(accounts(ctx.deps), {
        username: input.username,
        password: input.password,
        totpCode: input.totpCode,
        recoveryCode: input.recoveryCode,
        environment: ENV_IN(input.environment),
        address: ctx.address,
      });
      if ('enrolment' in answer) {
        const { ticket, totpSecret, otpauthUri, expiresAt } = answer.enrolment;
        return {
          login: null,
          enrolment: { ticket, totpSecret, otpauthUri, expiresAt, qrSvgDataUrl: (await totpQrCode(otpauthUri)).dataUrl },
        };
      }
      return { login: loginNode(answer.user, answer.session, answer.key), enrolment: null };
    },
    async completeEnrolment(_p, { input }, ctx) {
      const done = await completeEnrolment(accounts(ctx.deps), {
        ticket: input.ticket,
        totpCode: input.totpCode,
        environment: ENV_IN(input.environment),
        address: ctx.address,
      });
      return { login: loginNode(done.user, done.session, done.key), recoveryCodes: done.recoveryCodes };
    },
    async exchangeClientToken(_p, { input }, ctx) {
      const { session, key } = await exchangeClientToken(ctx.deps.db, {
        publicKey: input.publicKey,
        clientToken: input.clientToken,
        origin: ctx.origin,
        address: ctx.address,
        sessionTtlMs: ctx.deps.config.sessionTtlMs,
      });
      // The same shape as logIn, so an embedded portal reads its key where a person's is: the
      // "login" is the client token (no user stands behind this session).
      return {
        login: {
          id: session.clientTokenId,
          username: session.email,
          sessions: [{ sessionKey: key, expiresAt: session.expiresAt, environment: ENV_OUT(session.environment) }],
        },
      };
    },
  },
};

export const authenticatedResolvers: Record<string, unknown> = {
  JSON: JSONScalar,
  Customer: {
    subscriptions: (c: Customer, args: Args, ctx: AuthenticatedContext) => records(ctx, 'subscriptions', c, args),
    transactions: (c: Customer, args: Args, ctx: AuthenticatedContext) => records(ctx, 'transactions', c, args),
    refunds: (c: Customer, args: Args, ctx: AuthenticatedContext) => records(ctx, 'refunds', c, args),
  },
  EventType: {
    catalog: (t: { name: string }) => CATALOG_OF.get(t.name) ?? null,
  },
  Endpoint: {
    async health(e: Endpoint, _a: Args, ctx: AuthenticatedContext) {
      const h = await loadersOf(ctx).health(e.id);
      return h
        ? { ...h, circuit: h.circuit.toUpperCase() }
        : { circuit: 'CLOSED', consecutiveFailures: 0, failingSince: null, circuitOpenUntil: null };
    },
  },
  Attempt: {
    responseBody: async (a: { id: string }, _a: Args, ctx: AuthenticatedContext) => (await loadersOf(ctx).body(a.id)) ?? null,
  },
  User: {
    async tenant(u: User, _a: Args, ctx: AuthenticatedContext) {
      if (!u.tenantId) return null;
      const t = await findTenant(ctx.deps.db, ctx.deps.box, ctx.actor.environmentId, u.tenantId);
      return t ? { id: t.id, uid: t.uid } : null;
    },
  },
  Query: {
    async viewer(_p: unknown, _a: Args, ctx: AuthenticatedContext) {
      const { actor, session } = ctx;
      const t = actor.tenantId ? await findTenant(ctx.deps.db, ctx.deps.box, actor.environmentId, actor.tenantId) : undefined;
      return {
        id: actor.id,
        username: actor.username,
        role: actor.role.toUpperCase(),
        environment: ENV_OUT(actor.environment),
        tenant: t ? { id: t.id, uid: t.uid } : null,
        sessionExpiresAt: session.expiresAt,
      };
    },
    async users(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const at = pageArgs(args, 'users');
      const { limit, cursor } = at;
      return connection(await listUsers(ctx.deps.db, { environmentId: ctx.actor.environmentId, limit, after: cursor }), userNode, at);
    },
    async tenants(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const at = pageArgs(args, 'tenants');
      const { limit, cursor } = at;
      const search = args.search ?? undefined;
      if (search !== undefined && (search.length < 1 || search.length > 200))
        throw badRequest('search must be 1 to 200 characters (leave it out to list every tenant)');
      // A session bound to one tenant lists that tenant only, as a tenant key would see it.
      if (ctx.actor.tenantId) {
        const own = await tenantFor(ctx, null);
        const found = cursor === undefined && (search === undefined || matchesSearch(own, search));
        return connection({ data: found ? [own] : [], nextCursor: null }, tenantNode, at);
      }
      return connection(await listTenants(ctx.deps.db, ctx.deps.box, ctx.actor.environmentId, { limit, cursor, search }), tenantNode, at);
    },
    async tenant(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      return tenantNode(await tenantFor(ctx, args.id));
    },
    async customers(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const at = pageArgs(args, 'customers');
      const { limit, cursor } = at;
      if (args.search !== undefined && args.search !== null && (args.search.length < 1 || args.search.length > 200))
        throw badRequest('search must be 1 to 200 characters');
      const page = await listCustomers(ctx.deps.db, t.id, {
        limit,
        cursor,
        search: args.search ?? undefined,
        kind: args.kind ? (args.kind.toLowerCase() as CustomerKind) : undefined,
      });
      return connection(page, customerNode, at);
    },
    async customer(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      return customerNode(await customerFor(ctx, args.customerId, args.tenant));
    },
    async customData(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      return (await customerFor(ctx, args.customerId, args.tenant)).customData;
    },
    async eventTypes(_p: unknown, _a: Args, ctx: AuthenticatedContext) {
      const out = [];
      let cursor: string | undefined;
      do {
        const page = await listEventTypes(ctx.deps.db, ctx.actor.environmentId, 500, cursor);
        out.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    },
    async endpoints(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      // A tenant has at most HERALD_MAX_ENDPOINTS_PER_TENANT endpoints: one page holds them all.
      const page = await listEndpoints(ctx.deps.db, t.id, ctx.deps.config.maxEndpointsPerTenant);
      return page.data.map(endpointNode);
    },
    async endpointSecret(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const endpoint = await endpointFor(ctx, args.endpointId);
      const secret = await getSecret(ctx.deps.db, ctx.deps.box, endpoint.tenantId, endpoint.id);
      await auditSecret(ctx, 'endpoint.secret_revealed', endpoint);
      return secret;
    },
    async sources(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const out = [];
      let cursor: string | undefined;
      do {
        const page = await listSources(ctx.deps.db, ctx.deps.config.publicUrl, t.id, 500, cursor);
        out.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    },
    async inboundMessages(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const at = pageArgs(args, 'inboundMessages');
      const { limit, cursor } = at;
      const status = args.status ? (String(args.status).toLowerCase() as InboundStatus) : undefined;
      if (status && !INBOUND_STATUSES.includes(status))
        throw badRequest(`status must be one of ${INBOUND_STATUSES.join(', ').toUpperCase()}, not "${args.status}"`);
      return connection(
        await listInbound(ctx.deps.db, t.id, { limit, cursor, sourceId: args.source ?? undefined, status }),
        (m) => ({ ...m, status: m.status.toUpperCase() }),
        at,
      );
    },
    async events(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const at = pageArgs(args, 'events');
      const { limit, cursor } = at;
      const since = args.since == null ? undefined : time(args.since, 0, 'since');
      const until = args.until == null ? undefined : time(args.until, 0, 'until');
      const endpointId = args.endpoint ?? undefined;
      // Any endpoint of the tenant, a deleted one too (its deliveries stay in the log).
      if (endpointId !== undefined && (await tenantOf(ctx.deps.db, ctx.actor.environmentId, 'endpoint', endpointId)) !== t.id)
        throw notFound('endpoint', endpointId);
      const page = await listEvents(
        ctx.deps.db,
        t.id,
        { type: args.type ?? undefined, status: args.status ?? undefined, since, until, endpointId },
        limit,
        cursor,
      );
      // Deliveries and their attempts for the whole page in two queries, whether asked for or not:
      // cheaper than a query per event when they are, and small when they are not.
      return connection(page, await withDeliveries(ctx, page.data), at);
    },
    async event(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const { deliveries: _summaries, ...e } = await getEvent(ctx.deps.db, t.id, args.id);
      return (await withDeliveries(ctx, [e]))(e);
    },
    async recovery(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const { db, box } = ctx.deps;
      const owner = await resolveOwner(db, box, ctx.actor, await tenantOf(db, ctx.actor.environmentId, 'recovery', args.id), () =>
        notFound('recovery', args.id),
      );
      return recoveryNode(await getRecovery(db, owner.id, args.id));
    },
    async report(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const to = time(args.to, Date.now(), 'to');
      const from = time(args.from, to - 86_400_000, 'from');
      if (from >= to) throw badRequest('from must be before to');
      const bucket = (args.bucket ?? 'HOUR').toLowerCase() as Bucket;
      const report = await deliveryReport(ctx.deps.db, t.id, from, to, bucket);
      return {
        ...report,
        billing: () => billingTotals(ctx.deps.db, t.id, from, to),
        subscriptionsByState: () => subscriptionsByState(ctx.deps.db, t.id, 100),
        byEventType: () => reportByEventType(ctx.deps.db, t.id, from, to),
        failingEndpoints: ({ first = 5 }: { first?: number | null }) => {
          if (first === null || !Number.isInteger(first) || first < 1 || first > 100)
            throw badRequest('failingEndpoints(first) must be a whole number from 1 to 100');
          return failingEndpoints(ctx.deps.db, t.id, from, to, first);
        },
      };
    },
    async auditLog(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const at = pageArgs(args, 'auditLog');
      const { limit, cursor } = at;
      return connection(await listAudit(ctx.deps.db, { environmentId: ctx.actor.environmentId, limit, after: cursor }), (e) => e, at);
    },
    async apiKeys(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const at = pageArgs(args, 'apiKeys');
      const { limit, cursor } = at;
      return connection(await listKeys(ctx.deps.db, { environmentId: ctx.actor.environmentId, limit, cursor }), apiKeyNode, at);
    },
  },
  Mutation: {
    createPerson: (_p: unknown, args: Args, ctx: AuthenticatedContext) => createCustomerOf(ctx, 'person', args.tenant, args.input),
    createOrganization: (_p: unknown, args: Args, ctx: AuthenticatedContext) =>
      createCustomerOf(ctx, 'organization', args.tenant, args.input),
    saveAddress: (_p: unknown, args: Args, ctx: AuthenticatedContext) =>
      changeCustomer(ctx, args.customerId, args.tenant, { address: given(args.input) as Address }),
    saveCustomData: (_p: unknown, args: Args, ctx: AuthenticatedContext) =>
      changeCustomer(ctx, args.customerId, args.tenant, { customData: customDataObject(args.data, 'data') }),
    async createEndpoint(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const t = await tenantFor(ctx, args.tenant);
      const { secret, ...endpoint } = await createEndpoint(
        ctx.deps.db,
        endpointContext(ctx.actor, ctx.deps),
        t.id,
        endpointInput(args.input) as EndpointInput,
      );
      return { endpoint: endpointNode(endpoint), secret };
    },
    async updateEndpoint(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const current = await endpointFor(ctx, args.id);
      return endpointNode(await updateEndpoint(ctx.deps.db, endpointContext(ctx.actor, ctx.deps), current, endpointInput(args.input)));
    },
    async rotateEndpointSecret(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const endpoint = await endpointFor(ctx, args.endpointId);
      const secret = await rotateSecret(ctx.deps.db, ctx.deps.box, endpoint.tenantId, endpoint.id);
      await auditSecret(ctx, 'endpoint.secret_rotated', endpoint);
      return secret;
    },
    async recoverEndpoint(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const endpoint = await endpointFor(ctx, args.endpointId);
      const r = await startRecovery(
        ctx.deps.db,
        endpoint.tenantId,
        endpoint.id,
        time(args.since, 0, 'since'),
        time(args.until, Date.now(), 'until'),
      );
      return recoveryNode(r);
    },
    async sendTestEvent(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const endpoint = await endpointFor(ctx, args.endpointId);
      return sendTestEvent(ctx.deps.db, ctx.deps.events, ctx.actor.environmentId, endpoint, args.eventType);
    },
    async resendDelivery(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const { db, box } = ctx.deps;
      const owner = await resolveOwner(db, box, ctx.actor, await tenantOf(db, ctx.actor.environmentId, 'delivery', args.id), () =>
        notFound('delivery', args.id),
      );
      await resendDelivery(db, owner.id, args.id);
      ctx.deps.onEventsAccepted();
      return { id: args.id, status: 'I' };
    },
    async refreshSession(_p: unknown, _a: Args, ctx: AuthenticatedContext) {
      const { session, key } = await refreshSession(ctx.deps.db, ctx.sessionKey, {
        ttlMs: ctx.deps.config.sessionTtlMs,
        address: ctx.address,
      });
      return { sessionKey: key, expiresAt: session.expiresAt, environment: ENV_OUT(session.environment) };
    },
    async logOut(_p: unknown, _a: Args, ctx: AuthenticatedContext) {
      await logOut(ctx.deps.db, ctx.sessionKey, { address: ctx.address });
      return true;
    },
    async createUser(_p: unknown, { input }: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const role = String(input.role).toLowerCase() as User['role'];
      const tenantId = role === 'tenant' ? (await tenantFor(ctx, input.tenant ?? '')).id : input.tenant ? input.tenant : null;
      // An operator made from a session reaches that session's environment only: a sandbox login
      // cannot mint access to production.
      const made = {
        email: input.email,
        role,
        tenantId,
        environmentId: role === 'operator' ? ctx.actor.environmentId : null,
        password: input.password,
      };
      return withSecondFactor(
        input.enrolAtFirstLogin
          ? await createUserToEnrol(ctx.deps.db, made, auditContext(ctx))
          : await createUser(ctx.deps.db, ctx.deps.box, made, auditContext(ctx)),
      );
    },
    async disableUser(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const u = await managedUser(ctx, args.id);
      if (u.id === ctx.actor.id) throw badRequest('you cannot disable yourself; ask another operator');
      return userNode(await disableUser(ctx.deps.db, u.id, auditContext(ctx)));
    },
    async enableUser(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const u = await managedUser(ctx, args.id);
      return userNode(await enableUser(ctx.deps.db, u.id, auditContext(ctx)));
    },
    async resetMfa(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      const u = await managedUser(ctx, args.id);
      return withSecondFactor(
        args.enrolAtNextLogin
          ? await clearMfa(ctx.deps.db, u.id, auditContext(ctx))
          : await resetMfa(ctx.deps.db, ctx.deps.box, u.id, auditContext(ctx)),
      );
    },
    async createApiKey(_p: unknown, { input }: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const g = given(input) as { kind?: string; tenant?: string; allowedOrigins?: string[]; expiresInSeconds?: number; name?: string };
      // The tenant is found the way every other operation finds one; issueKey then checks the rest
      // as it does for REST and the CLI, in the same words.
      const tenant = g.tenant === undefined ? undefined : (await tenantFor(ctx, g.tenant)).id;
      const made = await createKeyAudited(
        ctx.deps.db,
        { ...g, kind: g.kind?.toLowerCase(), tenant, environment: ctx.actor.environment },
        keyChangeBy(ctx),
      );
      return { apiKey: apiKeyNode(made.info), key: made.key };
    },
    async revokeApiKey(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const revoked = await revokeKeyAudited(ctx.deps.db, args.id, keyChangeBy(ctx));
      if (!revoked) throw notFound('key', args.id);
      // At once on this node: REST's key cache forgets it (other nodes within their cache's 5 s).
      ctx.deps.auth.forgetKey(args.id);
      return apiKeyNode(revoked);
    },
    async setApiKeyOrigins(_p: unknown, args: Args, ctx: AuthenticatedContext) {
      requireOperator(ctx.actor);
      const changed = await changeAllowedOriginsAudited(ctx.deps.db, args.id, args.allowedOrigins, keyChangeBy(ctx));
      if (!changed) throw notFound('key', args.id);
      return apiKeyNode(changed);
    },
  },
};
