import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Db } from '../src/db/db.js';
import { listMigrations, migrate } from '../src/db/migrate.js';
import { DIALECTS, freshDatabase } from './helpers/db.js';

// Nodes are processes; on SQLite they share one file and its write lock already serialises them, so
// the race is Postgres's.
for (const dialect of DIALECTS.filter((d) => d === 'postgres')) {
  describe(`migrations (${dialect})`, () => {
    it('apply once when several nodes start together on an empty database', async () => {
      const database = await freshDatabase(dialect);
      const nodes = Array.from({ length: 6 }, () => database.open());
      try {
        const applied = await Promise.all(nodes.map((db) => migrate(db)));
        const all = listMigrations(dialect).map((m) => m.name);
        assert.deepEqual(applied.flat().sort(), all.sort(), 'each migration applied by exactly one node');
        const rows = await nodes[0].all<{ id: number }>('SELECT id FROM herald_migrations ORDER BY id');
        assert.equal(rows.length, all.length);
      } finally {
        await Promise.all(nodes.map((db) => db.close()));
        await database.drop();
      }
    });
  });
}

// What databases migrated before the two per-dialect folders became one set have recorded in
// herald_migrations. The set must keep these ids and names, or those databases apply a step twice.
const RECORDED = [
  '001_init.sql',
  '002_endpoint_limits.sql',
  '003_tenant_quota.sql',
  '004_recovery_retention.sql',
  '005_endpoint_health.sql',
  '006_inbound_billing.sql',
  '007_inbound_retention.sql',
  '008_inbound_bounds.sql',
  '009_endpoint_address_secrets.sql',
  '010_api_keys_v2.sql',
  '011_event_request_hash.sql',
  '012_disabled_at_recovery_waiting.sql',
  '013_accounts.sql',
  '014_client_tokens.sql',
  '015_report_rollups.sql',
  '016_session_capabilities.sql',
  '017_enrolment_tickets.sql',
  '018_endpoint_log_subscription_states.sql',
  '019_event_trace_parent.sql',
  '020_tenant_search.sql',
  '021_listen_endpoints.sql',
  '022_inbound_received.sql',
  '023_inbound_due_dropped.sql',
];

