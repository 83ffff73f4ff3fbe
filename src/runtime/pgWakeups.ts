import type pg from 'pg';
import { WORK_CHANNEL, WORK_KINDS, type WorkKind } from '../db/announceWork.js';
import type { Logger } from '../log.js';

/** What a notification of each kind wakes on this node (a loop this node does not run: absent). */
export type WakeTargets = Partial<Record<WorkKind, () => void>>;

export interface PgWakeupsOptions {
  /** The first pause before connecting again; it doubles after each failure, up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the quiet connection is asked `SELECT 1`, to notice one that died without a word. */
  heartbeatMs?: number;
}

/**
 * How a worker node on Postgres hears of new work at once. Another node that commits work it does
 * not take itself (an API-only node's events, a received webhook, a resend, a recovery) sends a
 * NOTIFY on `herald_work` in the same transaction (db/announceWork.ts); this node holds one
 * connection of its own, outside the pool, that LISTENs on it and wakes the loop the payload
 * names (delivery worker, inbound processor, maintenance). Notifications come only after the
 * commit, so the woken loop finds the rows.
 *
 * Polling stays the safety net: a notification sent while this connection was down is lost. So
 * when the connection drops (Postgres restarting, the backend terminated) it connects again after
 * a pause that doubles up to `maxBackoffMs`, and once listening again wakes every loop once, for
 * what it may have missed. A heartbeat every `heartbeatMs` notices a connection that died without
 * closing (a firewall, a network cut) and replaces it.
 *
 * SQLite needs none of this: one process uses a database file, and it wakes its own loops in
 * memory (the API calls the worker's wake()).
 */
export class PgWakeups {
  private client: pg.Client | null = null;
  /** The client being connected, which stop() closes rather than wait for (a database out of reach). */
  private connecting: pg.Client | null = null;
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private opening: Promise<void> = Promise.resolve();
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly heartbeatMs: number;

  constructor(
    /** A new, unconnected client for the listening session (PostgresDb.sessionClient). */
    private readonly newClient: () => pg.Client,
    private readonly targets: WakeTargets,
    private readonly log: Logger,
    opts: PgWakeupsOptions = {},
  ) {
    this.minBackoffMs = opts.minBackoffMs ?? 200;
    this.maxBackoffMs = Math.max(this.minBackoffMs, opts.maxBackoffMs ?? 5000);
    this.heartbeatMs = opts.heartbeatMs ?? 30_000;
  }

  /** True while a connection is listening. */
  get listening(): boolean {
    return this.client !== null;
  }

  /** Connects in the background: a database that is not there yet only delays the wake-ups. */
  start(): void {
    this.opening = this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.connecting?.end().catch(() => undefined);
    await this.opening;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const client = this.newClient();
    let gone = false;
    const lost = (err?: unknown) => {
      if (gone) return;
      gone = true;
      this.lost(client, err);
    };
    // An unheard 'error' would crash the process; after the first, the client is dropped anyway.
    client.on('error', (err) => lost(err));
    client.on('end', () => lost());
    client.on('notification', (n) => {
      if (n.channel !== WORK_CHANNEL) return;
      this.targets[n.payload as WorkKind]?.();
    });
    this.connecting = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}`);
    } catch (err) {
      lost(err);
      return;
    } finally {
      this.connecting = null;
    }
    if (this.stopped || gone) {
      if (!gone) await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) this.log.info({ failures: this.failures }, 'listening for new work again');
    this.failures = 0;
    this.heartbeat = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const silence = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to a heartbeat within ${this.heartbeatMs} ms`)), this.heartbeatMs);
      });
      void Promise.race([client.query('SELECT 1'), silence])
        .catch((err: unknown) => lost(err))
        .finally(() => clearTimeout(timer));
    }, this.heartbeatMs);
    this.heartbeat.unref();
    // What was announced before this connection listened was not heard: every loop looks once.
    for (const kind of WORK_KINDS) this.targets[kind]?.();
  }

  /** The connection failed or dropped: forget it, and connect again after a pause unless stopping. */
  private lost(client: pg.Client, err: unknown): void {
    if (this.client === client) {
      this.client = null;
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
    // Closes the socket if it is still open; a dead one has nothing left to say.
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.failures++;
    const pause = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(this.failures - 1, 20));
    // The first failure in a row is worth a warning; the rest of an outage is the pool's to report.
    const level = this.failures === 1 ? 'warn' : 'debug';
    this.log[level](
      { err, failures: this.failures, retryInMs: pause },
      `the connection listening for new work (${WORK_CHANNEL}) failed; connecting again in ${pause} ms (polling finds the work meanwhile)`,
    );
    this.retry = setTimeout(() => {
      this.retry = null;
      this.opening = this.open();
    }, pause);
    this.retry.unref();
  }
}
