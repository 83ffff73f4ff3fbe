import { Type } from '@sinclair/typebox';
import { ensureEventTypes } from '../../event-types/eventTypes.js';
import { getInbound, listInbound } from '../../inbound/sql/readInbound.js';
import { PROVIDER_NAMES, registeredTypes } from '../../sources/providers/index.js';
import { createSource, deleteSource, getSource, getSourceSecret, listSources, updateSource } from '../../sources/sources.js';
import { auditRequest } from '../audit.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, listQuery, ListQuery, Nullable, page, TenantParams, Timestamp } from '../schemas.js';

const Provider = Type.Union(
  PROVIDER_NAMES.map((p) => Type.Literal(p)),
  { description: 'how requests are verified: ' + PROVIDER_NAMES.join(', ') },
);
const Options = Type.Object(
  {
    header: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        description: 'token sources: the header carrying the token (default x-webhook-token)',
      }),
    ),
  },
  { additionalProperties: false },
);
const Secret = Type.String({
  minLength: 1,
  maxLength: 500,
  description: 'the secret the provider signs with; generated for github, standard, token and basic when left out',
});

export const Source = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    provider: Provider,
    name: Type.String(),
    url: Type.String({ description: 'where the provider posts: <HERALD_PUBLIC_URL>/in/<id>' }),
    options: Options,
    enabled: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Source' },
);

const Status = Type.Union([
  Type.Literal('received'),
  Type.Literal('processed'),
  Type.Literal('unmatched'),
  Type.Literal('rejected'),
  Type.Literal('failed'),
]);

const InboundFields = {
  id: Type.String(),
  sourceId: Type.String(),
  status: Status,
  reason: Nullable(Type.String()),
  waitingFor: Nullable(Type.String()),
  dedupeKey: Nullable(Type.String()),
  duplicates: Type.Integer(),
  eventType: Nullable(Type.String()),
  eventId: Nullable(Type.String({ description: 'the tenant event it was forwarded as' })),
  attempts: Type.Integer(),
  receivedAt: Timestamp,
  processedAt: Nullable(Timestamp),
};
const InboundSummary = Type.Object(InboundFields);
const InboundMessage = Type.Object({
  ...InboundFields,
  headers: Type.Record(Type.String(), Type.String()),
  body: Type.String(),
  bodyEncoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
  bodyPurgedAt: Nullable(Timestamp),
  bodySize: Nullable(Type.Integer({ description: 'the size of the body as it came, in bytes' })),
  bodyTruncated: Type.Boolean({
    description: 'body holds only the first bytes: a rejected request keeps no more (HERALD_INBOUND_REJECTED_BODY_BYTES)',
  }),
});

const SourceParams = Type.Object({ tenant: TenantParams.properties.tenant, id: Type.String({ minLength: 1, maxLength: 100 }) });

export default async function sourceRoutes(app: Api, { db, box, config, receivingSources }: ApiDeps) {
  const tags = ['sources'];

  app.post(
    '/v1/tenants/:tenant/sources',
    {
      schema: {
        tags,
        summary: 'Create a source: a URL that receives one provider’s webhooks',
        description: 'Answers the source with its `url` (give it to the provider) and its `secret`.',
        params: TenantParams,
        body: Type.Object(
          {
            provider: Provider,
            name: Type.String({ minLength: 1, maxLength: 200 }),
            secret: Type.Optional(Secret),
            options: Type.Optional(Options),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Intersect([Type.Ref('Source'), Type.Object({ secret: Type.String() })]), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const input = req.body;
      const source = await db.tx(async (q) => {
        const s = await createSource(q, box, config.publicUrl, req.tenant.id, input);
        await ensureEventTypes(
          q,
          req.actor.environmentId,
          registeredTypes(input.provider).map((name) => ({ name, description: `Forwarded from ${input.provider} webhooks.` })),
        );
        return s;
      });
      return reply.status(201).send(source);
    },
  );

  app.get(
    '/v1/tenants/:tenant/sources',
    {
      schema: {
        tags,
        summary: 'List sources',
        description: 'The tenant’s sources with their receiving URLs, a page at a time.',
        params: TenantParams,
        querystring: ListQuery,
        response: { 200: page(Type.Ref('Source')), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      return listSources(db, config.publicUrl, req.tenant.id, q.limit, q.cursor);
    },
  );

  app.get(
    '/v1/tenants/:tenant/sources/:id',
    {
      schema: {
        tags,
        summary: 'Get a source',
        description: 'One source with its receiving URL, provider, options and whether it is enabled.',
        params: SourceParams,
        response: { 200: Type.Ref('Source'), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return getSource(db, config.publicUrl, req.tenant.id, req.params.id);
    },
  );

  app.get(
    '/v1/tenants/:tenant/sources/:id/secret',
    {
      schema: {
        tags,
        summary: "Read a source's secret",
        description: 'The secret Herald verifies this source’s webhooks with (a provider’s signing secret, a token or a password).',
        params: SourceParams,
        response: { 200: Type.Object({ secret: Type.String() }), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const secret = await getSourceSecret(db, box, req.tenant.id, req.params.id);
      await auditRequest(db, req, 'source.secret_revealed', req.params.id, { tenantId: req.tenant.id });
      return { secret };
    },
  );

  app.patch(
    '/v1/tenants/:tenant/sources/:id',
    {
      schema: {
        tags,
        summary: 'Change a source (name, secret, options, enabled)',
        description: 'Changes only the fields sent; a new secret verifies the next request at once, on every node within seconds.',
        params: SourceParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            secret: Type.Optional(Secret),
            options: Type.Optional(Options),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Source'), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const current = await getSource(db, config.publicUrl, req.tenant.id, req.params.id);
      const updated = await updateSource(db, box, config.publicUrl, current, req.body);
      receivingSources.delete(current.id);
      return updated;
    },
  );

  app.delete(
    '/v1/tenants/:tenant/sources/:id',
    {
      schema: {
        tags,
        summary: 'Delete a source; its URL answers 404 from then on, what it received stays readable',
        description: 'Messages already received keep their records and forwarded events.',
        params: SourceParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await deleteSource(db, req.tenant.id, req.params.id);
      receivingSources.delete(req.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/tenants/:tenant/inbound',
    {
      schema: {
        tags,
        summary: 'List received messages (newest first)',
        description:
          'Every request that reached a source of this tenant: processed, unmatched (held until its customer exists), rejected (with the reason) or failed.',
        params: TenantParams,
        querystring: listQuery({ source: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), status: Type.Optional(Status) }),
        response: { 200: page(InboundSummary), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      return listInbound(db, req.tenant.id, { limit: q.limit, cursor: q.cursor, sourceId: q.source, status: q.status });
    },
  );

  app.get(
    '/v1/tenants/:tenant/inbound/:id',
    {
      schema: {
        tags,
        summary: 'Get one received message, with its headers and exact body (a rejected one: its first bytes)',
        description: 'Credentials in headers are shown as `[redacted]`. The body is base64 when it is not UTF-8 text.',
        params: SourceParams,
        response: { 200: InboundMessage, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return getInbound(db, req.tenant.id, req.params.id);
    },
  );
}
