import { Type } from '@sinclair/typebox';
import { followAttempts, type LiveMessage } from '../../delivery/liveAttempts.js';
import type { Api, ApiDeps } from '../deps.js';
import { NdjsonStreams } from '../ndjson.js';
import { errors, Nullable, parseTimestamp, TenantParams, Timestamp } from '../schemas.js';

const Line = Type.Union([
  Type.Object(
    {
      type: Type.Literal('attempt'),
      id: Type.String(),
      deliveryId: Type.String(),
      eventId: Type.String(),
      eventType: Type.String(),
      endpointId: Type.String(),
      attempt: Type.Integer({ description: '1 for the first try' }),
      startedAt: Timestamp,
      durationMs: Type.Integer(),
      statusCode: Nullable(Type.Integer()),
      error: Nullable(Type.String()),
      deliveryStatus: Type.String({ description: 'the delivery now: I (another try is due), S or F' }),
    },
    { description: 'an attempt, once it is recorded' },
  ),
  Type.Object({ type: Type.Literal('ping') }, { description: 'every 15 s: the stream is alive' }),
  Type.Object({ type: Type.Literal('error'), message: Type.String() }, { description: 'the stream failed: last line; connect again' }),
]);

export default async function liveAttemptRoutes(app: Api, { db, config, clock }: ApiDeps) {
  const streams = new NdjsonStreams();
  app.addHook('preClose', async () => streams.closeAll());

  app.get(
    '/v1/tenants/:tenant/attempts/stream',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'Follow the tenant’s delivery attempts live',
        description:
          'One JSON object per line: each attempt of the tenant’s deliveries once it is recorded (`herald tail` reads this), oldest first, and a `ping` every 15 s. `since` also tells the attempts that started since then first (default: from now on).',
        params: TenantParams,
        querystring: Type.Object({ since: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false }),
        response: {
          200: { description: 'the stream', content: { 'application/x-ndjson': { schema: Line } } },
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (req, reply) => {
      const since = req.query.since ? parseTimestamp(req.query.since) : clock.now();
      const tenantId = req.tenant.id;
      await streams.serve<LiveMessage>(req, reply, (emit, signal) =>
        followAttempts(
          db,
          tenantId,
          { since, deliveryTimeoutMs: config.deliveryTimeoutMs, pollMs: config.pollIntervalMs, clock },
          emit,
          signal,
        ),
      );
    },
  );
}
