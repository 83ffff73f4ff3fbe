import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/db.js';
import type { GroupTiming } from '../db/groupCommit.js';
import { readDueBacklog } from '../delivery/sql/readDueBacklog.js';
import type { AttemptOutcome, RecordResult } from '../delivery/sql/recordAttempts.js';
import { DeliveryStatus } from '../delivery/status.js';

// What GET /metrics exports (Prometheus text format). Labels are bounded sets only: an outcome, a
// provider, a result. Nothing is labelled by endpoint or tenant, whose numbers are unbounded
// (per-tenant figures are the reports' job, from the rollups).

/** How an attempt left its delivery. */
export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed';
/** What became of a request to a source's address. */
export type InboundResult = 'accepted' | 'duplicate' | 'rejected';

// Process and Node.js figures (CPU, memory, event-loop lag, GC) are the process's, not one Herald's:
// one registry per process, merged into every Herald's answer. Made at the first scrape, so a
// process that is never scraped (the tests' many in-process Heralds) pays nothing for them.
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Which group commit a timing is of: the event outbox, or the receiving route's store. */
export type GroupWriter = 'events' | 'inbound';

/** Pool figures of the database connections, for a database that has a pool (Postgres; SQLite has one connection). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * One Herald's counters and the gauges read at each scrape. Counters are this node's since it
 * started (Prometheus sums nodes and handles restarts); the backlog gauges are read from the
 * database, so every node reports the same cluster-wide figure (take max, not sum, across nodes).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsAccepted: Counter;
  readonly deliveries: Counter<'outcome'>;
  readonly attemptDuration: Histogram;
  readonly inboundReceived: Counter<'provider' | 'result'>;
  /** Per group commit (db/groupCommit.ts), bound to its writer: see groupCommitObserver. */
  private readonly groupItems: Histogram<'writer'>;
  private readonly groupWrite: Histogram<'writer'>;
  private readonly groupFlush: Histogram<'writer'>;
  /** The outcome counters, bound once: no label lookup per recorded attempt. */
  private readonly byOutcome: Record<DeliveryOutcome, { inc(): void }>;

  constructor(db: Db, pool: (() => PoolStats) | null = null) {
    const registers = [this.registry];
    this.eventsAccepted = new Counter({
      name: 'herald_events_accepted_total',
      help: 'Events accepted (committed) by this node: posted, forwarded from received webhooks, test events.',
      registers,
    });
    this.deliveries = new Counter({
      name: 'herald_deliveries_total',
      help: 'Attempts recorded by this node, by what they left the delivery as: delivered, retrying (another attempt is scheduled) or failed (given up).',
      labelNames: ['outcome'],
      registers,
    });
    this.byOutcome = {
      delivered: this.deliveries.labels('delivered'),
      retrying: this.deliveries.labels('retrying'),
      failed: this.deliveries.labels('failed'),
    };
    this.attemptDuration = new Histogram({
      name: 'herald_delivery_attempt_duration_seconds',
      help: 'Time from sending a delivery’s request to the end of its answer (or the error), for attempts that sent one.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.inboundReceived = new Counter({
      name: 'herald_inbound_received_total',
      help: 'Requests to sources’ addresses on this node, by provider and result (accepted, duplicate, rejected).',
      labelNames: ['provider', 'result'],
      registers,
    });
    // Where an accepted request's wait goes: the group its commit shared, writing it, flushing it.
    const COMMIT_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
    this.groupItems = new Histogram({
      name: 'herald_group_commit_items',
      help: 'Requests (events: API requests; inbound: received webhooks) written together in one commit, per commit.',
      labelNames: ['writer'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers,
    });
    this.groupWrite = new Histogram({
      name: 'herald_group_commit_write_seconds',
      help: 'Writing one group: its statements and the commit (on Postgres including the commit’s flush to disk).',
      labelNames: ['writer'],
      buckets: COMMIT_SECONDS,
      registers,
    });
    this.groupFlush = new Histogram({
      name: 'herald_group_commit_flush_seconds',
      help: 'From a group’s commit to its flush on disk, which its requests wait for before their answer (SQLite; 0 on Postgres, whose commit includes it).',
      labelNames: ['writer'],
      buckets: COMMIT_SECONDS,
      registers,
    });
    // Both backlog gauges come from one query per scrape. A database that does not answer leaves
    // them NaN rather than failing the scrape: the process figures still tell what is wrong.
    let backlog: Promise<{ due: number; oldestDueAt: number | null } | null> | null = null;
    const readBacklog = () =>
      (backlog ??= readDueBacklog(db, Date.now())
        .catch(() => null)
        .finally(() => setTimeout(() => (backlog = null), 1000).unref()));
    new Gauge({
      name: 'herald_deliveries_due',
      help: 'Deliveries due now and not being sent, across all nodes (read from the database at each scrape).',
      registers,
      async collect() {
        const b = await readBacklog();
        this.set(b ? b.due : NaN);
      },
    });
    new Gauge({
      name: 'herald_oldest_due_seconds',
      help: 'How long the oldest due delivery has waited past its due time, in seconds; 0 when none is due.',
      registers,
      async collect() {
        const b = await readBacklog();
        this.set(!b ? NaN : b.oldestDueAt === null ? 0 : Math.max(0, (Date.now() - b.oldestDueAt) / 1000));
      },
    });
    if (pool) {
      const poolGauge = (name: string, help: string, read: (s: PoolStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read(pool()));
          },
        });
      poolGauge('herald_db_pool_connections', 'Open connections in the database pool (Postgres).', (s) => s.total);
      poolGauge('herald_db_pool_idle_connections', 'Idle connections in the database pool (Postgres).', (s) => s.idle);
      poolGauge('herald_db_pool_waiting_queries', 'Queries waiting for a pool connection (Postgres).', (s) => s.waiting);
    }
  }

  /** What a group commit reports each durable group to (db/groupCommit.ts). Observed per group, not per request. */
  groupCommitObserver(writer: GroupWriter): (t: GroupTiming) => void {
    const items = this.groupItems.labels(writer);
    const write = this.groupWrite.labels(writer);
    const flush = this.groupFlush.labels(writer);
    return (t) => {
      items.observe(t.items);
      write.observe(t.writeMs / 1000);
      flush.observe(t.flushMs / 1000);
    };
  }

  /** Counts the attempts of a batch the worker recorded (those it could not write are not counted). */
  recorded(result: Pick<RecordResult, 'unrecorded'>, batch: readonly AttemptOutcome[]): void {
    const lost = result.unrecorded.length ? new Set(result.unrecorded.map((u) => u.outcome)) : null;
    for (const o of batch) {
      if (lost?.has(o)) continue;
      const outcome: DeliveryOutcome =
        o.next.status === DeliveryStatus.Succeeded ? 'delivered' : o.next.status === DeliveryStatus.Failed ? 'failed' : 'retrying';
      this.byOutcome[outcome].inc();
      if (o.attempted) this.attemptDuration.observe(o.durationMs / 1000);
    }
  }

  /** The Prometheus text exposition: this Herald's metrics and the process's. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([processMetrics(), this.registry]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
