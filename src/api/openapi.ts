import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../version.js';

// The OpenAPI document comes from the routes' own schemas. What every route shares (the errors
// any call can meet, a description for each answer) is added here, to the document only: the
// `transform` hook changes what is published, never how Fastify validates or serializes.

/** Errors every authenticated call can answer, with what they mean for the caller. */
const AUTH_ERRORS: Record<number, string> = {
  401: 'No key, or the key is unknown, revoked or expired',
  403: 'The key may not do this (a tenant-scoped key reaching another tenant, or an operator-only call)',
  429: 'Too many requests for this key, or the tenant used its call quota; retry after the `retry-after` header',
};
const BODY_ERRORS: Record<number, string> = {
  400: 'The request is not valid; the message says which field and why',
  413: 'The body is larger than Herald accepts; the message gives the limit',
  415: 'The body is not JSON; send `content-type: application/json`',
};
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: stored, work continues in the background',
  204: 'Done; no body',
  400: 'The request is not valid; the message says what is wrong',
  401: AUTH_ERRORS[401],
  403: AUTH_ERRORS[403],
  404: 'Not found in this environment (or not visible to this key)',
  409: 'Conflicts with what exists; the message says with what',
  413: BODY_ERRORS[413],
  415: BODY_ERRORS[415],
  429: AUTH_ERRORS[429],
  503: 'Herald cannot reach its database right now; retry after the `retry-after` header',
};

type RouteSchema = Record<string, unknown> & {
  response?: Record<string, Record<string, unknown>>;
  security?: unknown[];
  body?: unknown;
  params?: unknown;
  querystring?: unknown;
  hide?: boolean;
};

/** The route's schema as published: every answer described, and the errors it shares with all routes listed. */
export function describeRoute(schema: RouteSchema, method: string): RouteSchema {
  const response: Record<string, Record<string, unknown>> = { ...(schema.response ?? {}) };
  const error = { $ref: 'Error#' };
  const add = (codes: Record<number, string>) => {
    for (const [code, text] of Object.entries(codes)) response[code] ??= { ...error, description: text };
  };
  const authenticated = !(Array.isArray(schema.security) && schema.security.length === 0);
  if (authenticated) add(AUTH_ERRORS);
  if (schema.body || method === 'POST' || method === 'PATCH' || method === 'PUT') add(BODY_ERRORS);
  else if (schema.params || schema.querystring) add({ 400: STATUS_TEXT[400] });
  for (const [code, r] of Object.entries(response)) {
    if (typeof r.description === 'string') continue;
    response[code] = { ...r, description: STATUS_TEXT[Number(code)] ?? `HTTP ${code}` };
  }
  const out: RouteSchema = { ...schema, response };
  // Routes that take the raw request (sources) have no body schema to validate against; the
  // document still says what they accept.
  const raw = schema['x-raw-body'];
  if (typeof raw === 'string') {
    delete out['x-raw-body'];
    out.body = { type: 'string', format: 'binary', description: raw };
    out.consumes = ['application/json', 'application/x-www-form-urlencoded', 'application/octet-stream'];
  }
  return out;
}

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="180" height="36" viewBox="0 0 180 36"><rect width="36" height="36" rx="8" fill="#1f6feb"/><path d="M10 9h5v7h6V9h5v18h-5v-7h-6v7h-5z" fill="#fff"/><text x="44" y="25" font-family="system-ui,sans-serif" font-size="20" font-weight="600" fill="#fff">Herald API</text></svg>`;
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 36 36"><rect width="36" height="36" rx="8" fill="#1f6feb"/><path d="M10 9h5v7h6V9h5v18h-5v-7h-6v7h-5z" fill="#fff"/></svg>`;

/** `/openapi.json` and the interactive reference at `/docs`, both served by Herald itself (no CDN). */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Herald API',
        version: VERSION,
        description:
          'Send signed, retried, logged webhooks to your tenants’ endpoints, and receive third-party webhooks at sources. ' +
          'Authenticate with `Authorization: Bearer sk_test_…` (sandbox) or `sk_live_…` (production); the key decides the environment. ' +
          'Errors are `{"error":{"code","message","requestId"}}`; every answer carries `x-request-id`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a secret key: sk_test_… or sk_live_…' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}` },
    transform: ({ schema, url, route }) => {
      if (!schema || (schema as RouteSchema).hide) return { schema, url };
      const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
      return { schema: describeRoute(schema as RouteSchema, method.toUpperCase()) as typeof schema, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO), href: '/docs', target: '_self' },
    theme: {
      title: 'Herald API reference',
      favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: Buffer.from(FAVICON) }],
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The bare address is where people land first: send them to the reference.
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/docs', 302));
}
