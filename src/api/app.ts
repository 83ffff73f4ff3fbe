import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { badRequest } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../log.js';
import type { ApiDeps } from './deps.js';
import { installErrorHandling } from './errors.js';
import { registerOpenApi } from './openapi.js';
import endpointRoutes, { Endpoint } from './routes/endpoints.js';
import eventRoutes, { AcceptedEventSchema, EventSchema } from './routes/events.js';
import eventTypeRoutes, { EventType } from './routes/eventTypes.js';
import tenantRoutes, { Tenant } from './routes/tenants.js';
import sourceRoutes, { Source } from './routes/sources.js';
import inboundRoutes from './routes/inbound.js';
import customerRoutes, { Customer } from './routes/customers.js';
import billingRoutes from './routes/billing.js';
import keyRoutes from './routes/keys.js';
import graphqlRoutes from '../graphql/routes.js';
import { ErrorBody } from './schemas.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// Two validators: bodies are checked strictly (no type coercion, unknown fields refused where the
// schema says so, nothing silently removed); query strings and path parameters arrive as text and
// are coerced to the schema's types ("?limit=10" → 10).
function validators() {
  const base = { allErrors: false, strict: false, useDefaults: true, removeAdditional: false as const };
  const body = addFormats(new Ajv({ ...base, coerceTypes: false }));
  const text = addFormats(new Ajv({ ...base, coerceTypes: 'array' as const }));
  return { body, text };
}

export async function buildApp(deps: ApiDeps, log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines only at debug level; errors always.
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
      socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
    // Errors the router raises before any route runs (a malformed URL, an over-long path segment)
    // answer in the same error format as everything else.
    frameworkErrors: (err, req, reply) => {
      const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
      const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long; ids and names are at most 100 characters' : `malformed request URL: ${err.message}`;
      (reply as unknown as FastifyReply).code(status).send({ error: { code: 'bad_request', message, requestId: req.id } });
    },
  });
  const v = validators();
  // The API speaks JSON only: anything else is a clear 415, not a confusing validation error.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? v.body : v.text).compile(schema));

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  installErrorHandling(app, { maxBodyBytes: deps.config.maxPayloadBytes });
  app.addHook('preValidation', async (req) => refuseNul(req));

  await registerOpenApi(app);
  for (const s of [ErrorBody, Tenant, EventType, Endpoint, AcceptedEventSchema, EventSchema, Source, Customer]) app.addSchema(s);

  app.get('/v1/health', { schema: { tags: ['health'], summary: 'Is Herald up?', description: 'Answers 200 while this node serves requests; no key needed (for load balancers and probes).', security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => deps.auth.authenticate(req));
    await eventTypeRoutes(api, deps);
    await tenantRoutes(api, deps);
    await endpointRoutes(api, deps);
    await eventRoutes(api, deps);
    await sourceRoutes(api, deps);
    await customerRoutes(api, deps);
    await billingRoutes(api, deps);
    await keyRoutes(api, deps);
  });
  await app.register(async (gql) => graphqlRoutes(gql, deps));
  // Providers post here without a key: the signature is the credential.
  await app.register(async (inbound) => inboundRoutes(inbound, deps));
  return app;
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
