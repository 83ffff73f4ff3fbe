import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, Dialect } from './db.js';

// Forward-only numbered migrations, ONE set for both dialects: migrations/NNN_name.sql.
//
// Each file is a step. herald_migrations records its id (NNN) and its name (the file name,
// `NNN_name.sql`); a database that lists an id never runs that step again, so an applied file is
// never renamed, renumbered or edited: a change is a new step.
//
// The SQL is what SQLite and Postgres both accept. Where they spell a type differently, the file
// writes a token, substituted when the file is loaded (graphile-worker does the same):
//
//   :BIGINT   a 64-bit integer (milliseconds since the epoch, amounts): INTEGER on SQLite, bigint on Postgres
//   :BLOB     raw bytes: BLOB on SQLite, bytea on Postgres
//
// TEXT and INTEGER need no token: both dialects spell them alike (INTEGER is 32-bit on Postgres, so
// times are :BIGINT). A token is a colon and capitals not after another colon, so `x::text` casts
// are left alone; an unknown token is an error, and comments are not substituted.
//
// A step that cannot be written once (SQLite rebuilds a table where Postgres alters it in place;
// the two build JSON with different functions) keeps what it can in NNN_name.sql and puts the rest
// in NNN_name.sqlite.sql and NNN_name.postgres.sql next to it. A dialect's part runs after the
// shared file, in the same transaction, and the step is still recorded as NNN_name.sql. A step
// has a shared file, both dialect parts, or both (009 and 014 are examples).
//
// Writing migration 015: add migrations/015_what.sql with types as above, then run the tests:
// test/migrate.test.ts applies the set on both dialects and fails when their tables, columns,
// indexes, keys or defaults differ.
//
// Each step runs in its own transaction together with the row that records it. Files keep `;` and
// `--` out of strings (statements are split on `;` after comments are removed).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** What each token stands for, per dialect. */
const TOKENS: Record<string, Record<Dialect, string>> = {
  BIGINT: { sqlite: 'INTEGER', postgres: 'bigint' },
  BLOB: { sqlite: 'BLOB', postgres: 'bytea' },
};

const DIALECTS: Dialect[] = ['sqlite', 'postgres'];
const FILE = /^(\d+)_([^.]+)(?:\.(sqlite|postgres))?\.sql$/;

export interface Migration {
  id: number;
  /** What herald_migrations records: the shared file's name, `NNN_name.sql`. */
  name: string;
  /** The step's SQL for this dialect, tokens substituted: the shared file, then the dialect's part. */
  sql: string;
}

/** The steps for one dialect, in order. `dir` is for tests; Herald reads migrations/. */
export function listMigrations(dialect: Dialect, dir: string = ROOT): Migration[] {
  const steps = new Map<number, { name: string; files: Set<string> }>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
    const m = FILE.exec(file);
    if (!m) {
      throw new Error(
        `${path.join(dir, file)}: not a migration file name; name it NNN_name.sql, or NNN_name.sqlite.sql / NNN_name.postgres.sql for one dialect's part of a step`,
      );
    }
    const id = parseInt(m[1], 10);
    const name = `${m[1]}_${m[2]}.sql`;
    const step = steps.get(id) ?? { name, files: new Set<string>() };
    if (step.name !== name)
      throw new Error(`${dir}: two migrations numbered ${id} (${step.name} and ${name}); give each step its own number`);
    step.files.add(file);
    steps.set(id, step);
  }
  return [...steps.entries()]
    .sort(([a], [b]) => a - b)
    .map(([id, { name, files }]) => {
      const part = (d: Dialect) => name.replace(/\.sql$/, `.${d}.sql`);
      if (!files.has(name)) {
        const missing = DIALECTS.filter((d) => !files.has(part(d)));
        if (missing.length) {
          throw new Error(
            `${dir}: step ${name} has no ${part(missing[0])}; a step needs ${name} (both dialects) or a part for each dialect`,
          );
        }
      }
      const sql = [name, part(dialect)]
        .filter((f) => files.has(f))
        .map((f) => load(path.join(dir, f), dialect))
        .join('\n');
      return { id, name, sql };
    });
}

/** A file's text with its tokens substituted for `dialect`. */
function load(file: string, dialect: Dialect): string {
  const text = fs.readFileSync(file, 'utf8');
  if (!stripComments(text).trimEnd().endsWith(';')) throw new Error(`${file}: end the last statement with ';'`);
  return text
    .split('\n')
    .map((line) => {
      const comment = line.indexOf('--');
      const code = comment < 0 ? line : line.slice(0, comment);
      const substituted = code.replace(/(?<![:\w]):([A-Z][A-Z0-9_]*)\b/g, (token, word: string) => {
        const spelling = TOKENS[word]?.[dialect];
        if (spelling === undefined) {
          throw new Error(
            `${file}: unknown token ${token}; the tokens are ${Object.keys(TOKENS)
              .map((t) => `:${t}`)
              .join(', ')} (see src/db/migrate.ts)`,
          );
        }
        return spelling;
      });
      return substituted + (comment < 0 ? '' : line.slice(comment));
    })
    .join('\n');
}

/** Applies what is missing; answers the names applied. Safe to run from several processes at once. */
export async function migrate(db: Db): Promise<string[]> {
  const migrations = listMigrations(db.dialect); // a malformed file stops here, before anything runs
  // Under the same lock as the migrations: on Postgres two nodes starting together on an empty
  // database would otherwise both try to create the table, and one fails on the type it implies.
  await db.tx(async (q) => {
    if (q.dialect === 'postgres') await q.run('SELECT pg_advisory_xact_lock(8080001)');
    await q.run('CREATE TABLE IF NOT EXISTS herald_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
  });
  const applied: string[] = [];
  for (const m of migrations) {
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

/**
 * The steps this code knows that the database has not applied (GET /v1/ready). Steps the database
 * has beyond them (applied by a newer node during a rolling upgrade) are not this node's concern:
 * migrations only add.
 */
export async function pendingMigrations(db: Db): Promise<string[]> {
  known[db.dialect] ??= listMigrations(db.dialect).map((m) => ({ id: m.id, name: m.name }));
  const rows = await db.all<{ id: number }>('SELECT id FROM herald_migrations').catch((err: unknown) => {
    // No table yet: nothing is applied.
    if (/herald_migrations/.test(String((err as Error).message))) return [];
    throw err;
  });
  const applied = new Set(rows.map((r) => Number(r.id)));
  return known[db.dialect]!.filter((m) => !applied.has(m.id)).map((m) => m.name);
}
const known: Partial<Record<Dialect, { id: number; name: string }[]>> = {};

function stripComments(sql: string): string {
  return sql
    .split('\n')
    .map((l) => l.replace(/--.*$/, ''))
    .join('\n');
}

/** Splits a step's SQL into statements. */
function splitStatements(sql: string): string[] {
  return stripComments(sql)
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}
