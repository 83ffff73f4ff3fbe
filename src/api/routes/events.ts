import type { FastifyRequest } from 'fastify';
import { type TSchema, Type } from '@sinclair/typebox';
import { listAttempts } from '../../delivery/sql/readAttempts.js';
import { resendDelivery } from '../../delivery/sql/resendDelivery.js';
import { badRequest, HeraldError } from '../../errors.js';
import { checkPayload } from '../../event-types/eventTypes.js';
import { type AcceptedEvent, type NewEvent, requestHash } from '../../events/eventWriter.js';
import { type EventView, getEvent, listEvents } from '../../events/readEvents.js';
import { encodeCursor } from '../../pagination.js';
import { endSpan, SpanKind } from '../../observability/tracing.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, listQuery, ListQuery, page, parseTimestamp, TenantParams, Timestamp } from '../schemas.js';
import { DELIVERY_STATUSES, DeliveryStatus, describeStatuses, EVENT_STATUSES } from '../../delivery/status.js';

const Status = Type.Union(EVENT_STATUSES.map((s) => Type.Literal(s)));

const EventInput = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 100 }),
    payload: Type.Unknown({
      description:
        'any JSON value; validated against the type’s schema, then stored and delivered as the exact text sent (numbers keep every digit, whitespace is kept)',
    }),
    occurredAt: Type.Optional(Type.String({ format: 'date-time', description: 'when it happened (default: now)' })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false, required: ['type', 'payload'] },
);

export const AcceptedEventSchema = Type.Object(
  { id: Type.String(), type: Type.String(), status: Status, createdAt: Timestamp, occurredAt: Timestamp },
  { $id: 'AcceptedEvent' },
);

const Delivery = Type.Object({
  id: Type.String(),
  endpointId: Type.String(),
  status: Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()]),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
});

export const EventSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    payload: Type.Unknown(),
    status: Status,
    idempotencyKey: Type.Union([Type.String(), Type.Null()]),
    payloadPurgedAt: Type.Union([Timestamp, Type.Null()], { description: 'set when retention purged the payload' }),
    createdAt: Timestamp,
    occurredAt: Timestamp,
    deliveries: Type.Optional(Type.Array(Delivery)),
  },
  { $id: 'Event' },
);

const Attempt = Type.Object({
  id: Type.String(),
  deliveryId: Type.String(),
  attempt: Type.Integer(),
  startedAt: Timestamp,
  durationMs: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null()]),
});

const IdParams = Type.Object({ tenant: TenantParams.properties.tenant, id: Type.String({ minLength: 1, maxLength: 100 }) });

const toAccepted = (e: AcceptedEvent) => ({
  id: e.id,
  type: e.type,
  status: e.status,
  createdAt: new Date(e.createdAt).toISOString(),
  occurredAt: new Date(e.occurredAt).toISOString(),
});

export const MAX_BATCH = 1000;

type EventBody = { type: string; payload: unknown; occurredAt?: string; idempotencyKey?: string };

/**
 * An answer the handler writes as JSON text itself (payloads spliced in as stored): the schema
 * documents it; the handler sends the text.
 */
const writtenJson = <T extends TSchema>(schema: T) => Type.Unsafe<string>(schema);

/** GET …/events/:id as JSON text: the payload spliced in as stored, never parsed and re-serialized. */
function eventJson(e: EventView): string {
  const { id, type, payload, ...rest } = e;
  return `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"payload":${payload},${JSON.stringify(rest).slice(1)}`;
}

