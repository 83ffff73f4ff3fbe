import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { endpointContext } from '../../auth/endpointContext.js';
import { refreshEventStatus } from '../../events/eventStatus.js';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  getSecret,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from '../../endpoints/endpoints.js';
import { getRecovery, startRecovery } from '../../delivery/sql/recoverDeliveries.js';
import { sendTestEvent, TEST_EVENT_TYPE } from '../../endpoints/testEvent.js';
import { auditRequest } from '../audit.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, ListQuery, page, parseTimestamp, TenantParams, Timestamp } from '../schemas.js';

export const Format = Type.Union(
  [Type.Literal('standard'), Type.Literal('productfy'), Type.Literal('original'), Type.Literal('cloudevents')],
  {
    description:
      'body format: standard (Standard Webhooks), productfy (Productfy’s webhook envelope), original (events forwarded from a source arrive with the body and headers the provider sent, unchanged, plus Herald’s signature headers; other events as standard), or cloudevents (CloudEvents 1.0 in structured mode, content type application/cloudevents+json). Every format is signed with the same Standard Webhooks headers.',
  },
);
const Headers = Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 2000 }), {
  description: 'custom headers sent with every webhook',
  maxProperties: 20,
});

export const Endpoint = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    url: Type.String(),
    description: Type.String(),
    eventTypes: Type.Array(Type.String(), { description: 'subscribed event types; empty means all' }),
    format: Format,
    headers: Type.Record(Type.String(), Type.String()),
    enabled: Type.Boolean(),
    maxConcurrency: Type.Union([Type.Integer(), Type.Null()]),
    rateLimit: Type.Union([Type.Integer(), Type.Null()]),
    ordered: Type.Boolean(),
    disabledReason: Type.Union([Type.String(), Type.Null()], {
      description:
        'why it is disabled: "410 Gone from the endpoint", "failing since … without a success for more than 5d", "disabled by PATCH", "created disabled"; null while enabled',
    }),
    disabledAt: Type.Union([Timestamp, Type.Null()], { description: 'since when it is disabled; null while enabled' }),
    kind: Type.Union([Type.Literal('http'), Type.Literal('listen')], {
      description:
        'http: Herald posts to the URL. listen: a temporary endpoint of `herald listen`, whose deliveries the CLI pulls and posts to the URL itself (see /v1/tenants/{tenant}/listeners)',
    }),
    expiresAt: Type.Union([Timestamp, Type.Null()], {
      description: 'a listen endpoint: deleted at this time unless its listener is still connected; null for http endpoints',
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Endpoint' },
);

export const EndpointWithSecret = Type.Intersect([Type.Ref('Endpoint'), Type.Object({ secret: Type.String() })]);

const Fields = {
  url: Type.String({ minLength: 1, maxLength: 2000 }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  eventTypes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 500 })),
  format: Type.Optional(Format),
  headers: Type.Optional(Headers),
  enabled: Type.Optional(Type.Boolean()),
  maxConcurrency: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.Null()], {
      description: 'deliveries in flight at once, per Herald node (default HERALD_ENDPOINT_CONCURRENCY)',
    }),
  ),
  rateLimit: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: 100000 }), Type.Null()], {
      description: 'deliveries per second, per Herald node; null: unlimited',
    }),
  ),
  ordered: Type.Optional(
    Type.Boolean({ description: 'deliver one at a time in event order; the next waits until the previous succeeded or failed for good' }),
  ),
};

const EndpointParams = Type.Object({ tenant: TenantParams.properties.tenant, id: Type.String({ minLength: 1, maxLength: 100 }) });

export { TEST_EVENT_TYPE };

