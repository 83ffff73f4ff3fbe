import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { findSession } from '../accounts/sessions.js';
import type { ApiDeps } from '../api/deps.js';
import { actorOfSession } from '../auth/actor.js';
import { HeraldError } from '../errors.js';
import { guardResolvers } from './fieldCapabilities.js';
import { gqlError, INTERNAL_MESSAGE, maskError, withRequestId } from './errors.js';
import { type AuthenticatedContext, authenticatedResolvers, type PublicContext, publicResolvers } from './resolvers.js';
import { authenticatedTypeDefs, publicTypeDefs } from './schema.js';

// Two GraphQL endpoints, as the design document fixes them: /graphql/api/public (logIn and
// exchangeClientToken only; no introspection, no field suggestions, so it shows a stranger nothing
// of the schema) and
// /graphql/api/authenticated (everything else, with the session key in `extensions.sessionKey`).
// graphql-yoga runs them inside Fastify, so they share its request ids, body parsing and limits;
// graphql-armor bounds what one request may cost before anything runs.

// graphql-yoga is loaded through a name TypeScript does not follow: its type declarations pull in
// @whatwg-node/fetch's, which add the DOM library to the whole program and change the types of
// Node's own fetch (a Buffer body stops type-checking everywhere). The little of it Herald uses is
// typed here instead.
interface YogaRequestContext {
  req: FastifyRequest;
  params: { extensions?: Record<string, unknown> | null };
}
interface YogaOptions<C> {
  graphqlEndpoint: string;
  schema: unknown;
  plugins: unknown[];
  context: (ctx: YogaRequestContext) => C | Promise<C>;
  batching: boolean;
  graphiql: boolean;
  landingPage: boolean;
  logging: boolean;
  maskedErrors: { maskError: (error: unknown, message: string) => Error };
}
interface Yoga {
  handleNodeRequestAndResponse(req: FastifyRequest, reply: FastifyReply, ctx: ServerContext): Promise<Response>;
}
interface YogaModule {
  createYoga<C>(opts: YogaOptions<C>): Yoga;
  createSchema(opts: { typeDefs: string; resolvers: unknown }): unknown;
}
const YOGA = 'graphql-yoga';
const yogaModule = (await import(YOGA)) as YogaModule;
const createYoga = yogaModule.createYoga.bind(yogaModule);
const createSchema = yogaModule.createSchema.bind(yogaModule);

interface ResultProcess {
  result: unknown;
  setResult(result: unknown): void;
  serverContext: ServerContext;
}
interface Plugin {
  onResultProcess?(payload: ResultProcess): void;
  onValidate?(payload: { addValidationRule(rule: unknown): void }): void;
}

export const PUBLIC_PATH = '/graphql/api/public';
export const AUTHENTICATED_PATH = '/graphql/api/authenticated';

/**
 * Limits on one operation. Herald's deepest useful query (events → deliveries → attempts) is depth
 * 5. graphql-armor's cost weighs an object 2 and a scalar 1, children 1.5 per level, and multiplies
 * a list by a literal `first`: a full page of 100 events with every field of their deliveries and
 * attempts costs about 8,500, so 20,000 lets a screen ask for two such pages and refuses a request
 * made of many copies of them.
 */
export const LIMITS = { maxDepth: 10, maxAliases: 15, maxCost: 20_000, maxTokens: 2000, maxDirectives: 20 } as const;

/** A GraphQL body is a few kilobytes; the cap keeps a hostile one from costing parse time. */
const BODY_LIMIT = 256 * 1024;

interface ServerContext {
  req: FastifyRequest;
  reply: FastifyReply;
}

function armor(publicEndpoint: boolean) {
  return EnvelopArmorPlugin({
    maxDepth: { n: LIMITS.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: LIMITS.maxAliases },
    costLimit: { maxCost: LIMITS.maxCost, ignoreIntrospection: true },
    maxTokens: { n: LIMITS.maxTokens },
    maxDirectives: { n: LIMITS.maxDirectives },
    // "Did you mean …?" tells a stranger the schema; on the authenticated endpoint introspection
    // tells it anyway, and the suggestions help.
    blockFieldSuggestion: { enabled: publicEndpoint },
  });
}

/** Adds the request id to every error and logs the masked ones whole: the one place results leave. */
function requestIds(): Plugin {
  return {
    // Yoga hands its hooks free functions (no `this`).
    // eslint-disable-next-line @typescript-eslint/unbound-method
    onResultProcess({ result, setResult, serverContext }) {
      if (Array.isArray(result) || !result || typeof result !== 'object') return;
      const withErrors = result as { errors?: readonly unknown[] };
      if (!withErrors.errors?.length) return;
      const req = serverContext.req;
      const errors = withErrors.errors.map((e) => {
        const err = e instanceof GraphQLError ? e : new GraphQLError(String((e as Error).message ?? e));
        if (err.extensions?.code === 'INTERNAL_SERVER_ERROR')
          req.log.error({ err: err.originalError ?? err, path: err.path }, 'GraphQL operation failed');
        return withRequestId(err, String(req.id));
      });
      setResult({ ...result, errors });
    },
  };
}

