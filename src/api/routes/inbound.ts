import { type Static, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { type ErrorCode, HeraldError, notFound } from '../../errors.js';
import { isForeignKeyViolation } from '../../db/db.js';
import { KeyRateLimiter } from '../rateLimit.js';
import { GroupCommit } from '../../db/groupCommit.js';
import { refusedCopy, RefusalBudget } from '../../inbound/refusals.js';
import { type NewInbound, storableHeaders, storeInbound, storeInboundAtOnce } from '../../inbound/sql/storeInbound.js';
import { MalformedBody, PROVIDERS } from '../../sources/providers/index.js';
import { DEFAULT_TOKEN_HEADER } from '../../sources/providers/token.js';
import { findReceivingSource, type ReceivingSource } from '../../sources/sources.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors } from '../schemas.js';

const Params = Type.Object({ sourceId: Type.String({ minLength: 1, maxLength: 100 }) });
const Accepted = Type.Object({
  id: Type.String({ description: 'the stored message; for a duplicate, the first one' }),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate')]),
});

/** Headers that carry the source's own credentials: stored redacted. */
function secretHeaders(s: ReceivingSource): string[] {
  if (s.provider === 'basic') return ['authorization'];
  if (s.provider === 'token') return [(s.options.header ?? DEFAULT_TOKEN_HEADER).toLowerCase()];
  return [];
}

/**
 * POST /in/:sourceId — where providers post. Registered in its own plugin: it takes any content
 * type as raw bytes (the signature covers the exact bytes), with its own size limit. The request
 * is verified in memory, stored in one statement, and answered; what it means is worked out
 * afterwards by the inbound processor.
 */
export default async function inboundRoutes(app: Api, { db, box, config, onInboundReceived, receivingSources: sources, metrics }: ApiDeps) {
  const source = async (id: string): Promise<ReceivingSource | null> => {
    let s = sources.get(id);
    if (s === undefined) {
      s = (await findReceivingSource(db, box, id)) ?? null;
      sources.set(id, s);
    }
    return s;
  };

  // Concurrent requests are stored in one commit (one WAL flush on SQLite; on Postgres one
  // statement that commits by itself), each answered after the commit that holds it. A commit
  // that stored a message to process tells the worker nodes (Postgres; this node's own inbound
  // processor is woken after the answer).
  const commitsItself = db.dialect === 'postgres';
  const writer = new GroupCommit<NewInbound, { id: string; duplicate: boolean }>(
    db,
    async (q, items) => (commitsItself ? storeInboundAtOnce(db, items) : { results: await storeInbound(q, items) }),
    { transaction: !commitsItself, observe: metrics.groupCommitObserver('inbound') },
  );

  // Refused requests are stored so a tenant can see why a provider's webhooks fail, but anyone who
  // knows the URL can post them: a flood of forged ones must cost the database almost nothing. What
  // is kept of one is bounded (a prefix of the body, bounded headers: inbound/refusals.ts), and
  // each source may store so many per second and so many bytes per hour; beyond that they are
  // refused all the same, without a trace. Maintenance deletes them after their own retention.
  const refusals = new KeyRateLimiter(config.inboundRejectionsStored);
  const budget = new RefusalBudget(config.inboundRejectedBytesPerHour);
  const keepRefusal = async (
    s: ReceivingSource,
    req: FastifyRequest,
    body: Buffer,
    bodySize: number | null,
    reason: string,
  ): Promise<boolean> => {
    const copy = refusedCopy(storableHeaders(req.headers, secretHeaders(s)), body, bodySize, config.inboundRejectedBodyBytes, reason);
    if (refusals.tryTake(s.id) !== 0 || !budget.tryTake(s.id, copy.cost)) return false;
    await store(s, { status: 'rejected', reason, headers: copy.headers, body: copy.body, bodySize: copy.bodySize });
    return true;
  };
  const refuse = async (
    s: ReceivingSource,
    req: FastifyRequest,
    body: Buffer,
    code: ErrorCode,
    reason: string,
    message = reason,
  ): Promise<never> => {
    metrics.inboundReceived.inc({ provider: s.provider, result: 'rejected' });
    const kept = await keepRefusal(s, req, body, body.length, reason);
    throw new HeraldError(
      code,
      `${message}; ${kept ? 'the request was stored as rejected' : 'too many refused requests for this source right now to store this one'}`,
    );
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.inboundMaxBytes }, (_req, body, done) => done(null, body));

  const store = async (
    s: ReceivingSource,
    m: Pick<NewInbound, 'status' | 'reason' | 'headers' | 'body' | 'bodySize'> & { parsed?: { type: string; dedupeKey: string | null } },
  ) => {
    try {
      return await writer.submit({
        sourceId: s.id,
        tenantId: s.tenantId,
        status: m.status,
        reason: m.reason,
        dedupeKey: m.parsed?.dedupeKey ?? null,
        eventType: m.parsed?.type ?? null,
        headers: m.headers,
        body: m.body,
        bodySize: m.bodySize,
        receivedAt: Date.now(),
      });
    } catch (err) {
      // Deleted (with its tenant, or on another node) after it was cached: it is gone.
      if (!isForeignKeyViolation(err)) throw err;
      sources.delete(s.id);
      throw notFound('source', s.id);
    }
  };

  // A body over the limit never reaches the handler; it is still recorded (without the body, with
  // the size it announced), so the tenant can see why a provider's webhooks fail.
  app.addHook('onError', async (req, _reply, err) => {
    if ((err as { code?: string }).code !== 'FST_ERR_CTP_BODY_TOO_LARGE') return;
    // Before validation: the path parameter may be anything, or missing.
    const s = await source((req.params as { sourceId?: string }).sourceId ?? '').catch(() => null);
    const announced = /^\d{1,15}$/.test(req.headers['content-length'] ?? '') ? Number(req.headers['content-length']) : null;
    if (!s) return;
    metrics.inboundReceived.inc({ provider: s.provider, result: 'rejected' });
    await keepRefusal(
      s,
      req,
      Buffer.alloc(0),
      announced,
      `body larger than the limit of ${config.inboundMaxBytes} bytes (HERALD_INBOUND_MAX_BYTES); not stored`,
    ).catch(() => undefined);
  });

  app.post(
    '/in/:sourceId',
    {
      bodyLimit: config.inboundMaxBytes,
      schema: {
        tags: ['inbound'],
        summary: 'Receive a webhook from a provider',
        description:
          'Verifies the request as the source’s provider signs it, stores it exactly as it came, and answers 200. A duplicate (same provider id) is answered 200 and not processed again. A request that fails verification is answered 401 and stored as rejected, with the reason, its headers and the first bytes of its body, within a byte budget per source.',
        security: [],
        'x-raw-body':
          'The provider’s request exactly as it sends it: JSON, a form (Chargify) or any other bytes, up to HERALD_INBOUND_MAX_BYTES. Herald verifies the signature over these bytes.',
        params: Params,
        response: { 200: Accepted, ...errors(400, 401, 403, 404, 413) },
      },
    },
    async (req) => {
      const id = req.params.sourceId;
      const s = await source(id);
      if (!s) throw notFound('source', id);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!s.enabled)
        return refuse(s, req, body, 'forbidden', 'the source is disabled', 'this source is disabled; its tenant can enable it again');
      const provider = PROVIDERS[s.provider];
      const message = { headers: req.headers as Record<string, string>, body, receivedAt: Date.now() };
      const refused = provider.verify(message, s.secret, s.options);
      if (refused) return refuse(s, req, body, 'unauthorized', refused);
      let parsed;
      try {
        parsed = provider.parse(message);
      } catch (err) {
        if (!(err instanceof MalformedBody)) throw err;
        return refuse(s, req, body, 'bad_request', err.message);
      }
      const stored = await store(s, {
        status: 'received',
        reason: null,
        headers: storableHeaders(req.headers, secretHeaders(s)),
        body,
        bodySize: body.length,
        parsed,
      });
      if (!stored.duplicate) onInboundReceived();
      metrics.inboundReceived.inc({ provider: s.provider, result: stored.duplicate ? 'duplicate' : 'accepted' });
      const status: Static<typeof Accepted>['status'] = stored.duplicate ? 'duplicate' : 'accepted';
      return { id: stored.id, status };
    },
  );
}
