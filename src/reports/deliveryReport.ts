import type { Queryable } from '../db/db.js';

// Delivery volume, success, failure and latency per hour or day, for one tenant. Events are
// bucketed by when Herald accepted them (UTC); a delivery counts in its event's bucket once it
// finished (S or F; those still in progress count in neither). Latency is from "accepted" to the
// end of the successful attempt, the figure a receiver feels. Percentiles are computed here rather
// than in SQL: SQLite has no percentile function, and one query shape for both dialects is worth
// reading one small row per finished delivery of the window.

export type Bucket = 'hour' | 'day';
const SIZE: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };

export interface ReportRow {
  start: string;
  accepted: number;
  delivered: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface DeliveryReport {
  buckets: ReportRow[];
  totals: Omit<ReportRow, 'start'>;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export async function deliveryReport(q: Queryable, tenantId: string, from: number, to: number, bucket: Bucket): Promise<DeliveryReport> {
  const size = SIZE[bucket];
  // The CAST makes the division whole on SQLite too, where a bound number may arrive as a REAL.
  const accepted = await q.all<{ b: number; n: number }>(
    `SELECT CAST(created_at / $4 AS BIGINT) AS b, COUNT(*) AS n FROM events
      WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY CAST(created_at / $4 AS BIGINT)`,
    [tenantId, from, to, size],
  );
  const finished = await q.all<{ created_at: number; status: 'S' | 'F'; done_at: number | null }>(
    `SELECT e.created_at, d.status,
            (SELECT MAX(a.started_at + a.duration_ms) FROM attempts a
              WHERE a.delivery_id = d.id AND a.status_code >= 200 AND a.status_code < 300) AS done_at
       FROM events e JOIN deliveries d ON d.event_id = e.id
      WHERE e.tenant_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND d.status IN ('S', 'F')`,
    [tenantId, from, to],
  );
  const rows = new Map<number, { accepted: number; delivered: number; failed: number; latencies: number[] }>();
  const at = (start: number) => {
    let r = rows.get(start);
    if (!r) rows.set(start, (r = { accepted: 0, delivered: 0, failed: 0, latencies: [] }));
    return r;
  };
  for (const a of accepted) at(Number(a.b) * size).accepted = Number(a.n);
  for (const f of finished) {
    const created = Number(f.created_at);
    const r = at(Math.floor(created / size) * size);
    if (f.status === 'S') {
      r.delivered++;
      // Retention may have deleted the attempts of old deliveries: they count, without a latency.
      if (f.done_at !== null) r.latencies.push(Math.max(0, Number(f.done_at) - created));
    } else r.failed++;
  }
  const all: number[] = [];
  const buckets = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, r]) => {
      const sorted = r.latencies.sort((x, y) => x - y);
      all.push(...sorted);
      return { start: new Date(start).toISOString(), accepted: r.accepted, delivered: r.delivered, failed: r.failed, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
    });
  all.sort((x, y) => x - y);
  const sum = (k: 'accepted' | 'delivered' | 'failed') => buckets.reduce((n, b) => n + b[k], 0);
  return { buckets, totals: { accepted: sum('accepted'), delivered: sum('delivered'), failed: sum('failed'), p50Ms: percentile(all, 50), p99Ms: percentile(all, 99) } };
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
  for (const r of await sums('transactions')) Object.assign(at(Number(r.d), r.currency), { transactions: Number(r.n), amount: Number(r.total) });
  for (const r of await sums('refunds')) Object.assign(at(Number(r.d), r.currency), { refunds: Number(r.n), refunded: Number(r.total) });
  return [...out.values()].sort((a, b) => a.day.localeCompare(b.day) || a.currency.localeCompare(b.currency));
}
