import { buildSchema, defaultFieldResolver, type GraphQLFieldResolver, isObjectType } from 'graphql';
import { requireCapability, requireOperator } from '../auth/actor.js';
import type { Capability } from '../auth/capabilities.js';
import type { AuthenticatedContext } from './resolvers.js';

// What each operation of the authenticated schema needs, checked in one place: guardResolvers wraps
// every field named here so that the Actor decides (requireCapability, requireOperator) before the
// resolver runs. Every Query and Mutation field must have an entry (guardResolvers refuses to build
// a schema otherwise, and a test holds it), so a new operation cannot be left open by forgetting it.
//
//   a capability  a client-token session needs it (keys and people's sessions are not limited)
//   'session'     any session: it shows or changes nothing beyond the session itself
//   'operator'    operators only (a tenant session, a client token's included, is refused)
//
// Fields of other types are listed where what they show needs more than the operation that reached
// them: a customer's billing records need billing:read whether reached through customers or createPerson.

export type FieldNeed = Capability | 'session' | 'operator';

export const FIELD_NEEDS: Record<string, Record<string, FieldNeed>> = {
  Query: {
    viewer: 'session',
    // A tenant session lists its own tenant only: what viewer.tenant already shows.
    tenants: 'session',
    // By id or uid: an operator reaches every tenant, a tenant session its own only (resolveTenant).
    tenant: 'session',
    // The environment's catalog, the same for every tenant (and published as docs/webhooks.md).
    eventTypes: 'session',
    customers: 'customers:read',
    customer: 'customers:read',
    customData: 'customers:read',
    endpoints: 'endpoints:read',
    // Whoever holds the secret can sign as Herald: it is shown to those who may change the endpoint.
    endpointSecret: 'endpoints:write',
    sources: 'sources:read',
    inboundMessages: 'sources:read',
    events: 'events:read',
    event: 'events:read',
    // The progress of resending: what the delivery log will show.
    recovery: 'events:read',
    report: 'reports:read',
    users: 'operator',
    auditLog: 'operator',
    apiKeys: 'operator',
  },
  Mutation: {
    createPerson: 'customers:write',
    createOrganization: 'customers:write',
    saveAddress: 'customers:write',
    saveCustomData: 'customers:write',
    createEndpoint: 'endpoints:write',
    updateEndpoint: 'endpoints:write',
    rotateEndpointSecret: 'endpoints:write',
    sendTestEvent: 'endpoints:write',
    recoverEndpoint: 'events:resend',
    resendDelivery: 'events:resend',
    refreshSession: 'session',
    logOut: 'session',
    createUser: 'operator',
    disableUser: 'operator',
    enableUser: 'operator',
    resetMfa: 'operator',
    createApiKey: 'operator',
    revokeApiKey: 'operator',
    setApiKeyOrigins: 'operator',
  },
  Customer: {
    subscriptions: 'billing:read',
    transactions: 'billing:read',
    refunds: 'billing:read',
  },
  Report: {
    billing: 'billing:read',
    subscriptionsByState: 'billing:read',
    // It names the endpoints (their URLs), as endpoints does.
    failingEndpoints: 'endpoints:read',
  },
};

/** The root types whose every field must have an entry. */
const ROOTS = ['Query', 'Mutation'];

/**
 * Checks FIELD_NEEDS against the schema: every root field has an entry, and every entry names a
 * field that exists (a renamed field would otherwise leave its old entry guarding nothing).
 * Answers what is wrong, one line each; empty when nothing is.
 */
export function fieldNeedProblems(typeDefs: string, needs: Record<string, Record<string, FieldNeed>> = FIELD_NEEDS): string[] {
  const schema = buildSchema(typeDefs);
  const problems: string[] = [];
  for (const root of ROOTS) {
    const type = schema.getType(root);
    if (!isObjectType(type)) continue;
    for (const field of Object.keys(type.getFields())) {
      if (!needs[root]?.[field])
        problems.push(
          `${root}.${field} has no entry in FIELD_NEEDS (src/graphql/fieldCapabilities.ts): say which capability it needs, or 'session' or 'operator'`,
        );
    }
  }
  for (const [typeName, fields] of Object.entries(needs)) {
    const type = schema.getType(typeName);
    for (const field of Object.keys(fields)) {
      if (!isObjectType(type) || !type.getFields()[field])
        problems.push(`FIELD_NEEDS names ${typeName}.${field}, which the schema does not have`);
    }
  }
  return problems;
}

type Resolvers = Record<string, unknown>;

/**
 * The resolvers with every field of FIELD_NEEDS guarded: the Actor's check first, then the field's
 * own resolver (or graphql's default, for a field read off its parent). Throws when FIELD_NEEDS and
 * the schema disagree, so such a schema is never served.
 */
export function guardResolvers(
  typeDefs: string,
  resolvers: Resolvers,
  needs: Record<string, Record<string, FieldNeed>> = FIELD_NEEDS,
): Resolvers {
  const problems = fieldNeedProblems(typeDefs, needs);
  if (problems.length) throw new Error(`the GraphQL schema and its field capabilities disagree:\n${problems.join('\n')}`);
  const guarded: Resolvers = { ...resolvers };
  for (const [typeName, fields] of Object.entries(needs)) {
    const own = (resolvers[typeName] ?? {}) as Record<string, GraphQLFieldResolver<unknown, AuthenticatedContext>>;
    const wrapped: Record<string, unknown> = { ...own };
    for (const [field, need] of Object.entries(fields)) {
      const resolve = own[field] ?? defaultFieldResolver;
      wrapped[field] = (
        parent: unknown,
        args: Record<string, unknown>,
        ctx: AuthenticatedContext,
        info: Parameters<GraphQLFieldResolver<unknown, AuthenticatedContext>>[3],
      ) => {
        if (need === 'operator') requireOperator(ctx.actor);
        else if (need !== 'session') requireCapability(ctx.actor, need);
        return resolve(parent, args, ctx, info);
      };
    }
    guarded[typeName] = wrapped;
  }
  return guarded;
}