function noIntrospection(): Plugin {
  return {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a free function, as above
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

const address = (req: FastifyRequest) => req.ip ?? null;

const graphqlErrors = (message: string, code: string, requestId: string) => ({ errors: [{ message, extensions: { code, requestId } }] });

export default async function graphqlRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const common = {
    batching: false,
    graphiql: false,
    landingPage: false,
    logging: false,
    maskedErrors: { maskError },
  } as const;

  const publicYoga = createYoga<PublicContext>({
    ...common,
    graphqlEndpoint: PUBLIC_PATH,
    schema: createSchema({ typeDefs: publicTypeDefs, resolvers: publicResolvers }),
    plugins: [armor(true), noIntrospection(), requestIds()],
    context: ({ req }): PublicContext => ({
      deps,
      address: address(req),
      origin: typeof req.headers.origin === 'string' ? req.headers.origin : null,
    }),
  });

  const authenticatedYoga = createYoga<AuthenticatedContext>({
    ...common,
    graphqlEndpoint: AUTHENTICATED_PATH,
    // Each operation's capability (a client token's limit) or operator-only rule is checked by the
    // guard around its resolver: fieldCapabilities.ts.
    schema: createSchema({ typeDefs: authenticatedTypeDefs, resolvers: guardResolvers(authenticatedTypeDefs, authenticatedResolvers) }),
    plugins: [armor(false), requestIds()],
    context: async ({ req, params }): Promise<AuthenticatedContext> => {
      const key = (params.extensions as { sessionKey?: unknown } | undefined)?.sessionKey;
      if (typeof key !== 'string' || key.length === 0) {
        throw gqlError(
          'UNAUTHENTICATED',
          'no session key: log in on /graphql/api/public (logIn) and send the key as extensions.sessionKey',
        );
      }
      const session = await findSession(deps.db, key);
      if (!session)
        throw gqlError(
          'UNAUTHENTICATED',
          'the session key is unknown, expired or ended: log in again (or refresh the session before it expires)',
        );
      return { deps, address: address(req), origin: null, actor: actorOfSession(session), session, sessionKey: key };
    },
  });

  // Refusals before GraphQL runs (a body that is not JSON, too large, of another content type, a
  // NUL character) answer in GraphQL's shape too, so a client reads every error in one place.
  app.setErrorHandler((err: FastifyError | HeraldError, req, reply) => {
    const requestId = String(req.id);
    if (err instanceof HeraldError)
      return reply
        .status(err.status)
        .send(graphqlErrors(err.message, String((maskError(err) as GraphQLError).extensions?.code), requestId));
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'GraphQL request failed');
      return reply.status(500).send(graphqlErrors(INTERNAL_MESSAGE, 'INTERNAL_SERVER_ERROR', requestId));
    }
    const message =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `the request body is larger than ${BODY_LIMIT} bytes; a GraphQL request is one operation of a few kilobytes`
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `content-type ${req.headers['content-type']} is not supported; send application/json`
          : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the body is empty; send {"query": …, "variables": …}'
            : `the body is not valid JSON (${err.message}); send {"query": …, "variables": …}`;
    return reply.status(status).send(graphqlErrors(message, 'BAD_USER_INPUT', requestId));
  });

  // A host page that embeds the portal trades its client token here from its own origin
  // (portal/public/embed.js); a JSON POST from another origin is preceded by this preflight, which
  // graphql-yoga answers (its CORS answer reflects the caller's origin). Whether that origin may
  // exchange a token is exchangeClientToken's check against the public key's allowed origins.
  app.options(PUBLIC_PATH, { schema: { hide: true } as never }, async (req, reply) => {
    const response = await publicYoga.handleNodeRequestAndResponse(req, reply, { req, reply });
    // A reply is thenable: the braces keep forEach from being handed it.
    response.headers.forEach((value, key) => {
      reply.header(key, value);
    });
    return reply.status(response.status).send(Buffer.from(await response.arrayBuffer()));
  });

  for (const [path, yoga] of [
    [PUBLIC_PATH, publicYoga],
    [AUTHENTICATED_PATH, authenticatedYoga],
  ] as const) {
    app.get(path, { schema: { hide: true } as never }, async (req, reply) =>
      reply
        .status(405)
        .header('allow', 'POST')
        .send(
          graphqlErrors(
            'GraphQL requests are POSTed here as JSON: {"query": …, "variables": …, "extensions": …}',
            'BAD_USER_INPUT',
            String(req.id),
          ),
        ),
    );
    app.post(path, { bodyLimit: BODY_LIMIT, schema: { hide: true } as never }, async (req, reply) => {
      // Batching multiplies what one request costs past every limit above: one operation a request.
      if (Array.isArray(req.body)) {
        return reply
          .status(400)
          .send(
            graphqlErrors(
              'batched operations are not accepted: send one {"query", "variables"} object per request',
              'BAD_USER_INPUT',
              String(req.id),
            ),
          );
      }
      const response = await yoga.handleNodeRequestAndResponse(req, reply, { req, reply });
      // A reply is thenable: the braces keep forEach from being handed it.
      response.headers.forEach((value, key) => {
        reply.header(key, value);
      });
      reply.status(response.status);
      return reply.send(Buffer.from(await response.arrayBuffer()));
    });
  }
}
