import { ConfigError } from '../config.js';
import type { Db } from './db.js';

// Leases and due times are compared across nodes: a delivery leased by one node until T is free
// for every node once T passes. If each node read its own clock, a node whose clock runs ahead by
// more than a lease would see every live lease as expired and send everything a second time; one
// running behind would leave expired leases alone too long. So the delivery engine reads the
// database's clock: at start and every minute it measures the offset between this machine's
// clock and the database's (half a round trip of error, the best of a few samples), and
// `now()` is the local clock corrected by that offset. A node further off than
// HERALD_MAX_CLOCK_SKEW refuses to start: its other timestamps (events' createdAt, key expiry)
// would be wrong by as much. On SQLite the database is this machine: the offset is the difference
// between two readings of one clock (nothing, unless a test gives the node a clock of its own).

/** Past this offset a measurement is logged as a warning (the node's clock needs NTP). */
export const CLOCK_WARN_MS = 2000;

const DB_NOW = {
  postgres: `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint) AS now`,
  sqlite: `SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now`,
};

/** A configuration problem of the machine: the CLI prints it like a bad setting. */
export class ClockSkewError extends ConfigError {}

export class DbClock {
  /** Database time minus local time, in ms. */
  offsetMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Pick<Db, 'one' | 'dialect'>,
    /** This machine's clock (injectable: tests give a node a clock that runs ahead). */
    private readonly local: () => number = Date.now,
  ) {}

  /** The database's time, as well as this node knows it. */
  now(): number {
    return Math.round(this.local() + this.offsetMs);
  }

  /** Measures the offset again (best of three round trips) and answers it. */
  async measure(): Promise<number> {
    let best: { rtt: number; offset: number } | null = null;
    for (let i = 0; i < 3; i++) {
      const t0 = this.local();
      const row = await this.db.one<{ now: number | string }>(DB_NOW[this.db.dialect]);
      const t1 = this.local();
      const offset = Number(row!.now) - (t0 + t1) / 2;
      if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset };
    }
    this.offsetMs = best!.offset;
    return this.offsetMs;
  }

  /**
   * Measures now, throws a ClockSkewError past `maxSkewMs` (0: no limit), and measures again
   * every `intervalMs`, telling `report` each offset (a failed measurement keeps the last one).
   */
  async start(opts: { maxSkewMs: number; intervalMs?: number; report: (offsetMs: number) => void }): Promise<void> {
    const offset = await this.measure();
    if (opts.maxSkewMs > 0 && Math.abs(offset) > opts.maxSkewMs) {
      throw new ClockSkewError(
        `this machine's clock is ${describe(offset)} the database's, more than HERALD_MAX_CLOCK_SKEW (${opts.maxSkewMs / 1000} s) allows: ` +
          'synchronise it (NTP, chrony or systemd-timesyncd) and start again, or raise HERALD_MAX_CLOCK_SKEW',
      );
    }
    opts.report(offset);
    this.timer = setInterval(() => {
      this.measure().then(opts.report, () => undefined);
    }, opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** "3.2 s behind" / "120.0 s ahead of" wording for an offset (database minus local). */
export function describe(offsetMs: number): string {
  const s = (Math.abs(offsetMs) / 1000).toFixed(1);
  return offsetMs < 0 ? `${s} s ahead of` : `${s} s behind`;
}
