import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS, mintClientToken } from '../../keys/clientTokens.js';
import type { ApiDeps } from '../deps.js';
import { errors, Timestamp } from '../schemas.js';

// Types are checked by the schema; values (the lifetime's bounds, capability names) by
// mintClientToken, which says what to fix.
const CreateClientToken = Type.Object(
  {
    ttlSeconds: Type.Optional(Type.Integer({ description: `lifetime in seconds, ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}; default ${DEFAULT_TTL_SECONDS} (30 minutes)` })),
    capabilities: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 20, description: 'names recorded with the token and in the audit log' })),
  },
  { additionalProperties: false },
);

const CreatedClientToken = Type.Object({
  token: Type.String({ description: 'the ct_… token itself, shown this once: hand it to the embedded portal, which exchanges it once' }),
  expiresAt: Timestamp,
});

export default async function clientTokenRoutes(app: FastifyInstance, { db, auth }: ApiDeps) {
  app.post('/v1/tenants/:tenant/client-tokens', {
    schema: {
      tags: ['keys'],
      summary: 'Mint a client token for a tenant',
      description:
        'An operator key or the tenant\'s own key. The token is short-lived and single use: the embedded portal exchanges it, ' +
        'with a public key of the same environment, for a session bound to this tenant (GraphQL exchangeClientToken). Herald keeps only a hash.',
      params: Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 200 }) }),
      body: CreateClientToken,
      response: { 201: CreatedClientToken, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    const tenant = await auth.tenant(req, (req.params as { tenant: string }).tenant);
    const body = (req.body ?? {}) as { ttlSeconds?: number; capabilities?: string[] };
    const made = await mintClientToken(db, { environmentId: req.scope.environmentId, tenantId: tenant.id, createdBy: req.scope.keyId, request: body, address: req.ip ?? null });
    return reply.status(201).send({ token: made.token, expiresAt: made.expiresAt });
  });
}
