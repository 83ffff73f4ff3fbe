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
export async function seedDeliveries(db: BenchDb, tenantId: string, endpointId: string, count: number, dueAt: number, tag: string): Promise<void> {
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
