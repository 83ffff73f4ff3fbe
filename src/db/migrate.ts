import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';

// Forward-only numbered migrations, one folder per dialect: migrations/<dialect>/NNN_name.sql.
// Each runs in its own transaction together with the row that records it.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function listMigrations(dialect: Db['dialect']): Migration[] {
  const dir = path.join(ROOT, dialect);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: parseInt(f, 10), name: f, sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/** Applies what is missing; answers the names applied. Safe to run from several processes at once. */
export async function migrate(db: Db): Promise<string[]> {
  // Under the same lock as the migrations: on Postgres two nodes starting together on an empty
  // database would otherwise both try to create the table, and one fails on the type it implies.
  await db.tx(async (q) => {
    if (q.dialect === 'postgres') await q.run('SELECT pg_advisory_xact_lock(8080001)');
    await q.run('CREATE TABLE IF NOT EXISTS herald_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
  });
  const applied: string[] = [];
  for (const m of listMigrations(db.dialect)) {
    const done = await db.tx(async (q) => {
      // Postgres: nodes starting together take turns; SQLite's BEGIN IMMEDIATE already does.
      if (q.dialect === 'postgres') await q.run('SELECT pg_advisory_xact_lock(8080001)');
      if (await q.one('SELECT 1 FROM herald_migrations WHERE id = $1', [m.id])) return false;
      for (const stmt of splitStatements(m.sql)) await q.run(stmt);
      await q.run('INSERT INTO herald_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
      return true;
    });
    if (done) applied.push(m.name);
  }
  return applied;
}

/** Splits a migration file into statements (our migrations keep `;` out of strings and comments). */
function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .map((l) => l.replace(/--.*$/, ''))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}
