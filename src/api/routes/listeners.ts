import { Type } from '@sinclair/typebox';
import { endpointContext } from '../../auth/endpointContext.js';
import { createListener, deleteListener, getListener } from '../../endpoints/listeners.js';
import { type ListenerDeps, type ListenMessage, ListenerFeed, recordListenerAnswer, runListener } from '../../delivery/listenerFeed.js';
import type { Api, ApiDeps } from '../deps.js';
import { NdjsonStreams } from '../ndjson.js';
import { errors, NoContent, Nullable, TenantParams, Timestamp } from '../schemas.js';
import { EndpointWithSecret, Format } from './endpoints.js';

// `herald listen` over REST (endpoints/listeners.ts, delivery/listenerFeed.ts): make a listen
// endpoint, hold its stream open, answer each delivery, delete it. Any node can serve any of these:
// the state is in the database.

const ListenerParams = Type.Object({ tenant: TenantParams.properties.tenant, id: Type.String({ minLength: 1, maxLength: 100 }) });

const StreamLine = Type.Union([
  Type.Object(
    {
      type: Type.Literal('ready'),
      endpointId: Type.String(),
      expiresAt: Timestamp,
      timeoutMs: Type.Integer({ description: 'give up on the local URL after this long (HERALD_DELIVERY_TIMEOUT)' }),
    },
    { description: 'first line: the stream is open and the endpoint renewed' },
  ),
  Type.Object(
    {
      type: Type.Literal('delivery'),
      deliveryId: Type.String(),
      leaseToken: Type.String({ description: 'send it back with the answer' }),
      eventId: Type.String(),
      eventType: Type.String(),
      attempt: Type.Integer({ description: '1 for the first try' }),
      url: Type.String(),
      headers: Type.Record(Type.String(), Type.String(), { description: 'exactly the headers an http endpoint gets, signature included' }),
      body: Type.String({ contentEncoding: 'base64', description: 'the exact bytes an http endpoint gets, base64' }),
    },
    { description: 'a request to post to the local URL, then to answer with POST …/results' },
  ),
  Type.Object({ type: Type.Literal('ping'), expiresAt: Timestamp }, { description: 'the endpoint was renewed; the stream is alive' }),
  Type.Object({ type: Type.Literal('gone'), reason: Type.String() }, { description: 'the endpoint was deleted or expired: last line' }),
  Type.Object({ type: Type.Literal('error'), message: Type.String() }, { description: 'the stream failed: last line; connect again' }),
]);

export default async function listenerRoutes(app: Api, deps: ApiDeps) {
  const { db, config, addresses, box, clock, metrics } = deps;
  const tags = ['listeners'];
  const listening: ListenerDeps = { db, box, config, clock, metrics };
  const streams = new NdjsonStreams();
  app.addHook('preClose', async () => streams.closeAll());

  app.post(
    '/v1/tenants/:tenant/listeners',
    {
      schema: {
        tags,
        summary: 'Create a listen endpoint (herald listen)',
        description:
          'An endpoint of kind `listen`: subscribed and signed like any endpoint, but Herald never posts to its URL. The client holds GET …/listeners/:id/stream open, posts each request it is handed to `forwardTo` (typically a local server), and answers with POST …/listeners/:id/results. It expires after HERALD_LISTEN_EXPIRY (default 10 minutes) without a connection. Counts against the endpoint limit.',
        params: TenantParams,
        body: Type.Object(
          {
            forwardTo: Type.String({
              minLength: 1,
              maxLength: 2000,
              description: 'the http(s) URL the client posts to; the endpoint’s url',
            }),
            eventTypes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 500 })),
            format: Type.Optional(Format),
            description: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: EndpointWithSecret, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const ctx = endpointContext(req.actor, { config, addresses, box });
      const listener = await createListener(db, ctx, req.tenant.id, req.body, clock.now() + config.listenExpiryMs);
      return reply.status(201).send(listener);
    },
  );

  app.get(
    '/v1/tenants/:tenant/listeners/:id/stream',
    {
      schema: {
        tags,
        summary: 'Receive a listen endpoint’s deliveries',
        description:
          'One JSON object per line, for as long as the connection stays open: `ready`, then a `delivery` for each request to forward as it comes due (at most 10 unanswered at once), and a `ping` every 15 s that also renews the endpoint. Deliveries left unanswered when the connection ends are offered again at once to the next connection.',
        params: ListenerParams,
        response: {
          200: { description: 'the stream', content: { 'application/x-ndjson': { schema: StreamLine } } },
          ...errors(401, 403, 404),
        },
      },
    },
    async (req, reply) => {
      const listener = await getListener(db, req.tenant.id, req.params.id);
      await streams.serve<ListenMessage>(req, reply, (emit, signal) =>
        runListener(new ListenerFeed(listening, listener.id), listening, emit, signal),
      );
    },
  );

  app.post(
    '/v1/tenants/:tenant/listeners/:id/results',
    {
      schema: {
        tags,
        summary: 'Answer a delivery of a listen endpoint',
        description:
          'What the local URL answered (or why it did not): recorded as the delivery’s attempt, exactly as when Herald posts itself: a 2xx delivers, anything else is retried on the schedule (429 and 503 wait for retry-after), and the delivery log, endpoint health and reports follow. 409 when the delivery already finished.',
        params: ListenerParams,
        body: Type.Object(
          {
            deliveryId: Type.String({ minLength: 1, maxLength: 100 }),
            leaseToken: Type.String({ minLength: 1, maxLength: 100 }),
            statusCode: Nullable(Type.Integer({ minimum: 100, maximum: 999, description: 'null when no answer came' })),
            durationMs: Type.Integer({ minimum: 0 }),
            responseBody: Type.Optional(Nullable(Type.String({ maxLength: 4096, description: 'the first 4 KiB of the answer' }))),
            error: Type.Optional(Nullable(Type.String({ maxLength: 1000, description: 'why no answer came' }))),
            retryAfterMs: Type.Optional(Nullable(Type.Integer({ minimum: 0, description: 'retry-after of a 429 or 503, in ms' }))),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            deliveryId: Type.String(),
            status: Type.Union([Type.Literal('I'), Type.Literal('S'), Type.Literal('F')]),
            attempts: Type.Integer(),
            nextAttemptAt: Nullable(Timestamp),
          }),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (req) => {
      const listener = await getListener(db, req.tenant.id, req.params.id);
      const b = req.body;
      return recordListenerAnswer(listening, listener.id, {
        deliveryId: b.deliveryId,
        leaseToken: b.leaseToken,
        statusCode: b.statusCode,
        durationMs: b.durationMs,
        responseBody: b.responseBody ?? null,
        error: b.error ?? null,
        retryAfterMs: b.retryAfterMs ?? null,
      });
    },
  );

  app.delete(
    '/v1/tenants/:tenant/listeners/:id',
    {
      schema: {
        tags,
        summary: 'Delete a listen endpoint',
        description:
          'What still waits for it fails with "listener stopped"; a stream still open ends with a `gone` line at its next renewal (within 15 s). `herald listen` calls this on Ctrl-C.',
        params: ListenerParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await deleteListener(db, req.tenant.id, req.params.id);
      return reply.status(204).send();
    },
  );
}
