import path from 'node:path';
import type { Config } from '../config.js';
import type { Db } from './db.js';
import { PostgresDb } from './postgres.js';
import { SqliteDb } from './sqlite.js';

export function openDb(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'sqliteSync'>, onError?: (e: Error) => void): Db {
  if (config.databaseUrl) return new PostgresDb(config.databaseUrl, { onError });
  return new SqliteDb(path.join(config.dataDir, 'herald.db'), { synchronous: config.sqliteSync });
}
