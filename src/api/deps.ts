import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import type { Clock } from '../delivery/dispatcher.js';
import type { AddressPolicy } from '../endpoints/urlPolicy.js';
import type { EventWriter } from '../events/eventWriter.js';
import type { SecretBox } from '../secrets/secretBox.js';
import type { TtlCache } from '../cache.js';
import type { ReceivingSource } from '../sources/sources.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import type { Auth } from './auth.js';

/** What the routes need, passed in once (no globals). */
export interface ApiDeps {
  db: Db;
  config: Config;
  auth: Auth;
  /** The outbox writer (group commit) that every accepted event goes through. */
  events: EventWriter;
  /** Seals and opens secrets at rest. */
  box: SecretBox;
  /** Which addresses production endpoints may reach (SSRF). */
  addresses: AddressPolicy;
  /** Wakes this process's delivery worker: deliveries were made due outside the outbox (resend). */
  onEventsAccepted: () => void;
  /** Wakes this process's inbound processor: a received message was stored. */
  onInboundReceived: () => void;
  /** Sources by id, as the receiving route checks them; changed sources are dropped from it. */
  receivingSources: TtlCache<ReceivingSource | null>;
  /** This node's counters (GET /metrics). */
  metrics: Metrics;
  /** OpenTelemetry spans, when OTLP is configured (null: off). */
  tracing: Tracing | null;
  /** The database's clock (db/clock.ts): what listeners lease is compared across nodes. */
  clock: Clock;
}

/**
 * The Fastify instance routes are added to: TypeBox schemas type each route's params, query, body
 * and answers, so a handler reads `req.params.tenant` as the string its schema says it is.
 */
export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;
