// Scale figures for `npm run bench` (issue #3): fan-out, draining a backlog, memory with a million
// deliveries waiting. Backlogs are written straight into the database with one SQL statement each
// (generate_series / a recursive CTE), so the figure is Herald's draining, not the seeding.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import pg from 'pg';

export interface BenchDb {
  dialect: 'sqlite' | 'postgres';
  /** SQLite file, or Postgres URL. */
  where: string;
}

/** Inserts `count` events and one delivery each for `endpointId`, due at `dueAt`. */
export async function seedDeliveries(
  db: BenchDb,
  tenantId: string,
  endpointId: string,
  count: number,
  dueAt: number,
  tag: string,
): Promise<void> {
  const now = Date.now();
  if (db.dialect === 'postgres') {
    const c = new pg.Client({ connectionString: db.where });
    await c.connect();
    await c.query(
      `INSERT INTO events (id, tenant_id, type, payload, status, occurred_at, created_at)
       SELECT 'evt_${tag}' || lpad(i::text, 10, '0'), $1, 'bench.event', '{"n":' || i || '}', 'I', $2, $2 FROM generate_series(1, $3) i`,
      [tenantId, now, count],
    );
    await c.query(
      `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, created_at, updated_at)
       SELECT 'dlv_${tag}' || lpad(i::text, 10, '0'), 'evt_${tag}' || lpad(i::text, 10, '0'), $1, $2, 'I', 0, $3, $4, $4 FROM generate_series(1, $5) i`,
      [endpointId, tenantId, dueAt, now, count],
    );
    // What autovacuum would do shortly after a bulk load: without fresh statistics the planner
    // does not know the table just grew by `count` rows.
    await c.query('ANALYZE events, deliveries');
    await c.end();
    return;
  }
  const s = new Database(db.where);
  s.pragma('busy_timeout = 10000');
  const series = `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)`;
  s.prepare(
    `INSERT INTO events (id, tenant_id, type, payload, status, occurred_at, created_at)
     ${series} SELECT 'evt_${tag}' || printf('%010d', i), ?, 'bench.event', '{"n":' || i || '}', 'I', ?, ? FROM s`,
  ).run(count, tenantId, now, now);
  s.prepare(
    `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, created_at, updated_at)
     ${series} SELECT 'dlv_${tag}' || printf('%010d', i), 'evt_${tag}' || printf('%010d', i), ?, ?, 'I', 0, ?, ?, ? FROM s`,
  ).run(count, endpointId, tenantId, dueAt, now, now);
  s.exec('ANALYZE');
  s.close();
}

/** Resident memory of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Inserts `count` finished deliveries for `endpointId`, as the delivery report reads them: events
 * accepted over the last `days` days (evenly spread), one delivery each, nine in ten delivered (S)
 * with one 200 attempt ending 20–519 ms after acceptance, the rest failed (F) with one 500 attempt.
 */
export async function seedFinishedDeliveries(
  db: BenchDb,
  tenantId: string,
  endpointId: string,
  count: number,
  days: number,
  tag: string,
): Promise<void> {
  // The numbers are written into the SQL (they are ours, whole numbers): one text for both dialects,
  // with only the ids bound. i → accepted time, status and the attempt's status code.
  const now = Math.floor(Date.now());
  const created = `(${now} - i * ${days * 86_400_000} / ${count})`;
  const status = `CASE WHEN i % 10 = 0 THEN 'F' ELSE 'S' END`;
  const code = `CASE WHEN i % 10 = 0 THEN 500 ELSE 200 END`;
  // The row numbers i: generate_series on Postgres, a recursive CTE on SQLite.
  const head = db.dialect === 'postgres' ? '' : `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${count})`;
  const from = db.dialect === 'postgres' ? `FROM generate_series(1::bigint, ${count}::bigint) i` : 'FROM s';
  const pad = (prefix: string) =>
    db.dialect === 'postgres' ? `'${prefix}_${tag}' || lpad(i::text, 10, '0')` : `'${prefix}_${tag}' || printf('%010d', i)`;
  const events = (tenant: string) =>
    `INSERT INTO events (id, tenant_id, type, payload, status, occurred_at, created_at)
     ${head} SELECT ${pad('evt')}, ${tenant}, 'bench.event', '{"n":' || i || '}', ${status}, ${created}, ${created} ${from}`;
  const deliveries = (tenant: string, endpoint: string) =>
    `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, last_status_code, created_at, updated_at)
     ${head} SELECT ${pad('dlv')}, ${pad('evt')}, ${endpoint}, ${tenant}, ${status}, 1, NULL, ${code}, ${created}, ${created} ${from}`;
  const attempts = () =>
    `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, status_code)
     ${head} SELECT ${pad('att')}, ${pad('dlv')}, 1, ${created} + 10, 10 + (i % 500), ${code} ${from}`;
  if (db.dialect === 'postgres') {
    const c = new pg.Client({ connectionString: db.where });
    await c.connect();
    try {
      await c.query(events('$1'), [tenantId]);
      await c.query(deliveries('$1', '$2'), [tenantId, endpointId]);
      await c.query(attempts());
      await c.query('ANALYZE events, deliveries, attempts');
    } finally {
      await c.end();
    }
    return;
  }
  const s = new Database(db.where);
  s.pragma('busy_timeout = 10000');
  s.prepare(events('?')).run(tenantId);
  s.prepare(deliveries('?', '?')).run(endpointId, tenantId);
  s.prepare(attempts()).run();
  s.exec('ANALYZE');
  s.close();
}
