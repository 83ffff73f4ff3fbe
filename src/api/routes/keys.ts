import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { requireEnvironment } from '../../auth/actor.js';
import { notFound } from '../../errors.js';
import { changeAllowedOriginsAudited, createKeyAudited, type KeyChangeBy, revokeKeyAudited } from '../../keys/keyChanges.js';
import { listKeys, parseEnvironment } from '../../keys/keys.js';
import { operatorOnly } from '../auth.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, listQuery, Nullable, page, Timestamp } from '../schemas.js';

export const KeyInfo = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'secret or public' }),
  prefix: Type.String({ description: 'the first characters of the key, to recognise it (the key itself is never shown again)' }),
  environment: Type.String(),
  tenant: Nullable(Type.String({ description: 'the tenant id of a tenant-scoped key' })),
  tenantUid: Nullable(Type.String()),
  name: Nullable(Type.String()),
  allowedOrigins: Type.Array(Type.String(), { description: 'public keys: origins allowed to embed the portal' }),
  createdAt: Timestamp,
  lastUsedAt: Nullable(Type.String({ format: 'date-time', description: 'to the minute: recorded at most once a minute per key per node' })),
  expiresAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
});

const CreatedKey = Type.Object({ key: Type.String({ description: 'the key itself, shown this once' }), ...KeyInfo.properties });

const Environment = Type.String({ description: 'sandbox or production; it must be the environment of the calling key' });

// Types are checked by the schema; values (kind, environment, origins, expiry) by issueKey, which
// the CLI shares, so that both refuse the same things with the same words.
const CreateKey = Type.Object(
  {
    kind: Type.Optional(Type.String({ description: 'secret (default) or public' })),
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'scope the key to this tenant (id or uid)' })),
    allowedOrigins: Type.Optional(
      Type.Array(Type.String({ maxLength: 500 }), {
        description: 'public keys: origins allowed to embed the portal, like https://app.example.com',
      }),
    ),
    expiresInSeconds: Type.Optional(Type.Number({ description: 'the key stops working this many seconds from now' })),
    name: Type.Optional(Type.String({ description: 'a label for lists' })),
    environment: Type.Optional(Environment),
  },
  { additionalProperties: false },
);

// Values are checked by setAllowedOrigins, which GraphQL shares.
const ChangeKey = Type.Object(
  {
    allowedOrigins: Type.Array(Type.String({ maxLength: 500 }), {
      description: 'the new allowed origins of a public key, replacing the old ones; at least one, like https://app.example.com',
    }),
  },
  { additionalProperties: false },
);

const KeyId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Who changes keys over REST, for the audit log: the calling key, from the request's address. */
const byRequest = (req: FastifyRequest): KeyChangeBy => ({ environmentId: req.actor.environmentId, actor: req.actor.id, address: req.ip });

export default async function keyRoutes(app: Api, { db, auth }: ApiDeps) {
  const tags = ['keys'];

  // A sandbox key manages sandbox keys only, as every call stays in its key's environment. Naming
  // the environment is optional; naming another one is refused rather than ignored.
  const sameEnvironment = (req: FastifyRequest, raw: string | undefined) =>
    requireEnvironment(req.actor, raw === undefined ? undefined : parseEnvironment(raw), 'keys');

  app.post(
    '/v1/keys',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Create an API key',
        description: 'Operator keys only. The answer holds the key itself, shown this once: Herald keeps only a hash.',
        body: CreateKey,
        response: { 201: CreatedKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const body = req.body;
      sameEnvironment(req, body.environment);
      const made = await createKeyAudited(db, { ...body, environment: req.actor.environment }, byRequest(req));
      return reply.status(201).send({ key: made.key, ...made.info });
    },
  );

  app.get(
    '/v1/keys',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'List API keys',
        description: 'Operator keys only. Revoked and expired keys are listed too; the keys themselves never are.',
        querystring: listQuery({ environment: Type.Optional(Environment) }),
        response: { 200: page(KeyInfo), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const q = req.query;
      sameEnvironment(req, q.environment);
      return listKeys(db, { environmentId: req.actor.environmentId, limit: q.limit, cursor: q.cursor });
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Revoke an API key',
        description:
          'Operator keys only. The key answers 401 at once on this node and within 5 seconds on the others. ' +
          'An operator key may revoke itself: the next call with it answers 401.',
        params: KeyId,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const revoked = await revokeKeyAudited(db, id, byRequest(req));
      if (!revoked) throw notFound('key', id);
      auth.forgetKey(id);
      return reply.status(204).send();
    },
  );

  app.patch(
    '/v1/keys/:id',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: "Change a public key's allowed origins",
        description:
          'Operator keys only. Replaces the origins allowed to embed the portal with this public key; embedding pages see the ' +
          'change at once. A secret key, or a revoked or expired one, is refused (400). Written to the audit log with the ' +
          'origins before and after.',
        params: KeyId,
        body: ChangeKey,
        response: { 200: KeyInfo, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const { id } = req.params;
      const changed = await changeAllowedOriginsAudited(db, id, req.body.allowedOrigins, byRequest(req));
      if (!changed) throw notFound('key', id);
      return changed;
    },
  );
}
