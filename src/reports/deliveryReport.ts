import type { Queryable } from '../db/db.js';
import { HOUR_MS } from './sql/rollups.js';

// Delivery volume, success, failure and latency per hour or day, for one tenant, read from the
// rollups (reports/sql/rollups.ts: kept as events are accepted and attempts recorded), never from
// the events, deliveries and attempts themselves: a report over a million deliveries reads a few
// thousand rows. Events are bucketed by when Herald accepted them (UTC); a delivery counts in its
// event's bucket once it finished (S or F; those in progress count in neither). Latency is from
// "accepted" to the end of the delivery's latest 2xx attempt, the figure a receiver feels; the
// percentiles are nearest-rank, read from a histogram that keeps two significant digits, so a
// p50Ms or p99Ms is the exact percentile cut to two significant digits (exact below 100 ms).
//
// The window is whole UTC hours: every hour that overlaps [from, to), so a window that starts in
// the middle of an hour counts that hour whole.

export type Bucket = 'hour' | 'day';
const SIZE: Record<Bucket, number> = { hour: HOUR_MS, day: 86_400_000 };

export interface Counts {
  accepted: number;
  delivered: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ReportRow extends Counts {
  start: string;
}

export interface DeliveryReport {
  buckets: ReportRow[];
  totals: Counts;
}

export interface EventTypeRow extends Counts {
  eventType: string;
}

export interface FailingEndpoint {
  endpointId: string;
  /** Null when the endpoint row is gone (its tenant was deleted meanwhile). */
  url: string | null;
  deleted: boolean;
  delivered: number;
  failed: number;
}

/** A latency histogram: deliveries per latency class (ms). */
type Histogram = Map<number, number>;

/** Nearest-rank percentile of a histogram (the old report's rank on sorted values). */
function percentile(h: Histogram | undefined, p: number): number | null {
  if (!h) return null;
  // A class can only go below zero after retention deleted the attempts of a delivery that was
  // then resent (its latency was not known any more): count it as empty.
  const classes = [...h.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => a - b);
  const total = classes.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)));
  let seen = 0;
  for (const [ms, n] of classes) {
    seen += n;
    if (seen >= rank) return ms;
  }
  return null;
}

const add = (h: Histogram, ms: number, n: number) => h.set(ms, (h.get(ms) ?? 0) + n);

/** The hours of the window: those overlapping [from, to). */
const window = (from: number, to: number) => [Math.floor(from / HOUR_MS) * HOUR_MS, to] as const;

/**
 * Sums of the rollups of the window grouped by `by` (an SQL expression over the rollup row):
 * counts (latency_ms = -1) and the latency histogram (latency_ms >= 0) per group.
 */
async function grouped(q: Queryable, tenantId: string, from: number, to: number, by: string) {
  const [first, end] = window(from, to);
  const rows = await q.all<{
    g: string | number;
    latency_ms: number | string;
    accepted: number | string;
    delivered: number | string;
    failed: number | string;
  }>(
    `SELECT ${by} AS g, latency_ms, SUM(accepted) AS accepted, SUM(delivered) AS delivered, SUM(failed) AS failed
       FROM delivery_rollups
      WHERE tenant_id = $1 AND hour_start >= $2 AND hour_start < $3
      GROUP BY ${by}, latency_ms`,
    [tenantId, first, end],
  );
  const groups = new Map<string, { accepted: number; delivered: number; failed: number; latency: Histogram }>();
  for (const r of rows) {
    const key = String(r.g);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { accepted: 0, delivered: 0, failed: 0, latency: new Map() }));
    const ms = Number(r.latency_ms);
    if (ms < 0) {
      g.accepted += Number(r.accepted);
      g.delivered += Number(r.delivered);
      g.failed += Number(r.failed);
    } else add(g.latency, ms, Number(r.delivered));
  }
  return groups;
}

const counts = (g: { accepted: number; delivered: number; failed: number; latency: Histogram }): Counts => ({
  accepted: g.accepted,
  delivered: g.delivered,
  failed: g.failed,
  p50Ms: percentile(g.latency, 50),
  p99Ms: percentile(g.latency, 99),
});

const active = (g: { accepted: number; delivered: number; failed: number }) => g.accepted !== 0 || g.delivered !== 0 || g.failed !== 0;

