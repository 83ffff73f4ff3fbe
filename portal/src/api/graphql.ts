// Typed GraphQL documents: gql.tada checks every query the portal writes against the server's own
// schema (the generated *-schema.ts files, see scripts/gen-portal-types.ts) and infers the types
// of its variables and result, with no code generation per query.
import { initGraphQLTada } from 'gql.tada';
import type { introspection as authenticatedSchema } from './authenticated-schema';
import type { introspection as publicSchema } from './public-schema';

/** Documents for /graphql/api/authenticated (everything a session may do). */
export const graphql = initGraphQLTada<{ introspection: typeof authenticatedSchema; scalars: { JSON: unknown } }>();

/** Documents for /graphql/api/public (logIn, exchangeClientToken). */
export const publicGraphql = initGraphQLTada<{ introspection: typeof publicSchema }>();

export type { ResultOf, VariablesOf } from 'gql.tada';