export default async function eventRoutes(app: Api, { db, auth, config, events: writer, onEventsAccepted, tracing }: ApiDeps) {
  /**
   * Writes accepted events, inside a span when tracing is on: the child of the request's own
   * `traceparent`, if it sent one, and the parent of every attempt at these events' deliveries.
   */
  const ingest = async <T>(req: FastifyRequest, events: NewEvent[], write: () => Promise<T>): Promise<T> => {
    if (!tracing) return write();
    const span = tracing.start(`POST ${req.routeOptions.url}`, SpanKind.SERVER, tracing.contextOfHeaders(req.headers), {
      'http.request.method': 'POST',
      'http.route': req.routeOptions.url ?? '',
      'herald.tenant.id': req.tenant.id,
      'herald.events.count': events.length,
    });
    const traceParent = tracing.traceParentOf(span);
    for (const e of events) e.traceParent = traceParent;
    try {
      const written = await write();
      endSpan(span);
      return written;
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
  };

  const tags = ['events'];
  // A batch may carry up to MAX_BATCH full-size payloads, but never more than HERALD_MAX_BATCH_BYTES:
  // the body is read, parsed and validated in memory before anything is stored.
  const batchLimit = Math.min(config.maxBatchBytes, MAX_BATCH * (config.maxPayloadBytes + 1024));

  /**
   * Checks one event and turns it into what the outbox stores. `source` is the payload's exact text
   * as sent (api/jsonBody.ts); `where` prefixes messages in a batch.
   */
  async function prepare(environmentId: string, input: EventBody, source: string | undefined, where: string): Promise<NewEvent> {
    if (input.payload === undefined) throw badRequest(`${where}payload is required`);
    // The JSON body parser captures every payload of these routes; without it the bytes would be lost.
    if (source === undefined) throw new Error('the exact text of the payload was not captured');
    const bytes = Buffer.byteLength(source);
    if (bytes > config.maxPayloadBytes) {
      throw new HeraldError(
        'payload_too_large',
        `${where}payload is ${bytes} bytes; the limit is ${config.maxPayloadBytes} (HERALD_MAX_PAYLOAD_BYTES)`,
      );
    }
    let occurredAt: number | undefined;
    try {
      // The schema validates the parsed value; what is stored and sent is the text.
      await checkPayload(db, environmentId, input.type, input.payload);
      occurredAt = input.occurredAt ? parseTimestamp(input.occurredAt) : undefined;
    } catch (err) {
      if (err instanceof HeraldError && where) throw new HeraldError(err.code, where + err.message, err.details);
      throw err;
    }
    const event = { type: input.type, payload: source, occurredAt, idempotencyKey: input.idempotencyKey };
    return input.idempotencyKey ? { ...event, requestHash: requestHash(event) } : event;
  }

  app.post(
    '/v1/tenants/:tenant/events',
    {
      bodyLimit: config.maxPayloadBytes + 64 * 1024,
      config: { rawPayloads: true, bodyLimitSetting: 'HERALD_MAX_PAYLOAD_BYTES, plus 64 KiB for the envelope' },
      // The tenant is resolved (and a key scoped to another tenant refused) before the body is read.
      onRequest: auth.tenantBeforeBody,
      schema: {
        tags,
        summary: 'Send an event',
        description:
          'Stores the event and one delivery per subscribed endpoint in one transaction, and answers 202. The same idempotency key (body field or Idempotency-Key header) answers the same event again and creates nothing.',
        params: TenantParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: EventInput,
        response: { 202: Type.Ref('AcceptedEvent'), ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const headerKey = req.headers['idempotency-key'];
      if (headerKey && body.idempotencyKey && headerKey !== body.idempotencyKey) {
        throw badRequest('the Idempotency-Key header and the idempotencyKey field differ; send one of them');
      }
      const event = await prepare(
        req.actor.environmentId,
        { ...body, idempotencyKey: body.idempotencyKey ?? headerKey },
        req.jsonSource?.payload,
        '',
      );
      // The writer hands the deliveries to this process's worker, or wakes it: no wake-up here.
      const [accepted] = await ingest(req, [event], () => writer.write(req.tenant.id, [event]));
      return reply.status(202).send(toAccepted(accepted));
    },
  );

  app.post(
    '/v1/tenants/:tenant/events/batch',
    {
      bodyLimit: batchLimit,
      config: {
        rawPayloads: true,
        bodyLimitSetting: batchLimit === config.maxBatchBytes ? 'HERALD_MAX_BATCH_BYTES' : `${MAX_BATCH} × HERALD_MAX_PAYLOAD_BYTES`,
      },
      // The tenant is resolved (and a key scoped to another tenant refused) before the body is read.
      onRequest: auth.tenantBeforeBody,
      schema: {
        tags,
        summary: `Send up to ${MAX_BATCH} events at once`,
        description:
          `If any event is invalid, none is stored and the error names it (events[i]). The body may be at most ${batchLimit} bytes (HERALD_MAX_BATCH_BYTES). ` +
          'A batch whose deliveries are many is stored in several transactions of whole events; send idempotency keys to retry one safely.',
        params: TenantParams,
        body: Type.Object({ events: Type.Array(EventInput, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
        response: { 202: Type.Object({ data: Type.Array(Type.Ref('AcceptedEvent')) }), ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const { events } = req.body;
      const sources = req.jsonSource?.events ?? [];
      const prepared: NewEvent[] = [];
      for (let i = 0; i < events.length; i++)
        prepared.push(await prepare(req.actor.environmentId, events[i], sources[i], `events[${i}]: `));
      const accepted = await ingest(req, prepared, () => writer.write(req.tenant.id, prepared));
      return reply.status(202).send({ data: accepted.map(toAccepted) });
    },
  );

  app.get(
    '/v1/tenants/:tenant/events',
    {
      schema: {
        tags,
        summary: 'List events, newest first',
        description: `Filters combine: \`type\`, \`status\` (${describeStatuses(EVENT_STATUSES)}), and \`since\`/\`until\` on the creation time. Payloads are answered as stored, byte for byte.`,
        params: TenantParams,
        querystring: listQuery({
          type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          status: Type.Optional(Status),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
          until: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
        }),
        response: { 200: writtenJson(page(Type.Ref('Event'))), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const found = await listEvents(
        db,
        req.tenant.id,
        {
          type: q.type,
          status: q.status,
          since: q.since ? parseTimestamp(q.since) : undefined,
          until: q.until ? parseTimestamp(q.until) : undefined,
        },
        q.limit,
        q.cursor,
      );
      // Written by hand to splice the payloads in as stored; so the cursor is encoded here too.
      const next = found.nextCursor === null ? 'null' : JSON.stringify(encodeCursor(req.routeOptions.url!, found.nextCursor));
      return reply.type('application/json; charset=utf-8').send(`{"data":[${found.data.map(eventJson).join(',')}],"nextCursor":${next}}`);
    },
  );

  app.get(
    '/v1/tenants/:tenant/events/:id',
    {
      schema: {
        tags,
        summary: 'Get an event with its deliveries',
        description:
          'The event with one entry per endpoint: status, attempts so far, the next attempt and the last HTTP status. The attempts themselves are one call away (`…/deliveries/:id/attempts`).',
        params: IdParams,
        response: { 200: Type.Ref('Event'), ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      return reply.type('application/json; charset=utf-8').send(eventJson(await getEvent(db, req.tenant.id, req.params.id)));
    },
  );

  app.get(
    '/v1/tenants/:tenant/deliveries/:id/attempts',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'List the attempts of a delivery, newest first',
        description:
          'Every HTTP try: when, the status code (null when no answer came), how long it took, the error, and the first 4 KB of the answer.',
        params: IdParams,
        querystring: ListQuery,
        response: { 200: page(Attempt), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      // Attempt numbers are 32-bit integers in the database: a larger position never reaches it.
      if (q.cursor !== undefined && !(/^\d{1,10}$/.test(q.cursor) && Number(q.cursor) <= 2 ** 31 - 1))
        throw badRequest('cursor must be the nextCursor of a previous page');
      return listAttempts(db, req.tenant.id, req.params.id, q.limit, q.cursor);
    },
  );

  app.post(
    '/v1/tenants/:tenant/deliveries/:id/resend',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'Send a delivery again now',
        description: 'A finished delivery starts a new round with the full retry schedule; one waiting for a retry is tried at once.',
        params: IdParams,
        response: {
          202: Type.Object({ id: Type.String(), status: Type.Literal(DeliveryStatus.InProgress) }),
          ...errors(401, 403, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      await resendDelivery(db, req.tenant.id, id);
      onEventsAccepted();
      return reply.status(202).send({ id, status: DeliveryStatus.InProgress });
    },
  );
}