for (const dialect of DIALECTS) {
  describe(`migration history (${dialect})`, () => {
    it('keeps the ids and names earlier versions recorded', () => {
      const listed = listMigrations(dialect).map((m) => [m.id, m.name]);
      assert.deepEqual(
        listed.slice(0, RECORDED.length),
        RECORDED.map((name) => [parseInt(name, 10), name]),
      );
    });

    it('applies nothing to a database whose herald_migrations lists every step', async () => {
      const database = await freshDatabase(dialect);
      const db = database.open();
      try {
        await db.exec('CREATE TABLE herald_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
        for (const m of listMigrations(dialect)) {
          await db.run('INSERT INTO herald_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, 0]);
        }
        assert.deepEqual(await migrate(db), []);
        assert.deepEqual(Object.keys(await shape(db)), ['herald_migrations'], 'no statement of any step ran');
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
}

describe('migrations on both dialects', () => {
  it('give the same tables, columns, keys, indexes, defaults and checks on SQLite and Postgres', async () => {
    const shapes: Record<string, Shape> = {};
    for (const dialect of DIALECTS) {
      const database = await freshDatabase(dialect);
      const db = database.open();
      try {
        assert.deepEqual(
          await migrate(db),
          listMigrations(dialect).map((m) => m.name),
        );
        shapes[dialect] = await shape(db);
      } finally {
        await db.close();
        await database.drop();
      }
    }
    assert.ok(Object.keys(shapes.sqlite).length > 20, 'the set creates the schema');
    assert.deepEqual(shapes.postgres, shapes.sqlite);
  });

  it('store times as 64-bit integers on Postgres (milliseconds overflow integer)', async () => {
    const database = await freshDatabase('postgres');
    const db = database.open();
    try {
      await migrate(db);
      const times = await db.all<{ column: string; data_type: string }>(
        `SELECT table_name || '.' || column_name AS column, data_type FROM information_schema.columns
          WHERE table_schema = current_schema() AND column_name ~ '(^|_)(at|since|until)$' ORDER BY 1`,
      );
      assert.ok(times.length > 30, 'time columns found');
      assert.deepEqual(
        times.filter((c) => c.data_type !== 'bigint'),
        [],
      );
    } finally {
      await db.close();
      await database.drop();
    }
  });
});

describe('migration files', () => {
  const folder = (files: Record<string, string>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-migrations-'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  };

  it('substitute tokens per dialect, outside comments, leaving casts alone', () => {
    const dir = folder({
      '001_a.sql':
        "-- :BIGINT stays in a comment\nCREATE TABLE t (at :BIGINT NOT NULL, body :BLOB, n INTEGER); -- :BLOB\nSELECT '1'::BIGINT;\n",
    });
    assert.equal(
      listMigrations('sqlite', dir)[0].sql,
      "-- :BIGINT stays in a comment\nCREATE TABLE t (at INTEGER NOT NULL, body BLOB, n INTEGER); -- :BLOB\nSELECT '1'::BIGINT;\n",
    );
    assert.equal(
      listMigrations('postgres', dir)[0].sql,
      "-- :BIGINT stays in a comment\nCREATE TABLE t (at bigint NOT NULL, body bytea, n INTEGER); -- :BLOB\nSELECT '1'::BIGINT;\n",
    );
  });

  it("run a dialect's part after the shared file, recorded under the shared name", () => {
    const dir = folder({
      '002_b.sql': 'CREATE TABLE b (x TEXT);\n',
      '002_b.sqlite.sql': 'SELECT 1;\n',
      '002_b.postgres.sql': 'SELECT 2;\n',
      '003_c.sqlite.sql': 'SELECT 3;\n',
      '003_c.postgres.sql': 'SELECT 4;\n',
      'README.md': 'not a migration',
    });
    assert.deepEqual(listMigrations('sqlite', dir), [
      { id: 2, name: '002_b.sql', sql: 'CREATE TABLE b (x TEXT);\n\nSELECT 1;\n' },
      { id: 3, name: '003_c.sql', sql: 'SELECT 3;\n' },
    ]);
    assert.deepEqual(
      listMigrations('postgres', dir).map((m) => m.sql),
      ['CREATE TABLE b (x TEXT);\n\nSELECT 2;\n', 'SELECT 4;\n'],
    );
  });

  it('refuse what would apply wrongly, saying what to do', () => {
    const refused = (files: Record<string, string>, message: RegExp) => {
      const dir = folder(files);
      for (const dialect of DIALECTS) assert.throws(() => listMigrations(dialect, dir), message);
    };
    refused({ '001_a.sql': 'CREATE TABLE a (x :BIGNUM);\n' }, /001_a\.sql: unknown token :BIGNUM; the tokens are :BIGINT, :BLOB/);
    refused({ '001_a.postgres.sql': 'SELECT 1;\n' }, /step 001_a\.sql has no 001_a\.sqlite\.sql/);
    refused({ '001_a.sql': 'SELECT 1;\n', '001_b.sql': 'SELECT 2;\n' }, /two migrations numbered 1 \(001_a\.sql and 001_b\.sql\)/);
    refused({ '001_a.mysql.sql': 'SELECT 1;\n' }, /001_a\.mysql\.sql: not a migration file name/);
    refused({ '001_a.sql': 'SELECT 1 -- no semicolon\n' }, /001_a\.sql: end the last statement with ';'/);
  });
});

/** A schema in terms both dialects can be compared in: per table, its columns, keys, indexes and checks. */
type Shape = Record<string, { columns: string[]; keys: string[]; indexes: string[]; checks: number }>;

// Type names as both dialects would agree: Postgres's integer and bigint are both SQLite's INTEGER.
const TYPES: Record<string, string> = { integer: 'integer', bigint: 'integer', text: 'text', bytea: 'blob', blob: 'blob' };
const ON_DELETE: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

async function shape(db: Db): Promise<Shape> {
  const out: Shape = {};
  const table = (t: string) => (out[t] ??= { columns: [], keys: [], indexes: [], checks: 0 });
  const column = (t: string, name: string, type: string, notNull: boolean, dflt: string | null) =>
    table(t).columns.push(
      `${name} ${TYPES[type.toLowerCase()] ?? type}${notNull ? ' NOT NULL' : ''}${dflt === null ? '' : ` DEFAULT ${dflt}`}`,
    );

  if (db.dialect === 'sqlite') {
    const tables = await db.all<{ name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    );
    for (const { name: t, sql } of tables) {
      table(t).checks = (sql.match(/\bCHECK\s*\(/gi) ?? []).length;
      const cols = await db.all<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
        'SELECT * FROM pragma_table_info($1)',
        [t],
      );
      for (const c of cols) column(t, c.name, c.type, c.notnull === 1 || c.pk > 0, c.dflt_value);
      const pk = cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      table(t).keys.push(`PRIMARY KEY (${pk.join(', ')})`);
      const fks = await db.all<{ id: number; table: string; from: string; to: string; on_delete: string }>(
        'SELECT * FROM pragma_foreign_key_list($1) ORDER BY id, seq',
        [t],
      );
      for (const id of new Set(fks.map((f) => f.id))) {
        const parts = fks.filter((f) => f.id === id);
        table(t).keys.push(
          `FOREIGN KEY (${parts.map((f) => f.from).join(', ')}) REFERENCES ${parts[0].table} (${parts.map((f) => f.to).join(', ')}) ON DELETE ${parts[0].on_delete}`,
        );
      }
      for (const ix of await db.all<{ name: string; unique: number; origin: string; partial: number }>(
        'SELECT * FROM pragma_index_list($1)',
        [t],
      )) {
        if (ix.origin === 'pk') continue; // from the table's columns above
        const on = (await db.all<{ name: string | null }>('SELECT name FROM pragma_index_info($1) ORDER BY seqno', [ix.name]))
          .map((c) => c.name ?? '(expression)') // an index on lower(uid) names no column; Postgres's shows alike, below
          .join(', ');
        if (ix.origin === 'u') table(t).keys.push(`UNIQUE (${on})`);
        else table(t).indexes.push(`${ix.unique ? 'UNIQUE ' : ''}INDEX ${ix.name} (${on})${ix.partial ? ' WHERE …' : ''}`);
      }
    }
  } else {
    const columns = await db.all<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
      column_default: string | null;
    }>(
      'SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema()',
    );
    // Postgres writes a default with its type ('{}'::text), and a negative number quoted ('-1'::bigint);
    // SQLite keeps it as written.
    for (const c of columns)
      column(
        c.table_name,
        c.column_name,
        c.data_type,
        c.is_nullable === 'NO',
        c.column_default?.replace(/::[a-z ]+$/, '').replace(/^'(-\d+)'$/, '$1') ?? null,
      );
    const names = (rel: string, keys: string) =>
      `(SELECT string_agg(coalesce(a.attname, '(expression)'), ', ' ORDER BY k.n) FROM unnest(${keys}) WITH ORDINALITY k(attnum, n) LEFT JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.attnum)`;
    const constraints = await db.all<{ t: string; contype: string; cols: string; ref: string; refcols: string; confdeltype: string }>(
      `SELECT c.conrelid::regclass::text AS t, c.contype, ${names('c.conrelid', 'c.conkey')} AS cols,
              c.confrelid::regclass::text AS ref, ${names('c.confrelid', 'c.confkey')} AS refcols, c.confdeltype
         FROM pg_constraint c WHERE c.connamespace = current_schema()::regnamespace`,
    );
    for (const c of constraints) {
      if (c.contype === 'p') table(c.t).keys.push(`PRIMARY KEY (${c.cols})`);
      else if (c.contype === 'u') table(c.t).keys.push(`UNIQUE (${c.cols})`);
      else if (c.contype === 'f')
        table(c.t).keys.push(`FOREIGN KEY (${c.cols}) REFERENCES ${c.ref} (${c.refcols}) ON DELETE ${ON_DELETE[c.confdeltype]}`);
      else if (c.contype === 'c') table(c.t).checks++;
    }
    const indexes = await db.all<{ t: string; name: string; indisunique: boolean; partial: boolean; cols: string }>(
      `SELECT t.relname AS t, i.relname AS name, x.indisunique, x.indpred IS NOT NULL AS partial, ${names('x.indrelid', 'x.indkey::int2[]')} AS cols
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u'))`,
    );
    for (const ix of indexes)
      table(ix.t).indexes.push(`${ix.indisunique ? 'UNIQUE ' : ''}INDEX ${ix.name} (${ix.cols})${ix.partial ? ' WHERE …' : ''}`);
  }
  // Column order differs where SQLite rebuilt a table that Postgres altered: compare as sets.
  for (const t of Object.values(out)) for (const list of [t.columns, t.keys, t.indexes]) list.sort();
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
