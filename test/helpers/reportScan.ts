import type { Queryable } from '../../src/db/db.js';
import type { Bucket, Counts, DeliveryReport, EventTypeRow, FailingEndpoint } from '../../src/reports/deliveryReport.js';

// The delivery report as Herald computed it before the rollups: a scan of events, deliveries and
// attempts. Kept as the tests' oracle: the rollup report must answer the same counts, and
// percentiles equal to these cut to two significant digits. Windows given to it are whole hours
// (the rollup report's grain), so both read the same events.

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface Finished {
  created_at: number;
  type: string;
  endpoint_id: string;
  status: 'S' | 'F';
  done_at: number | null;
}

async function scan(q: Queryable, tenantId: string, from: number, to: number) {
  const events = await q.all<{ created_at: number; type: string }>(
    `SELECT created_at, type FROM events WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3`,
    [tenantId, from, to],
  );
  const finished = await q.all<Finished>(
    `SELECT e.created_at, e.type, d.endpoint_id, d.status,
            (SELECT MAX(a.started_at + a.duration_ms) FROM attempts a
              WHERE a.delivery_id = d.id AND a.status_code >= 200 AND a.status_code < 300) AS done_at
       FROM events e JOIN deliveries d ON d.event_id = e.id
      WHERE e.tenant_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND d.status IN ('S', 'F')`,
    [tenantId, from, to],
  );
  return {
    events: events.map((e) => ({ ...e, created_at: Number(e.created_at) })),
    finished: finished.map((f) => ({ ...f, created_at: Number(f.created_at), done_at: f.done_at === null ? null : Number(f.done_at) })),
  };
}

function figures(accepted: number, finished: Finished[]): Counts {
  const latencies = finished
    .filter((f) => f.status === 'S' && f.done_at !== null)
    .map((f) => Math.max(0, f.done_at! - f.created_at))
    .sort((a, b) => a - b);
  return {
    accepted,
    delivered: finished.filter((f) => f.status === 'S').length,
    failed: finished.filter((f) => f.status === 'F').length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

const SIZE: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };

export async function scanReport(q: Queryable, tenantId: string, from: number, to: number, bucket: Bucket): Promise<DeliveryReport> {
  const size = SIZE[bucket];
  const { events, finished } = await scan(q, tenantId, from, to);
  const starts = [...new Set([...events, ...finished].map((x) => Math.floor(x.created_at / size) * size))].sort((a, b) => a - b);
  const buckets = starts.map((start) => ({
    start: new Date(start).toISOString(),
    ...figures(
      events.filter((e) => Math.floor(e.created_at / size) * size === start).length,
      finished.filter((f) => Math.floor(f.created_at / size) * size === start),
    ),
  }));
  return { buckets, totals: figures(events.length, finished) };
}

export async function scanByEventType(q: Queryable, tenantId: string, from: number, to: number): Promise<EventTypeRow[]> {
  const { events, finished } = await scan(q, tenantId, from, to);
  const types = [...new Set(events.map((e) => e.type))];
  return types
    .map((eventType) => ({
      eventType,
      ...figures(
        events.filter((e) => e.type === eventType).length,
        finished.filter((f) => f.type === eventType),
      ),
    }))
    .sort((a, b) => b.accepted - a.accepted || (a.eventType < b.eventType ? -1 : 1));
}

export async function scanFailingEndpoints(
  q: Queryable,
  tenantId: string,
  from: number,
  to: number,
  first: number,
): Promise<FailingEndpoint[]> {
  const { finished } = await scan(q, tenantId, from, to);
  const ids = [...new Set(finished.map((f) => f.endpoint_id))];
  const out: FailingEndpoint[] = [];
  for (const endpointId of ids) {
    const mine = finished.filter((f) => f.endpoint_id === endpointId);
    const failed = mine.filter((f) => f.status === 'F').length;
    if (failed === 0) continue;
    const ep = await q.one<{ url: string; deleted_at: number | null }>('SELECT url, deleted_at FROM endpoints WHERE id = $1', [endpointId]);
    out.push({ endpointId, url: ep?.url ?? null, deleted: !ep || ep.deleted_at !== null, delivered: mine.length - failed, failed });
  }
  return out.sort((a, b) => b.failed - a.failed || (a.endpointId < b.endpointId ? -1 : 1)).slice(0, first);
}

/** A percentile as the rollups keep it: exact below 100 ms, otherwise cut to two significant digits. */
export function cut(ms: number | null): number | null {
  if (ms === null || ms < 100) return ms;
  const scale = 10 ** (String(ms).length - 2);
  return Math.floor(ms / scale) * scale;
}

/** The oracle's figures with their percentiles cut as the rollups keep them. */
export function asRolledUp<T extends Counts>(c: T): T {
  return { ...c, p50Ms: cut(c.p50Ms), p99Ms: cut(c.p99Ms) };
}
