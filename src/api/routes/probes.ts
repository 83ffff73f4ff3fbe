import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Db } from '../../db/db.js';
import { pendingMigrations } from '../../db/migrate.js';
import type { Metrics } from '../../observability/metrics.js';
import { operatorOnly } from '../auth.js';
import type { Api } from '../deps.js';
import { errors } from '../schemas.js';

/** How long GET /v1/ready waits for the database before answering that it does not answer. */
const READY_TIMEOUT_MS = 2000;

const Health = Type.Object({ status: Type.Literal('ok') });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  database: Type.Object({
    reachable: Type.Boolean(),
    /** Why not, when it is not. */
    error: Type.Optional(Type.String()),
  }),
  migrations: Type.Object({
    pending: Type.Array(Type.String(), { description: 'Migration steps this node knows that the database has not applied.' }),
  }),
});

/**
 * GET /v1/health (liveness: the process serves requests) and GET /v1/ready (readiness: the
 * database answers and has every migration this node's code needs). No key: they are for load
 * balancers and orchestrators, and say nothing about the data.
 */
export function probeRoutes(app: FastifyInstance, db: Db): void {
  app.get(
    '/v1/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Is Herald up?',
        description:
          'Answers 200 while this node serves requests; no key needed (for load balancers and liveness probes). It does not touch the database: see /v1/ready.',
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/v1/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Can this node do its work?',
        description: `Answers 200 when the database answers (within ${READY_TIMEOUT_MS / 1000} s) and has applied every migration this node's code knows; 503 with what is wrong otherwise. No key needed (for orchestrators' readiness probes).`,
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_req, reply) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the database did not answer within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      });
      try {
        const pending = await Promise.race([pendingMigrations(db), timeout]);
        const ready = pending.length === 0;
        return reply.code(ready ? 200 : 503).send({
          status: ready ? 'ready' : 'not_ready',
          database: { reachable: true },
          migrations: { pending },
        });
      } catch (err) {
        return reply.code(503).send({
          status: 'not_ready',
          database: { reachable: false, error: (err as Error).message },
          migrations: { pending: [] },
        });
      } finally {
        clearTimeout(timer);
      }
    },
  );
}

/**
 * GET /metrics in the Prometheus text format, for an operator's secret key (Prometheus sends it
 * as a bearer token: `authorization: { credentials: sk_… }` in its scrape config). Behind the key
 * because the figures describe the whole installation.
 */
export function metricsRoute(api: Api, metrics: Metrics): void {
  api.get(
    '/metrics',
    {
      preHandler: operatorOnly,
      config: { uncountedCall: true },
      schema: {
        tags: ['health'],
        summary: 'Metrics for Prometheus',
        description:
          'Counters of this node (events accepted, attempts by outcome, attempt durations, received webhooks by provider and result), the delivery backlog read from the database, database pool figures and the process’s (CPU, memory, event loop). Operator secret keys only. Text format 0.0.4.',
        produces: ['text/plain'],
        response: { 200: Type.String(), ...errors(401, 403) },
      },
    },
    async (_req, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    },
  );
}
