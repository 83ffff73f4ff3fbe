import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { badRequest } from '../errors.js';
import { decodeCursor, encodeCursor, type Page } from '../pagination.js';
import { newId } from '../ids.js';
import type { Logger } from '../log.js';
import type { ApiDeps } from './deps.js';
import { installErrorHandling } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { type JsonSource, scanJson } from './jsonBody.js';
import endpointRoutes, { Endpoint } from './routes/endpoints.js';
import eventRoutes, { AcceptedEventSchema, EventSchema } from './routes/events.js';
import eventTypeRoutes, { EventType } from './routes/eventTypes.js';
import tenantRoutes, { Tenant } from './routes/tenants.js';
import sourceRoutes, { Source } from './routes/sources.js';
import inboundRoutes from './routes/inbound.js';
import customerRoutes, { Customer } from './routes/customers.js';
import billingRoutes from './routes/billing.js';
import keyRoutes from './routes/keys.js';
import listenerRoutes from './routes/listeners.js';
import liveAttemptRoutes from './routes/liveAttempts.js';
import clientTokenRoutes from './routes/clientTokens.js';
import { metricsRoute, probeRoutes } from './routes/probes.js';
import graphqlRoutes from '../graphql/routes.js';
import { servePortal } from '../portal/servePortal.js';
import { ErrorBody } from './schemas.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route wants the exact source text of its event payloads (request.jsonSource). */
    rawPayloads?: boolean;
    /** The setting behind the route's body limit, named when a body is over it. */
    bodyLimitSetting?: string;
  }
  interface FastifyRequest {
    /** What the JSON body parser found besides the value (see api/jsonBody.ts). */
    jsonSource: JsonSource | null;
  }
}

// Two validators: bodies are checked strictly (no type coercion, unknown fields refused where the
// schema says so, nothing silently removed); query strings and path parameters arrive as text and
// are coerced to the schema's types ("?limit=10" → 10).
function validators() {
  // verbose: errors carry the schema that failed, so a message can list the allowed values.
  const base = { allErrors: false, strict: false, useDefaults: true, removeAdditional: false as const, verbose: true };
  const body = addFormats(new Ajv({ ...base, coerceTypes: false }));
  const text = addFormats(new Ajv({ ...base, coerceTypes: 'array' as const }));
  return { body, text };
}

export async function buildApp(deps: ApiDeps, log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines only at debug level; errors always.
    // The assertion widens Fastify's logger type to the one route modules are typed against.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: log.child({ component: 'api' }, { level: log.isLevelEnabled('debug') ? log.level : 'warn' }) as FastifyBaseLogger,
    genReqId: () => newId('req'),
    requestIdHeader: false,
    bodyLimit: deps.config.maxPayloadBytes + 64 * 1024,
    // A client's garbage must never crash or hang the server.
    return503OnClosing: true,
    connectionTimeout: 60_000,
    requestTimeout: 60_000,
    // Idle keep-alive connections are closed (and advertised as kept) for less than the connection
    // timeout: otherwise a client told "timeout=72" reuses a socket the server destroyed at 60 s.
    keepAliveTimeout: 30_000,
    // Requests Node's HTTP parser refuses (headers over 16 KB, malformed request lines) never reach
    // a route: answer them in the same JSON format, then close the connection.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy();
      const e = err as Error & { code?: string };
      const [status, text, message] =
        e.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'the request headers are larger than 16 KB; send fewer or smaller headers']
          : [400, 'Bad Request', 'the request is not valid HTTP'];
      const body = JSON.stringify({ error: { code: 'bad_request', message, requestId: newId('req') } });
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
    // Errors the router raises before any route runs (a malformed URL, an over-long path segment)
    // answer in the same error format as everything else.
    frameworkErrors: (err, req, reply) => {
      const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
      const message =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'a path segment is too long; ids and names are at most 100 characters'
          : `malformed request URL: ${err.message}`;
      (reply as unknown as FastifyReply).code(status).send({ error: { code: 'bad_request', message, requestId: req.id } });
    },
  });
  const v = validators();
  // The API speaks JSON only: anything else is a clear 415, not a confusing validation error.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart !== 'body') return v.text.compile(schema);
    const check = v.body.compile(schema);
    // No body (or an empty one sent with content-type: application/json) is an empty object: a
    // POST or DELETE whose fields are all optional needs none. Fastify hands a missing body to
    // the validator as null, so a body of JSON null counts as none too.
    const validate = (data: unknown) => {
      if (data !== undefined && data !== null) {
        const ok = check(data);
        validate.errors = check.errors;
        return ok;
      }
      const empty = {};
      if (check(empty)) return { value: empty };
      validate.errors = check.errors;
      return { error: badRequest('the body is empty (or null); send a JSON object (see /openapi.json for its fields)') };
    };
    validate.errors = null as typeof check.errors;
    return validate;
  });
  installJsonBody(app, deps.config.maxJsonDepth);
  installCursors(app);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  installErrorHandling(app, { maxBodyBytes: deps.config.maxPayloadBytes });
  app.addHook('preValidation', async (req) => refuseNul(req));

  await registerOpenApi(app);
  for (const s of [ErrorBody, Tenant, EventType, Endpoint, AcceptedEventSchema, EventSchema, Source, Customer]) app.addSchema(s);

  probeRoutes(app, deps.db);

  await app.register(async (plugin) => {
    deps.auth.install(plugin);
    const api = plugin.withTypeProvider<TypeBoxTypeProvider>();
    await eventTypeRoutes(api, deps);
    await tenantRoutes(api, deps);
    await endpointRoutes(api, deps);
    await eventRoutes(api, deps);
    await sourceRoutes(api, deps);
    await customerRoutes(api, deps);
    await billingRoutes(api, deps);
    await keyRoutes(api, deps);
    await clientTokenRoutes(api, deps);
    await listenerRoutes(api, deps);
    await liveAttemptRoutes(api, deps);
    metricsRoute(api, deps.metrics);
  });
  await app.register(async (gql) => graphqlRoutes(gql, deps));
  // Providers post here without a key: the signature is the credential.
  await app.register(async (inbound) => inboundRoutes(inbound.withTypeProvider<TypeBoxTypeProvider>(), deps));
  // The client portal: a single page over the GraphQL API (src/portal/servePortal.ts).
  await app.register(async (portal) => servePortal(portal, { db: deps.db }));
  return app;
}