export async function deliveryReport(q: Queryable, tenantId: string, from: number, to: number, bucket: Bucket): Promise<DeliveryReport> {
  const size = SIZE[bucket];
  // hour_start is a whole number of hours, and a day a whole number of hours: the division is exact
  // on Postgres and SQLite alike, with the size written into the text (no bound REAL on SQLite).
  const groups = await grouped(q, tenantId, from, to, `hour_start / ${size}`);
  const all = { accepted: 0, delivered: 0, failed: 0, latency: new Map() as Histogram };
  const buckets = [...groups.entries()]
    .filter(([, g]) => active(g))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([b, g]) => {
      all.accepted += g.accepted;
      all.delivered += g.delivered;
      all.failed += g.failed;
      for (const [ms, n] of g.latency) add(all.latency, ms, n);
      return { start: new Date(Number(b) * size).toISOString(), ...counts(g) };
    });
  return { buckets, totals: counts(all) };
}

/** The same figures per event type over the whole window, most accepted first. */
export async function reportByEventType(q: Queryable, tenantId: string, from: number, to: number): Promise<EventTypeRow[]> {
  const groups = await grouped(q, tenantId, from, to, 'event_type');
  return [...groups.entries()]
    .filter(([, g]) => active(g))
    .map(([eventType, g]) => ({ eventType, ...counts(g) }))
    .sort((a, b) => b.accepted - a.accepted || (a.eventType < b.eventType ? -1 : a.eventType > b.eventType ? 1 : 0));
}

/** The `first` endpoints with the most failed deliveries in the window (failed > 0), most first. */
export async function failingEndpoints(
  q: Queryable,
  tenantId: string,
  from: number,
  to: number,
  first: number,
): Promise<FailingEndpoint[]> {
  const [start, end] = window(from, to);
  const rows = await q.all<{
    endpoint_id: string;
    url: string | null;
    deleted_at: number | null;
    delivered: number | string;
    failed: number | string;
  }>(
    `SELECT r.endpoint_id, ep.url, ep.deleted_at, r.delivered, r.failed
       FROM (SELECT endpoint_id, SUM(delivered) AS delivered, SUM(failed) AS failed
               FROM delivery_rollups
              WHERE tenant_id = $1 AND hour_start >= $2 AND hour_start < $3 AND latency_ms = -1 AND endpoint_id <> ''
              GROUP BY endpoint_id
             HAVING SUM(failed) > 0
              ORDER BY SUM(failed) DESC, endpoint_id
              LIMIT $4) r
       LEFT JOIN endpoints ep ON ep.id = r.endpoint_id
      ORDER BY r.failed DESC, r.endpoint_id`,
    [tenantId, start, end, first],
  );
  return rows.map((r) => ({
    endpointId: r.endpoint_id,
    url: r.url,
    deleted: r.deleted_at !== null || r.url === null,
    delivered: Number(r.delivered),
    failed: Number(r.failed),
  }));
}

export interface BillingTotal {
  /** The UTC day (its midnight) the money moved, as the provider dated it. */
  day: string;
  currency: string;
  transactions: number;
  /** Sum of the transactions, in minor units (cents). */
  amount: number;
  refunds: number;
  /** Sum of the refunds, in minor units. */
  refunded: number;
}

/**
 * Billing totals per UTC day and currency between two times: transactions and refunds recorded
 * from received webhooks, dated by when the provider says they happened. Currencies are never
 * added together.
 */
export async function billingTotals(q: Queryable, tenantId: string, from: number, to: number): Promise<BillingTotal[]> {
  const day = SIZE.day;
  const sums = async (table: 'transactions' | 'refunds') =>
    q.all<{ d: number; currency: string; n: number; total: number }>(
      `SELECT CAST(occurred_at / $4 AS BIGINT) AS d, currency, COUNT(*) AS n, SUM(amount) AS total FROM ${table}
        WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3
        GROUP BY CAST(occurred_at / $4 AS BIGINT), currency`,
      [tenantId, from, to, day],
    );
  const out = new Map<string, BillingTotal>();
  const at = (d: number, currency: string) => {
    const k = `${d}\u0000${currency}`;
    let t = out.get(k);
    if (!t) out.set(k, (t = { day: new Date(d * day).toISOString(), currency, transactions: 0, amount: 0, refunds: 0, refunded: 0 }));
    return t;
  };
  for (const r of await sums('transactions'))
    Object.assign(at(Number(r.d), r.currency), { transactions: Number(r.n), amount: Number(r.total) });
  for (const r of await sums('refunds')) Object.assign(at(Number(r.d), r.currency), { refunds: Number(r.n), refunded: Number(r.total) });
  return [...out.values()].sort((a, b) => a.day.localeCompare(b.day) || a.currency.localeCompare(b.currency));
}
