import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Db, Dialect } from '../../src/db/db.js';
import { PostgresDb } from '../../src/db/postgres.js';
import { SqliteDb } from '../../src/db/sqlite.js';

export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

/** HERALD_SECRET_KEY for Postgres runs (SQLite runs use the generated key file). */
export const TEST_SECRET_KEY = 'test-secret-key-0123456789abcdefghijklmnop';

export interface TestDatabase {
  dialect: Dialect;
  /** DATABASE_URL for Postgres, undefined for SQLite. */
  databaseUrl?: string;
  /** HERALD_DATA_DIR for SQLite. */
  dataDir: string;
  open(): Db;
  drop(): Promise<void>;
}

function baseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the suite with `npm test`, which starts an embedded Postgres');
  return url;
}

/**
 * A database of its own for one test file: a fresh SQLite file, or a fresh Postgres database
 * (like graphile-worker). Set HERALD_KEEP_TEST_DB=1 to keep it for inspection after a failure.
 */
export async function freshDatabase(dialect: Dialect): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      dataDir,
      open: () => new SqliteDb(path.join(dataDir, 'herald.db'), { synchronous: 'normal' }),
      drop: async () => {
        if (!process.env.HERALD_KEEP_TEST_DB) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `herald_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: baseUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(baseUrl());
  u.pathname = `/${name}`;
  const databaseUrl = u.toString();
  return {
    dialect,
    dataDir,
    databaseUrl,
    open: () => new PostgresDb(databaseUrl, { max: 10 }),
    drop: async () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (process.env.HERALD_KEEP_TEST_DB) return;
      const c = new pg.Client({ connectionString: baseUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