/**
 * Every JSON body is read as text and parsed once, here: JSON.parse for the value, then one scan
 * (api/jsonBody.ts) that bounds the nesting depth, refuses duplicate keys, and, for the event
 * routes, keeps the exact text of each payload. A body nested thousands of levels deep is refused
 * before anything recursive (validation, serialization) can meet it.
 */
function installJsonBody(app: FastifyInstance, maxDepth: number): void {
  app.decorateRequest('jsonSource', null);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    let text = body as string;
    if (text.length === 0) return done(null, undefined);
    // A byte order mark is not JSON, but some clients send one.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return done(badRequest(`malformed JSON body: ${(err as Error).message}`), undefined);
    }
    // Only objects and arrays nest or have keys.
    if (value !== null && typeof value === 'object') {
      try {
        req.jsonSource = scanJson(text, maxDepth, req.routeOptions.config?.rawPayloads === true);
      } catch (err) {
        return done(err as Error, undefined);
      }
    }
    done(null, value);
  });
}

/**
 * Cursors are opaque (pagination.ts): every list answers its `nextCursor` encoded for that list,
 * and a `?cursor=` is decoded back to a position here, once for all routes, before any handler
 * sees it. A cursor Herald did not issue for this list is a 400, never a silently wrong page.
 */
function installCursors(app: FastifyInstance): void {
  app.addHook('preHandler', async (req) => {
    const q = req.query as { cursor?: unknown } | undefined;
    if (typeof q?.cursor === 'string') q.cursor = decodeCursor(req.routeOptions.url ?? '', q.cursor);
  });
  app.addHook('preSerialization', async (req, _reply, payload: unknown) => {
    const page = payload as Page<unknown> | null;
    if (page && typeof page === 'object' && typeof page.nextCursor === 'string' && Array.isArray(page.data)) {
      page.nextCursor = encodeCursor(req.routeOptions.url ?? '', page.nextCursor);
    }
    return payload;
  });
}

// Postgres cannot store a NUL character in text; SQLite can. So that both behave the same, a NUL
// in a path, a query or a body field stored as text is refused here. Fields stored as JSON text
// (payload, schema, example, metadata) keep theirs: JSON escapes it.
const JSON_FIELDS = new Set(['payload', 'schema', 'example', 'metadata']);

function findNul(value: unknown, path: string): string | null {
  // Raw bodies (received webhooks) are stored as bytes, NULs and all.
  if (Buffer.isBuffer(value)) return null;
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (JSON_FIELDS.has(k)) continue;
      const hit = findNul(v, path ? `${path}.${k}` : k);
      if (hit) return hit;
    }
  }
  return null;
}

function refuseNul(req: FastifyRequest): void {
  const hit = findNul(req.params, 'path') ?? findNul(req.query, 'query') ?? findNul(req.body, 'body');
  if (hit) throw badRequest(`${hit} contains a NUL character, which Herald cannot store; remove it`);
}
