import type { FastifyInstance } from 'fastify';
import { Auth } from './api/auth.js';
import { buildApp } from './api/app.js';
import type { Config } from './config.js';
import { CLOCK_WARN_MS, DbClock, describe } from './db/clock.js';
import type { Db } from './db/db.js';
import { migrate } from './db/migrate.js';
import { openDb } from './db/open.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { Maintenance } from './maintenance/maintenance.js';
import { OperatorEvents } from './operator/operatorEvents.js';
import { AddressPolicy } from './endpoints/urlPolicy.js';
import { EventWriter } from './events/eventWriter.js';
import { InboundProcessor } from './inbound/inboundProcessor.js';
import { TtlCache } from './cache.js';
import { bootstrapEnvironments } from './keys/environments.js';
import { resealSecrets } from './secrets/resealSecrets.js';
import { openSecretBox } from './secrets/openSecretBox.js';
import type { SecretBox } from './secrets/secretBox.js';
import type { Logger } from './log.js';
import { Metrics, type PoolStats } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';
import { PostgresDb } from './db/postgres.js';
import { PgWakeups } from './runtime/pgWakeups.js';

export interface Herald {
  db: Db;
  app: FastifyInstance | null;
  dispatcher: Dispatcher | null;
  /** Keys created on this start (first start only). */
  firstStartKeys: { environment: string; key: string }[];
  /** The port the API listens on, once listening. */
  port: number;
  stop(): Promise<void>;
}

/**
 * Wires one Herald process: database (migrated), environments, API and delivery worker, as the
 * configured roles say. `listen: false` builds the API without opening a port (tests use inject).
 */
export async function createHerald(
  config: Config,
  log: Logger,
  /** `localClock`: this machine's clock, for tests that give a node one running ahead. */
  opts: { listen?: boolean; db?: Db; localClock?: () => number } = {},
): Promise<Herald> {
  const db = opts.db ?? openDb(config, (err) => log.warn({ err }, 'database connection lost; it will be reopened'));
  let box: SecretBox;
  // Leases and due times follow the database's clock (db/clock.ts); a node too far off refuses to start.
  const clock = new DbClock(db, opts.localClock);
  try {
    await migrate(db);
    await clock.start({
      maxSkewMs: config.maxClockSkewMs,
      report: (offset) => {
        if (Math.abs(offset) > CLOCK_WARN_MS) {
          log.warn(
            { offsetMs: Math.round(offset) },
            `this machine's clock is ${describe(offset)} the database's: leases follow the database's clock, but synchronise this one (NTP)`,
          );
        }
      },
    });
    box = await openSecretBox(db, config);
  } catch (err) {
    clock.stop();
    if (!opts.db) await db.close().catch(() => undefined);
    throw err;
  }
  const resealed = await resealSecrets(db, box);
  if (resealed) log.info({ resealed }, 'secrets re-sealed with the current HERALD_SECRET_KEY');
  const firstStartKeys = await bootstrapEnvironments(db);
  const addresses = new AddressPolicy(config.allowPrivateCidrs, { sandboxTenantPrivate: config.sandboxTenantPrivate });
  const operator = new OperatorEvents(
    db,
    box,
    config.operatorWebhookUrl,
    log.child({ component: 'operator-events' }),
    OperatorEvents.privateAllowedBy(addresses, config.operatorWebhookPrivate),
  );
  const metrics = new Metrics(db, poolStatsOf(db));
  const tracing = await startTracing(config, log.child({ component: 'tracing' }));
  const dispatcher = config.roles.worker
    ? new Dispatcher(db, config, addresses, box, log.child({ component: 'worker' }), operator, clock, { metrics, tracing })
    : null;
  const events = new EventWriter(db, box, {
    worker: dispatcher,
    onCommitted: (n) => metrics.eventsAccepted.inc(n),
    clock,
    observe: metrics.groupCommitObserver('events'),
  });
  await operator.setup(events);
  const inbound = config.roles.worker
    ? new InboundProcessor(
        db,
        box,
        log.child({ component: 'inbound' }),
        // The worker has the deliveries of these events in hand, or was woken for them (Handover).
        (created) => metrics.eventsAccepted.inc(created),
        {
          pollIntervalMs: config.pollIntervalMs,
          leaseMs: config.leaseMs,
          burstLagMs: config.inboundBurstLagMs,
          tracing,
          clock,
          worker: dispatcher,
        },
      )
    : null;
  let app: FastifyInstance | null = null;
  if (config.roles.api) {
    app = await buildApp(
      {
        db,
        config,
        auth: new Auth(db, box, config),
        events,
        addresses,
        box,
        onEventsAccepted: () => dispatcher?.wake(),
        onInboundReceived: () => inbound?.received(),
        receivingSources: new TtlCache(5000),
        metrics,
        tracing,
        clock,
      },
      log,
    );
  }
  const maintenance = config.roles.worker ? new Maintenance(db, config, log.child({ component: 'maintenance' }), clock) : null;
  // A worker node on Postgres hears at once of work other nodes commit (NOTIFY, LISTEN) instead of
  // at its next poll. SQLite needs nothing: one process uses the database file, and the API wakes
  // its own worker in memory (onEventsAccepted, onInboundReceived above).
  const wakeups =
    config.roles.worker && db instanceof PostgresDb
      ? new PgWakeups(
          () => db.sessionClient('herald wake-ups'),
          { deliveries: () => dispatcher?.wake(), inbound: () => inbound?.wake(), recoveries: () => maintenance?.wake() },
          log.child({ component: 'wakeups' }),
        )
      : null;
  dispatcher?.start();
  inbound?.start();
  maintenance?.start();
  wakeups?.start();
  let port = 0;
  if (app && opts.listen !== false) {
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (err) {
      // A port in use: hand back what the worker may already hold, close the database, then say so.
      await Promise.all([wakeups?.stop(), maintenance?.stop(), inbound?.stop(), dispatcher?.stop()]);
      await tracing?.shutdown().catch(() => undefined);
      if (!opts.db) await db.close();
      throw err;
    }
    const addr = app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : config.port;
    // HERALD_PORT=0 lets the system pick a free port: the default public URL names the one it picked.
    if (config.port === 0 && config.publicUrl === 'http://localhost:0') config.publicUrl = `http://localhost:${port}`;
  }
  let stopped: Promise<void> | null = null;
  return {
    db,
    app,
    dispatcher,
    firstStartKeys,
    port,
    stop() {
      // Order matters: stop taking requests, then let the worker finish or hand back its deliveries,
      // then close the database they both use.
      stopped ??= (async () => {
        await app?.close();
        await wakeups?.stop();
        await maintenance?.stop();
        await inbound?.stop();
        await dispatcher?.stop();
        // The spans of the last attempts are exported before the process goes.
        await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'tracing: the last spans could not be exported'));
        clock.stop();
        if (!opts.db) await db.close();
      })();
      return stopped;
    },
  };
}

/** The connection pool's figures for the metrics: Postgres has a pool; SQLite one connection. */
function poolStatsOf(db: Db): (() => PoolStats) | null {
  if (!(db instanceof PostgresDb)) return null;
  const pool = db.pool;
  return () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
}