export default async function endpointRoutes(app: Api, { db, config, events, addresses, box }: ApiDeps) {
  const tags = ['endpoints'];
  const ctx = (req: FastifyRequest) => endpointContext(req.actor, { config, addresses, box });

  app.post(
    '/v1/tenants/:tenant/endpoints',
    {
      schema: {
        tags,
        summary: 'Create an endpoint',
        description:
          'Answers the endpoint with its signing secret (whsec_…). Production endpoints must be https and public; in the sandbox only an operator key may point one at a private or loopback address.',
        params: TenantParams,
        body: Type.Object(Fields, { additionalProperties: false }),
        response: { 201: EndpointWithSecret, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      return reply.status(201).send(await createEndpoint(db, ctx(req), req.tenant.id, req.body));
    },
  );

  app.get(
    '/v1/tenants/:tenant/endpoints',
    {
      schema: {
        tags,
        summary: 'List endpoints',
        description: 'The tenant’s endpoints with their subscriptions, format and limits, a page at a time. Secrets are not listed.',
        params: TenantParams,
        querystring: ListQuery,
        response: { 200: page(Type.Ref('Endpoint')), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      return listEndpoints(db, req.tenant.id, q.limit, q.cursor);
    },
  );

  app.get(
    '/v1/tenants/:tenant/endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Get an endpoint',
        description: 'One endpoint with its subscriptions, format, custom headers and limits, and whether it is enabled.',
        params: EndpointParams,
        response: { 200: Type.Ref('Endpoint'), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return getEndpoint(db, req.tenant.id, req.params.id);
    },
  );

  app.patch(
    '/v1/tenants/:tenant/endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Change an endpoint',
        description:
          'Changes only the fields sent. A new URL is checked like a new endpoint’s; `enabled: true` on a disabled endpoint also forgets its failures, so its circuit starts closed.',
        params: EndpointParams,
        body: Type.Object({ ...Fields, url: Type.Optional(Fields.url) }, { additionalProperties: false }),
        response: { 200: Type.Ref('Endpoint'), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const current = await getEndpoint(db, req.tenant.id, req.params.id);
      return updateEndpoint(db, ctx(req), current, req.body);
    },
  );

  app.delete(
    '/v1/tenants/:tenant/endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Delete an endpoint',
        description: 'Deliveries still waiting for it fail with "endpoint deleted".',
        params: EndpointParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await db.tx(async (q) => {
        const events = await deleteEndpoint(q, req.tenant.id, req.params.id);
        await refreshEventStatus(q, events);
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/tenants/:tenant/endpoints/:id/secret',
    {
      schema: {
        tags,
        summary: "Read an endpoint's signing secret",
        description: 'The current `whsec_…` secret; secrets still inside their overlap after a rotation keep signing beside it.',
        params: EndpointParams,
        response: { 200: Type.Object({ secret: Type.String() }), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const secret = await getSecret(db, box, req.tenant.id, req.params.id);
      await auditRequest(db, req, 'endpoint.secret_revealed', req.params.id, { tenantId: req.tenant.id });
      return { secret };
    },
  );

  app.post(
    '/v1/tenants/:tenant/endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: "Rotate an endpoint's signing secret",
        description:
          'The replaced secret keeps signing beside the new one for 24 hours (and so does every earlier one still inside its 24 hours), so receivers can switch without losing a webhook. 409 when 10 earlier secrets are still signing.',
        params: EndpointParams,
        response: { 200: Type.Object({ secret: Type.String() }), ...errors(401, 403, 404, 409) },
      },
    },
    async (req) => {
      const secret = await rotateSecret(db, box, req.tenant.id, req.params.id);
      await auditRequest(db, req, 'endpoint.secret_rotated', req.params.id, { tenantId: req.tenant.id });
      return { secret };
    },
  );

  app.post(
    '/v1/tenants/:tenant/endpoints/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a test event to this endpoint only',
        description: `Sends the example payload of eventType (default: the first type the endpoint subscribes to; "${TEST_EVENT_TYPE}" when it subscribes to all).`,
        params: EndpointParams,
        body: Type.Optional(
          Type.Object({ eventType: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }),
        ),
        response: { 202: Type.Object({ eventId: Type.String() }), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const endpoint = await getEndpoint(db, req.tenant.id, req.params.id);
      return reply.status(202).send(await sendTestEvent(db, events, req.actor.environmentId, endpoint, req.body?.eventType));
    },
  );

  const Recovery = Type.Object({
    id: Type.String(),
    endpointId: Type.String(),
    since: Timestamp,
    until: Timestamp,
    status: Type.Union([Type.Literal('running'), Type.Literal('done')]),
    total: Type.Integer({ description: 'deliveries in the window when the recovery started: failed + waiting' }),
    failed: Type.Integer({ description: 'of which failed for good: sent again with a fresh retry schedule' }),
    waiting: Type.Integer({ description: 'of which waiting for a later retry: made due now' }),
    done: Type.Integer({ description: 'resent or made due so far' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  });

  app.post(
    '/v1/tenants/:tenant/endpoints/:id/recover',
    {
      schema: {
        tags,
        summary: 'Send again now what failed or waits for a retry, for an endpoint, between two times',
        description:
          "For the deliveries created in the window: those waiting for a later retry are made due now (keeping their retry schedule), those that failed for good start a new round with the full retry schedule; the answer says how many of each. The endpoint's circuit half-opens at once. Runs in the background; read its progress with GET /v1/tenants/:tenant/recoveries/:id.",
        params: EndpointParams,
        body: Type.Object(
          {
            since: Type.String({ format: 'date-time' }),
            until: Type.Optional(Type.String({ format: 'date-time', description: 'default: now' })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Recovery, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const endpoint = await getEndpoint(db, req.tenant.id, req.params.id);
      const body = req.body;
      const recovery = await startRecovery(
        db,
        req.tenant.id,
        endpoint.id,
        parseTimestamp(body.since),
        body.until ? parseTimestamp(body.until) : Date.now(),
      );
      return reply.status(202).send(recovery);
    },
  );

  app.get(
    '/v1/tenants/:tenant/recoveries/:id',
    {
      schema: {
        tags,
        summary: 'Progress of a recovery',
        description: 'How many deliveries the recovery found and how many it has set due again; `status` is running until it is done.',
        params: EndpointParams,
        response: { 200: Recovery, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return getRecovery(db, req.tenant.id, req.params.id);
    },
  );
}
