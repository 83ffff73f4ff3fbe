import { Type } from '@sinclair/typebox';
import { ALL_CAPABILITIES } from '../../auth/capabilities.js';
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS, mintClientToken } from '../../keys/clientTokens.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, Timestamp } from '../schemas.js';

// Types are checked by the schema; values (the lifetime's bounds, capability names) by
// mintClientToken, which says what to fix.
const CreateClientToken = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.Integer({
        description: `lifetime in seconds, ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}; default ${DEFAULT_TTL_SECONDS} (30 minutes)`,
      }),
    ),
    capabilities: Type.Optional(
      Type.Array(Type.String({ maxLength: 100 }), {
        maxItems: 20,
        description:
          `what the session may do through GraphQL: one or more of ${ALL_CAPABILITIES.join(', ')} (docs/graphql.md says what each allows; ` +
          "an unknown name is a 400 that lists them). Left out: all of them, everything the tenant's users reach",
      }),
    ),
  },
  { additionalProperties: false },
);

const CreatedClientToken = Type.Object({
  token: Type.String({ description: 'the ct_… token itself, shown this once: hand it to the embedded portal, which exchanges it once' }),
  expiresAt: Timestamp,
});

export default async function clientTokenRoutes(app: Api, { db }: ApiDeps) {
  app.post(
    '/v1/tenants/:tenant/client-tokens',
    {
      schema: {
        tags: ['keys'],
        summary: 'Mint a client token for a tenant',
        description:
          "An operator key or the tenant's own key. The token is short-lived and single use: the embedded portal exchanges it, " +
          'with a public key of the same environment, for a session bound to this tenant (GraphQL exchangeClientToken) that may do what ' +
          'its capabilities allow, and nothing else. Herald keeps only a hash.',
        params: Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 200 }) }),
        body: CreateClientToken,
        response: { 201: CreatedClientToken, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) => {
      const body = req.body ?? {};
      const made = await mintClientToken(db, {
        environmentId: req.actor.environmentId,
        tenantId: req.tenant.id,
        createdBy: req.actor.id,
        request: body,
        address: req.ip ?? null,
      });
      return reply.status(201).send({ token: made.token, expiresAt: made.expiresAt });
    },
  );
}
